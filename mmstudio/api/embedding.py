"""``mmstudio.embed``: files, folders, manifests, shards or a Dataset → an embedding table, as
``mmstudio embed`` makes it; ``mmstudio.read_table``: a table file back."""

from __future__ import annotations

import os
import warnings

from mmstudio.api.arguments import as_table, checked, choice, job_for

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
MISSING = "no such file or folder"   # the reason core.sources.inputs gives a path that is not there


def embed(data, model: str = "builtin", *, device: str | None = None, precision: str | None = None,
          batch_size: int | None = None, captions: str = "first", tokens: bool = False, cache: bool = True,
          workers: int | None = None, progress=None):
    """Embed ``data`` with ``model`` and return the :class:`~mmstudio.core.tables.table.EmbeddingTable`.

    ``table = mmstudio.embed("photos/", model="openai/clip-vit-base-patch32")``

    ``data``: a path or a list of paths (files, folders, manifests, caption files, WebDataset shards,
    Hugging Face datasets, mixed: what ``mmstudio embed`` takes) or a
    :class:`~mmstudio.core.dataset.Dataset`. ``model``: ``"builtin"``, a Hugging Face hub id or a
    local model folder (loaded as ``mmstudio embed --model`` loads it). ``device``: auto (default),
    cpu, cuda or mps; ``precision``: auto, fp32, fp16 or bf16; ``captions``: ``"first"`` or ``"all"``
    (every caption of a sample as its own text row); ``tokens``: keep token features (for
    ``fuse(attention="tokens")``); ``cache``: read and write the embedding cache; ``progress``: see
    :func:`~mmstudio.api.arguments.job_for`.

    Items that could not be read or embedded are ``table.errors`` (file, modality, reason); the
    duplicates, notes and the built-in model's warning on unfamiliar data come as Python warnings.
    Raises FileNotFoundError for a path that is not there, ValueError for a wrong argument, a model
    that cannot be loaded, or data of which nothing could be embedded."""
    from mmstudio.cli.argtypes import positive_int
    from mmstudio.core.cache import EmbeddingCache
    from mmstudio.encoders.base import ModelError
    from mmstudio.encoders.embed import embed_dataset
    from mmstudio.encoders.registry import load_encoder

    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model={model!r}: give 'builtin', a Hugging Face hub id or a model folder")
    device = choice("device", device or "auto", DEVICES)
    precision = choice("precision", precision or "auto", PRECISIONS)
    batch_size = None if batch_size is None else checked("batch_size", batch_size, positive_int)
    workers = None if workers is None else checked("workers", workers, positive_int)
    choice("captions", captions, ("first", "all"))
    dataset = as_dataset(data)
    store = EmbeddingCache() if cache else None
    try:
        try:
            encoder = load_encoder(model, device=device, precision=precision, cache=store)
        except ModelError as exc:
            raise ValueError(str(exc)) from None   # names the model and what to do
        _warn_about(dataset, encoder)
        with job_for(progress, "embedding") as job:
            table = embed_dataset(dataset, encoder, batch_size=batch_size, cache=store, job=job, workers=workers,
                                  tokens=tokens, captions=captions)
    finally:
        if store is not None:
            store.close()
    if not len(table):
        reasons = sorted({str(e) for e in table.errors})
        more = f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else ""
        raise ValueError("nothing could be embedded" + (": " + "; ".join(reasons[:3]) + more if reasons else
                                                        ": no media found"))
    return table


def as_dataset(data):
    """A :class:`Dataset` as it is, or the one ``load_paths`` reads from a path or a list of them; a
    path that is not there is a FileNotFoundError (the command would list it as skipped)."""
    from mmstudio.core.dataset import Dataset
    from mmstudio.core.sources.inputs import load_paths

    if isinstance(data, Dataset):
        return data
    paths = [data] if isinstance(data, (str, os.PathLike)) else data
    if not isinstance(paths, (list, tuple)) or not all(isinstance(p, (str, os.PathLike)) for p in paths):
        raise TypeError(f"data: expected a path, a list of paths or a mmstudio Dataset, not {type(data).__name__}")
    if not paths:
        raise ValueError("data: no paths given")
    dataset = load_paths([os.fspath(p) for p in paths])   # SourceError (a ValueError) names a missing column
    missing = [e.path for e in dataset.skipped if e.reason == MISSING]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise FileNotFoundError(f"{missing[0]}: {MISSING}{more}")
    return dataset


def _warn_about(dataset, encoder) -> None:
    from mmstudio.encoders.builtin.domain import builtin_fit

    for entry in dataset.duplicates[:5]:
        warnings.warn(str(entry), stacklevel=3)
    fit = builtin_fit(dataset, encoder)
    note = fit.note() if fit is not None else None
    if note:
        warnings.warn(f"{note}; give another model with model=... ({fit.criterion()})", stacklevel=3)


def read_table(path):
    """The :class:`~mmstudio.core.tables.table.EmbeddingTable` in a ``.parquet`` or ``.npz`` file or a
    folder of Parquet shards, checked as every command checks it.

    ``table = mmstudio.read_table("out.parquet")``"""
    return as_table(path, "path")[0]
