"""The data the principles run on: the demo world's embedding table (built once into the cache
folder), paired by sample into one array per modality, with a label column encoded as ints.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DEMO_N, DEMO_SEED = 1000, 7
MODALITIES = ("image", "audio")


def demo_table(n: int = DEMO_N, seed: int = DEMO_SEED, folder=None, job=None):
    """The demo world's image and audio embeddings (built-in model) as an :class:`EmbeddingTable`.

    Rendered and embedded once into ``folder`` (default: the cache folder) and read from there
    afterwards; embeddings go through the embedding cache as well.
    """
    from mmstudio.core.table import EmbeddingTable

    if folder is None:
        from mmstudio.core.paths import cache_dir

        folder = cache_dir() / "principles"
    folder = Path(folder)
    path = folder / f"demo-{n}-{seed}.parquet"
    if path.is_file():
        try:
            return EmbeddingTable.read(path)
        except Exception:  # a damaged file is rebuilt
            path.unlink(missing_ok=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        table = build_demo_table(folder / f"world-{n}-{seed}", n, seed, job)
    except OSError as exc:  # a read-only or full cache folder: build it elsewhere, keep nothing
        _cannot_keep(folder, exc)
        with tempfile.TemporaryDirectory(prefix="mmstudio-principles-") as scratch:
            return build_demo_table(Path(scratch) / "world", n, seed, job)
    except BaseException:  # cancelled (the window quit): leave no half-rendered world behind
        import shutil

        shutil.rmtree(folder / f"world-{n}-{seed}", ignore_errors=True)
        raise
    scratch = path.with_name(path.name + ".partial.parquet")
    try:
        table.write(scratch)
        scratch.replace(path)
    except OSError as exc:
        _cannot_keep(folder, exc)
        scratch.unlink(missing_ok=True)
    return table


def _cannot_keep(folder: Path, exc: OSError) -> None:
    log.warning("cannot keep the demo table in %s (%s); it is built for this run only", folder, exc.strerror or exc)


def build_demo_table(world, n: int, seed: int, job=None):
    import shutil

    from mmstudio.core.cache import EmbeddingCache
    from mmstudio.core.sources import load_paths
    from mmstudio.demo.make import make_world
    from mmstudio.encoders.embed import embed_dataset
    from mmstudio.encoders.registry import load_encoder

    if job is not None:
        job.status(f"rendering {n} demo scenes")
    manifest = make_world(world, n=n, seed=seed, job=job)
    dataset = load_paths([manifest])
    for sample in dataset.samples:  # the principles use image and audio; captions name everything
        sample.items = {m: ref for m, ref in sample.items.items() if m in MODALITIES}
    if job is not None:
        job.status("embedding them with the built-in model")
    cache = EmbeddingCache()
    try:
        table = embed_dataset(dataset, load_encoder("builtin", device="cpu", cache=cache), cache=cache, job=job)
    finally:
        cache.close()
    shutil.rmtree(world, ignore_errors=True)
    return table


@dataclass
class Paired:
    """One row per sample that has every modality asked for and a label."""

    sample_id: np.ndarray
    x: dict[str, np.ndarray]        # modality → (N, D) float32
    y: np.ndarray                   # (N,) int
    classes: list[str]
    task: str

    def __len__(self) -> int:
        return len(self.y)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def split(self, test_fraction: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """A seeded train/test split of row indices."""
        order = np.random.default_rng(seed).permutation(len(self))
        n_test = int(round(test_fraction * len(self)))
        return np.sort(order[n_test:]), np.sort(order[:n_test])


def paired(table, task: str, modalities=MODALITIES) -> Paired:
    """The rows of ``modalities`` that share a sample id, with the label column ``task``."""
    if task == "label":
        labels = table.label
    elif task in table.columns:
        labels = table.columns[task]
    else:
        raise ValueError(f"the table has no column {task!r} (columns: {', '.join(sorted(table.columns))})")
    missing = [m for m in modalities if m not in table.modalities]
    if missing:
        raise ValueError(f"the table has no {', '.join(missing)} rows (it has {', '.join(table.modalities)})")
    by_modality = {}
    for m in modalities:
        rows = table.rows(m)
        by_modality[m] = dict(zip(table.sample_id[rows].tolist(), rows.tolist()))
    ids = sorted(set.intersection(*(set(d) for d in by_modality.values())))
    first = [by_modality[modalities[0]][i] for i in ids]
    raw = np.asarray(labels, dtype=object)[first]
    keep = np.array([not _blank(v) for v in raw], bool)
    ids = [i for i, k in zip(ids, keep) if k]
    raw = raw[keep]
    keys = [_key(v) for v in raw]
    classes = sorted(set(keys))
    index = {c: k for k, c in enumerate(classes)}
    x = {m: table.vectors[[by_modality[m][i] for i in ids]] for m in modalities}
    return Paired(np.asarray(ids, dtype=object), x, np.array([index[k] for k in keys], np.int64), classes, task)


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip())


def _key(v) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)
