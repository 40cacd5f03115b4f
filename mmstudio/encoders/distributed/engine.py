"""Encode a corpus on a Ray cluster: ``mmstudio embed PATHS --engine ray --out DIR/``.

The driver lists the items exactly as ``mmstudio embed`` does (:func:`load_paths`: stems
paired, manifests read) and hands them to Ray Data in blocks. Three streaming stages follow:

1. **decode** (tasks): content digest → the worker's cache (a hit ships the vector) → decode
   the misses and prepare them for the model (resize and normalise, the log-mel, tokenise) with
   a copy of the encoder that holds no weights; a bad file becomes its error reason, the same
   one the local engine gives, and so does an item that preparing fails on.
2. **encode** (an actor pool, one encoder replica per actor, ``num_gpus`` on request): the
   model only, on the prepared items; a failing batch is split to isolate the item at fault;
   new vectors go into that worker's cache.
3. **write** (tasks): rows → one Parquet shard with the schema of the single-file table.

The driver then names the shards ``part-00000.parquet``… in item order; errors found before
decoding (unsupported files, bad manifest rows, modalities the model lacks) go in the last one.
A worker that dies costs no rows: Ray Data resubmits its tasks (Ray's ``max_retries``) and
restarts a lost encoder actor, redoing its batch (``max_restarts``/``max_task_retries``, both
unbounded by Ray Data's default; the tests kill an actor mid-job). Paths and ``out_dir`` must be
visible to every node (a shared file system); each node keeps its own embedding cache.
Ray is imported here only, inside the functions: it is the optional extra ``mmstudio[distributed]``.
"""

from __future__ import annotations

import math
import os
import pickle
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mmstudio.core.errors import ItemError
from mmstudio.core.jobs import Job
from mmstudio.encoders.distributed.ray_stages import (
    ACTOR_CPUS,
    DECODE_CPUS,
    HIDDEN_PREFIX,
    ITEM_COLUMNS,
    WRITE_CPUS,
    EncodeActor,
    decode_block,
    item_schema,
    path_bytes,
    write_rows,
    write_shard,
)
from mmstudio.encoders.registry import DEFAULT_MODEL

INSTALL_HINT = "Ray is not installed; install mmstudio[distributed] (pip install 'mmstudio[distributed]')"
SHARD_PREFIX = "part-"


class DistributedError(Exception):
    """Ray is missing, the cluster cannot be reached or cannot run what was asked."""


@dataclass
class ShardedResult:
    """What :func:`embed_with_ray` wrote: the shard files, row counts, the errors and the model."""

    folder: Path
    files: list[Path]
    rows: int
    items: int
    counts: Counter
    errors: list[ItemError] = field(default_factory=list)
    model: str = ""
    described: str = ""


def import_ray():
    try:
        import ray
        import ray.data  # noqa: F401  (a submodule: `import ray` alone may not load it)
    except ImportError as exc:
        raise DistributedError(INSTALL_HINT) from exc
    return ray


# --------------------------------------------------------------------------- the driver
def embed_with_ray(paths, out_dir, model: str = DEFAULT_MODEL, *, address: str | None = None,
                   gpus_per_worker: float = 0, workers: int | None = None, batch_size: int | None = None,
                   cache=True, device: str = "auto", precision: str = "auto", rows_per_shard: int | None = None,
                   folders: dict | None = None, job: Job | None = None) -> ShardedResult:
    """Embed files, folders and manifests on Ray into Parquet shards in ``out_dir``.

    ``workers``: encoder actors (default: one per ``gpus_per_worker`` GPUs, or half the CPUs);
    ``cache``: True (each node's default cache), False, or a folder (the same path on every node);
    ``rows_per_shard``: default about a twentieth of the items, from 1,000 to 100,000 rows (progress is
    reported shard by shard); ``folders``: as :func:`~mmstudio.core.sources.inputs.load_paths`.
    """
    from mmstudio.core.sources.inputs import load_paths

    ray = import_ray()
    job = job or Job()
    if (device or "auto").startswith("cuda") and not gpus_per_worker:
        raise DistributedError(f"--device {device}: give the encoder actors GPUs with --gpus-per-worker")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DistributedError(f"{out_dir} is a file; the Ray engine writes a folder of Parquet shards")
    out_dir.mkdir(parents=True, exist_ok=True)
    job.status("listing files")
    dataset = load_paths(paths, folders=folders)  # caption files: their first caption (no caption_index column)
    import builtins

    owned = not ray.is_initialized()
    printer = builtins.print  # ray.shutdown() leaves print replaced by Ray's, which numba (UMAP) cannot compile
    if owned:
        try:
            ray.init(address=address, include_dashboard=False, logging_level="WARNING")
        except Exception as exc:
            raise DistributedError(f"cannot start or reach Ray{f' at {address}' if address else ''}: {exc}") from exc
    try:
        return _run(ray, dataset, out_dir, model, gpus_per_worker, workers, batch_size, cache, device, precision,
                    rows_per_shard, job)
    finally:
        if owned:
            ray.shutdown()
            builtins.print = printer


def _run(ray, dataset, out_dir, model, gpus_per_worker, workers, batch_size, cache, device, precision,
         rows_per_shard, job) -> ShardedResult:
    import pyarrow as pa

    use_cache = cache is not False and cache is not None
    cache_folder = None if cache in (True, False, None) else str(cache)
    job.status(f"loading {model} on the cluster")
    on_gpu = bool(gpus_per_worker and gpus_per_worker > 0) and not (device or "auto").startswith("cpu")
    probe = ray.get(ray.remote(_probe).remote(model, on_gpu, batch_size))
    if isinstance(probe, str):
        raise DistributedError(probe)
    preparer = probe.pop("preparer")
    items, early_errors = _items(dataset, probe)
    columns = _column_kinds(dataset, probe["modalities"])
    actors = _actor_pool(ray, gpus_per_worker, workers)
    job.progress(0, len(items))

    settings = {"probe": probe, "use_cache": use_cache, "cache_folder": cache_folder}
    cpus = int(ray.cluster_resources().get("CPU", 1))
    n_blocks = max(1, math.ceil(len(items) / 1000), min(4 * cpus, math.ceil(len(items) / 64)))
    table = pa.Table.from_pylist(items, schema=item_schema(ITEM_COLUMNS))
    step = max(1, math.ceil(len(items) / n_blocks))
    rows_per_shard = rows_per_shard or min(100_000, max(1000, math.ceil(len(items) / 20)))
    summaries = []
    if items:
        ctx = ray.data.DataContext.get_current()
        bars, ctx.enable_progress_bars = ctx.enable_progress_bars, False
        try:
            ds = ray.data.from_arrow([table.slice(i, step) for i in range(0, len(items), step)])
            ds = ds.map_batches(decode_block, batch_format="pyarrow", fn_kwargs={**settings, "preparer": preparer},
                                num_cpus=DECODE_CPUS)
            ds = ds.map_batches(EncodeActor, batch_format="pyarrow", batch_size=256, **actors,
                                fn_constructor_kwargs={"model": model, "device": device, "precision": precision,
                                                       "batch_size": batch_size, **settings})
            ds = ds.map_batches(write_shard, batch_format="pyarrow", batch_size=rows_per_shard, num_cpus=WRITE_CPUS,
                                fn_kwargs={"out_dir": str(out_dir), "probe": probe, "columns": columns})
            done = 0
            job.status(f"encoding on Ray ({int(actors['compute'].max_size or 1)} encoder actors at most)")
            for row in ds.iter_rows():
                job.check()
                summaries.append(row)
                done += row["items"]
                job.progress(done, len(items))
        finally:
            ctx.enable_progress_bars = bars
    if early_errors or not summaries:
        summaries.append(write_rows(out_dir, [], probe, columns, early_errors, len(items)))
    return _finish(out_dir, summaries, probe, len(items) + len(early_errors))


def _probe(model: str, on_gpu: bool, batch_size: int | None):
    """On a worker: load the model once and describe it (a string: why it could not be loaded), with
    its preparing half pickled for the decode tasks (``preparer``) and the batch size the actors will
    use per modality (``chunks``: the decode tasks prepare batches of that size, padded alike)."""
    from mmstudio.encoders.base import ModelError
    from mmstudio.encoders.registry import load_encoder

    try:
        enc = load_encoder(model, device="cpu", precision="fp32")
    except ModelError as exc:
        return str(exc)
    preparer = enc.without_model()
    blob = pickle.dumps(preparer, protocol=pickle.HIGHEST_PROTOCOL)
    preparer.device = "cuda" if on_gpu else "cpu"  # an actor's batch size follows its device
    chunks = {m: batch_size or preparer.batch_size(m) for m in enc.modalities}
    return {"name": enc.name, "identity": enc.identity, "modalities": list(enc.modalities), "dim": enc.dim,
            "device": enc.device, "precision": enc.precision, "chunks": chunks, "preparer": blob}


def _items(dataset, probe) -> tuple[list[dict], list[ItemError]]:
    """One row per (sample, modality) the model embeds; the rest are errors, as in ``embed_dataset``."""
    errors = list(dataset.errors)
    items = []
    for sample in dataset.samples:
        meta = pickle.dumps(sample.metadata)
        for modality in sample.modalities:
            ref = sample.items[modality]
            if modality not in probe["modalities"]:
                errors.append(ItemError(ref.path or ref.where, modality,
                                        f"model {probe['name']} does not embed {modality}", sample.id))
                continue
            items.append({"index": len(items), "sample_id": sample.id, "modality": modality,
                          "path": path_bytes(ref.path), "text": ref.text, "where": path_bytes(ref.path or ref.where),
                          "label": sample.label, "meta": meta})
    return items, errors


def _column_kinds(dataset, modalities) -> list[tuple[str, str, bool]]:
    """Metadata columns as (key, column name, numeric), decided over the whole corpus so that every
    shard has the same schema (the local engine decides over the rows it embedded)."""
    from mmstudio.core.tables.captions import CAPTION_INDEX
    from mmstudio.core.tables.columns import metadata_column_names
    from mmstudio.core.tables.table import RESERVED_COLUMNS, column_array

    samples = [s for s in dataset.samples if any(m in modalities for m in s.modalities)]
    keys: dict[str, None] = {}
    for s in samples:
        keys.update(dict.fromkeys(s.metadata))
    names, _ = metadata_column_names(keys, RESERVED_COLUMNS + (CAPTION_INDEX,))
    return [(k, names[k], column_array([s.metadata.get(k) for s in samples]).dtype.kind == "f") for k in keys]


def _actor_pool(ray, gpus_per_worker, workers) -> dict:
    """map_batches arguments for the encoder actors: their number and resources."""
    resources = ray.cluster_resources()
    cpus = resources.get("CPU", 1)
    room = max(1, int((cpus - DECODE_CPUS - WRITE_CPUS) // ACTOR_CPUS))  # actors holding every CPU would starve decoding
    if gpus_per_worker and gpus_per_worker > 0:
        have = resources.get("GPU", 0)
        if have < gpus_per_worker:
            raise DistributedError(f"--gpus-per-worker {gpus_per_worker:g}: the cluster has {have:g} GPUs")
        most = min(room, max(1, int(have // gpus_per_worker)))
    else:
        most = min(room, max(1, int(cpus) // 2))
    if workers and workers > room:
        raise DistributedError(f"--workers {workers}: each encoder actor holds {ACTOR_CPUS} CPU and decoding needs "
                               f"{DECODE_CPUS + WRITE_CPUS:g} more; this cluster's {cpus:g} CPUs allow at most {room}")
    lo, hi = (workers, workers) if workers else (1, most)
    args = {"num_cpus": ACTOR_CPUS, "compute": ray.data.ActorPoolStrategy(min_size=lo, max_size=hi)}
    if gpus_per_worker and gpus_per_worker > 0:
        args["num_gpus"] = gpus_per_worker
    return args


def _finish(out_dir: Path, summaries, probe, items) -> ShardedResult:
    """Name the shards part-00000.parquet… in item order; drop stale parts and orphans of retried tasks."""
    summaries = sorted(summaries, key=lambda s: s["first"])
    files, errors, counts, rows = [], [], Counter(), 0
    for i, s in enumerate(summaries):
        target = out_dir / f"{SHARD_PREFIX}{i:05d}.parquet"
        os.replace(out_dir / s["file"], target)
        files.append(target)
        rows += s["rows"]
        counts.update(pickle.loads(s["counts"]))
        errors += [ItemError(*e) for e in pickle.loads(s["errors"])]
    keep = set(files)
    for stale in list(out_dir.glob(f"{SHARD_PREFIX}*.parquet")) + list(out_dir.glob(f"{HIDDEN_PREFIX}*.parquet")):
        if stale not in keep:
            stale.unlink(missing_ok=True)
    described = f"{probe['name']} ({'+'.join(probe['modalities'])}, {probe['dim']}-d, on Ray)"
    return ShardedResult(out_dir, files, rows, items, counts, errors, probe["name"], described)
