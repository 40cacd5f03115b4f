"""The three Ray Data stages of :mod:`mmstudio.encoders.distributed.engine`, run on the cluster's workers.

Rows travel as Arrow tables with an explicit schema: the item (index, ids, path or inline text,
label, pickled metadata; paths as their bytes, since a file name need not be UTF-8), then what the
stages add (cache key, the pickled model input, the vector's bytes, the error reason, the device).
The decode tasks prepare the model input with a copy of the encoder that holds no weights
(:meth:`~mmstudio.encoders.base.Encoder.without_model`, pickled once by the driver's probe), in
batches the size of the actors'; each item travels as its own slice of its batch
(:mod:`mmstudio.encoders.prepared`), and the actors join the slices that fit together and run the
model only. Ray Data calls these on the workers; only the encoder actor asks Ray anything (the
CPUs it was given, for torch's threads).
"""

from __future__ import annotations

import os
import pickle
import uuid
from collections import Counter
from pathlib import Path

from mmstudio.core.errors import ItemError

HIDDEN_PREFIX = ".shard-"  # a shard being written; the driver renames it part-NNNNN.parquet
ITEM_COLUMNS = ("index", "sample_id", "modality", "path", "text", "where", "label", "meta")
STAGE_COLUMNS = ("key", "input", "vector", "error", "device", "precision")
# Decoding waits on the disk part of the time, so two decode tasks share a CPU. The requests differ
# from the encoder actors' on purpose: Ray Data would otherwise fuse decoding into the actors, and an
# actor (a GPU's) would decode and encode in turn instead of being fed by parallel tasks.
DECODE_CPUS, WRITE_CPUS, ACTOR_CPUS = 0.5, 0.5, 1


def item_schema(names):
    import pyarrow as pa

    types = {"index": pa.int64(), "meta": pa.binary(), "input": pa.binary(), "vector": pa.binary(),
             "path": pa.binary(), "where": pa.binary()}
    return pa.schema([(n, types.get(n, pa.string())) for n in names])


def path_bytes(path: str | None) -> bytes | None:
    """A path (or a caption's description) as the bytes the Arrow rows carry."""
    return None if path is None else os.fsencode(path)


def path_of(raw: bytes | None) -> str | None:
    return None if raw is None else os.fsdecode(raw)


def _rows(columns: dict, names) -> "object":
    import pyarrow as pa

    return pa.table({n: columns[n] for n in names}, schema=item_schema(names))


_CACHES: dict = {}


def _worker_cache(folder):
    """One EmbeddingCache per worker process (and cache folder)."""
    from mmstudio.core.cache import EmbeddingCache

    if folder not in _CACHES:
        _CACHES[folder] = EmbeddingCache(folder)
    return _CACHES[folder]


_PREPARERS: dict = {}


def _preparer(probe, blob: bytes):
    """The weightless encoder of :meth:`Encoder.without_model`, unpickled once per worker process (and model)."""
    if probe["identity"] not in _PREPARERS:
        _PREPARERS[probe["identity"]] = pickle.loads(blob)
    return _PREPARERS[probe["identity"]]


def decode_block(batch, *, probe, preparer, use_cache, cache_folder):
    """Stage 1 (a task per block): cache look-up by content digest, then the misses decoded and prepared
    for the model, modality by modality in the actors' batch size (``probe["chunks"]``)."""
    from mmstudio.core.cache import digest_bytes
    from mmstudio.core.dataset import MediaRef
    from mmstudio.core.errors import MediaError
    from mmstudio.encoders.embed import cache_key, decode_item
    from mmstudio.encoders.prepared import prepare_items

    rows = batch.to_pydict()
    n = batch.num_rows
    out = {name: [None] * n for name in STAGE_COLUMNS}
    refs = [MediaRef(m, path=path_of(p), text=t) for m, p, t in zip(rows["modality"], rows["path"], rows["text"])]
    todo = list(range(n))
    if use_cache:
        cache = _worker_cache(cache_folder)
        digests = cache.content_digests([r.path for r in refs if r.path is not None])
        for i, ref in enumerate(refs):
            digest = digest_bytes(ref.text.encode("utf-8", "surrogatepass")) if ref.text is not None else digests[ref.path]
            if isinstance(digest, MediaError):
                out["error"][i] = digest.reason
            elif isinstance(digest, OSError):
                out["error"][i] = f"cannot read file ({digest.strerror or digest})"
            else:
                out["key"][i] = cache_key(ref.modality, digest)
        keyed = [k for k in out["key"] if k is not None]
        hits = cache.get_many(probe["identity"], list(set(keyed))) if keyed else {}
        for i, key in enumerate(out["key"]):
            if key in hits:
                out["vector"][i] = hits[key].tobytes()
        todo = [i for i in range(n) if out["error"][i] is None and out["vector"][i] is None]
    encoder = _preparer(probe, preparer)
    waiting: dict[str, list] = {}

    def prepare(modality):
        decoded, waiting[modality] = waiting.pop(modality, []), []
        for i, (item, reason) in zip([i for i, _ in decoded], prepare_items(encoder, modality, [m for _, m in decoded])):
            if reason is not None:
                out["error"][i] = reason
            else:
                out["input"][i] = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)

    for i in todo:  # decoded media are held for one batch per modality at most
        media, reason = decode_item(refs[i], encoder)
        if reason is not None:
            out["error"][i] = reason
            continue
        modality = refs[i].modality
        waiting.setdefault(modality, []).append((i, media))
        if len(waiting[modality]) >= probe["chunks"][modality]:
            prepare(modality)
    for modality in list(waiting):
        if waiting[modality]:
            prepare(modality)
    return _rows({**rows, **out}, ITEM_COLUMNS + STAGE_COLUMNS)


class EncodeActor:
    """Stage 2: one encoder replica per actor; it runs the model on the prepared items of each batch."""

    def __init__(self, model, device, precision, batch_size, probe, use_cache, cache_folder):
        import torch
        from ray import get_runtime_context

        def ray_cpus():
            return get_runtime_context().get_assigned_resources().get("CPU", 1)

        from mmstudio.encoders.registry import load_encoder

        torch.set_num_threads(max(1, int(ray_cpus())))  # the CPUs Ray gave this actor, not the node's
        self.cache = _worker_cache(cache_folder) if use_cache else None
        self.encoder = load_encoder(model, device=device, precision=precision, cache=self.cache)
        if self.encoder.identity != probe["identity"]:
            from mmstudio.encoders.distributed.engine import DistributedError

            raise DistributedError(f"{model} differs between nodes ({self.encoder.identity} vs {probe['identity']})")
        self.batch_size = batch_size

    def __call__(self, batch):
        import numpy as np

        _injected_fault()

        from mmstudio.core.dataset import MediaRef, Sample
        from mmstudio.encoders.embed import _encode, _State, _Work
        from mmstudio.encoders.prepared import input_shape, join_prepared

        rows = batch.to_pydict()
        n = batch.num_rows
        state = _State()
        pending: dict[tuple, list] = {}  # items that can share a batch: one modality, one input shape
        for i in range(n):
            if rows["input"][i] is not None:
                ref = MediaRef(rows["modality"][i], path=path_of(rows["path"][i]), text=rows["text"][i])
                item = pickle.loads(rows["input"][i])
                pending.setdefault((ref.modality, input_shape(item)), []).append((_Work(i, Sample(rows["sample_id"][i]), ref), item))
        fresh = {}
        for (modality, _), prepared in pending.items():
            size = self.batch_size or self.encoder.batch_size(modality)
            for start in range(0, len(prepared), size):
                for i in _encode(self.encoder, modality, prepared[start:start + size], None, False, state,
                                 join=join_prepared):
                    rows["vector"][i] = np.ascontiguousarray(state.vectors[i], np.float32).tobytes()
                    if rows["key"][i] is not None:
                        fresh[rows["key"][i]] = state.vectors[i]
        for i, error in state.failed.items():
            rows["error"][i] = error.reason
        if self.cache is not None and fresh:
            self.cache.put_many(self.encoder.identity, fresh)
        rows["input"] = [None] * n
        rows["device"], rows["precision"] = [self.encoder.device] * n, [self.encoder.precision] * n
        return _rows(rows, ITEM_COLUMNS + STAGE_COLUMNS)


def _injected_fault() -> None:
    """For tests: ``MMSTUDIO_RAY_FAULT=FILE`` makes the first encoder call to find FILE missing create it
    and kill its worker process, as a node lost mid-job would; Ray must restart the actor and redo the batch."""
    marker = os.environ.get("MMSTUDIO_RAY_FAULT")
    if marker:
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.close(fd)
        os._exit(1)


def write_shard(batch, *, out_dir, probe, columns):
    """Stage 3: the rows of a batch → one Parquet shard under a hidden name; its summary back."""
    import pyarrow as pa

    rows = batch.to_pylist()
    summary = write_rows(Path(out_dir), rows, probe, columns, [], min((r["index"] for r in rows), default=0))
    return pa.Table.from_pylist([summary])


def write_rows(out_dir: Path, rows, probe, columns, errors: list[ItemError], first: int) -> dict:
    import numpy as np

    from mmstudio import __version__
    from mmstudio.core.tables.files import write_parquet
    from mmstudio.core.tables.table import EmbeddingTable, _object_array

    rows = sorted(rows, key=lambda r: r["index"])
    good = [r for r in rows if r["error"] is None and r["vector"] is not None]
    errors = errors + [ItemError(path_of(r["where"]), r["modality"], r["error"] or "not embedded", r["sample_id"])
                       for r in rows if not (r["error"] is None and r["vector"] is not None)]
    metas = [pickle.loads(r["meta"]) for r in good]
    extra = {}
    for key, name, numeric in columns:
        values = [m.get(key) for m in metas]
        extra[name] = np.array([_number(v) for v in values], np.float64) if numeric else _object_array(values)
    dim = probe["dim"]
    vectors = np.frombuffer(b"".join(r["vector"] for r in good), np.float32).reshape(len(good), dim) \
        if good else np.zeros((0, dim), np.float32)
    device = good[0]["device"] if good else probe["device"]
    precision = good[0]["precision"] if good else probe["precision"]
    table = EmbeddingTable(
        [r["sample_id"] for r in good], [r["modality"] for r in good], [path_of(r["path"]) for r in good],
        [r["label"] for r in good], vectors, extra, model=probe["name"],
        info={"identity": probe["identity"], "device": device, "precision": precision, "mmstudio": __version__},
        errors=errors)
    name = f"{HIDDEN_PREFIX}{uuid.uuid4().hex}.parquet"
    write_parquet(table, out_dir / name)
    return {"file": name, "first": first, "rows": len(good), "items": len(rows),
            "counts": pickle.dumps(Counter(r["modality"] for r in good)),
            "errors": pickle.dumps([(e.path, e.modality, e.reason, e.sample_id) for e in errors])}


def _number(value) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return float("nan")
    return float(value)
