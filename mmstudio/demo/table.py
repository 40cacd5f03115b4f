"""The demo table the principles run on by default: the demo world's image and audio embeddings
(built-in model), rendered and embedded once into the cache folder and read back afterwards.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from mmstudio.core.jobs import Job

log = logging.getLogger(__name__)

DEMO_N, DEMO_SEED = 1000, 7
MODALITIES = ("image", "audio")


def demo_table(n: int = DEMO_N, seed: int = DEMO_SEED, folder=None, job=None, tokens: bool = False):
    """The demo world's image and audio embeddings (built-in model) as an :class:`EmbeddingTable`.

    Rendered and embedded once into ``folder`` (default: the cache folder) and read from there
    afterwards; embeddings go through the embedding cache as well. ``tokens``: a table that also
    carries each item's token features (64 patches, up to 25 audio frames), in a file of its own
    (about 30× larger), for token-level cross-attention fusion.
    """
    from mmstudio.core.tables.table import EmbeddingTable

    if folder is None:
        from mmstudio.core.paths import cache_dir

        folder = cache_dir() / "principles"
    folder = Path(folder)
    tail = "-tokens" if tokens else ""
    path, world = folder / f"demo-{n}-{seed}{tail}.parquet", f"world-{n}-{seed}{tail}"
    if path.is_file():
        try:
            return EmbeddingTable.read(path)
        except Exception:  # a damaged file is rebuilt
            path.unlink(missing_ok=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        table = build_demo_table(folder / world, n, seed, job, tokens)
    except OSError as exc:  # a read-only or full cache folder: build it elsewhere, keep nothing
        _cannot_keep(folder, exc)
        with tempfile.TemporaryDirectory(prefix="mmstudio-principles-") as scratch:
            return build_demo_table(Path(scratch) / "world", n, seed, job, tokens)
    except BaseException:  # cancelled (the window quit): leave no half-rendered world behind
        import shutil

        shutil.rmtree(folder / world, ignore_errors=True)
        raise
    try:
        table.write(path)  # atomic: a reader never sees half a table
    except OSError as exc:
        _cannot_keep(folder, exc)
    return table


def _cannot_keep(folder: Path, exc: OSError) -> None:
    log.warning("cannot keep the demo table in %s (%s); it is built for this run only", folder, exc.strerror or exc)


def build_demo_table(world, n: int, seed: int, job=None, tokens: bool = False):
    job = job or Job()
    import shutil

    from mmstudio.core.cache import EmbeddingCache
    from mmstudio.core.sources.inputs import load_paths
    from mmstudio.demo.make import make_world
    from mmstudio.encoders.embed import embed_dataset
    from mmstudio.encoders.registry import load_encoder

    job.status(f"rendering {n} demo scenes")
    manifest = make_world(world, n=n, seed=seed, job=job)
    dataset = load_paths([manifest])
    for sample in dataset.samples:  # the principles use image and audio; captions name everything
        sample.items = {m: ref for m, ref in sample.items.items() if m in MODALITIES}
    job.status("embedding them with the built-in model")
    cache = EmbeddingCache()
    try:
        table = embed_dataset(dataset, load_encoder("builtin", device="cpu", cache=cache), cache=cache, job=job,
                              tokens=tokens)
    finally:
        cache.close()
    shutil.rmtree(world, ignore_errors=True)
    return table


