"""What every reader of an embedding table checks before anything is computed from it.

A file written by another tool, an older mmstudio or by hand can hold anything; each check
here turns one way of being wrong into a :class:`TableFormatError` naming the file and the
reason (and the rows, where rows are at fault), instead of a crash later or a silently wrong
answer: the ``mmstudio`` metadata (JSON object, text model name), the text columns, the
embeddings (numbers, one length, no nulls, every value finite), and the rows of a sample (one per
modality, but for the text rows of several captions, each with its own ``caption_index``).
"""

from __future__ import annotations

import json

import numpy as np

SHOWN_ROWS = 5


class TableFormatError(ValueError):
    """A file that is not a readable embedding table; the message names the file and why."""


def parse_meta(raw, where) -> dict:
    """The ``mmstudio`` metadata: a JSON object whose ``model`` is text and ``info`` an object."""
    if raw is None:
        return {}
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        meta = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TableFormatError(f"{where}: its 'mmstudio' metadata is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise TableFormatError(f"{where}: its 'mmstudio' metadata is a JSON {type(meta).__name__}, not an object")
    model = meta.get("model", "")
    if not isinstance(model, str):
        raise TableFormatError(f"{where}: the model name in its metadata is {model!r}, not text")
    if not isinstance(meta.get("info", {}), dict):
        raise TableFormatError(f"{where}: the 'info' of its metadata is not an object")
    return meta


def row_names(sample_id, modality, rows) -> str:
    """``s001 [image], s007 [text] and 3 more`` for the given row indices."""
    rows = list(rows)
    names = [f"{sample_id[i] if sample_id[i] is not None else f'row {i}'}"
             + (f" [{modality[i]}]" if modality[i] is not None else "") for i in rows[:SHOWN_ROWS]]
    more = f" and {len(rows) - SHOWN_ROWS} more" if len(rows) > SHOWN_ROWS else ""
    return ", ".join(names) + more


def check_finite(vectors: np.ndarray, sample_id, modality, where) -> None:
    """Refuse embeddings holding NaN or infinity, naming the rows (nothing computed from them would mean anything)."""
    if not len(vectors):
        return
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if len(bad):
        rows = "row has" if len(bad) == 1 else "rows have"
        raise TableFormatError(f"{where}: {len(bad)} {rows} a non-finite embedding (NaN or infinity): "
                               f"{row_names(sample_id, modality, bad)}")


def check_vectors(vectors, where) -> np.ndarray:
    """A 2-D array of numbers with at least one dimension, as float32."""
    vectors = np.asarray(vectors)
    if vectors.dtype.kind not in "fiu":
        raise TableFormatError(f"{where}: the embeddings are {vectors.dtype} values, not numbers")
    if vectors.ndim != 2:
        raise TableFormatError(f"{where}: the embeddings are a {vectors.ndim}-D array {vectors.shape}; "
                               "one row per item (2-D) is needed")
    if vectors.shape[1] == 0 and len(vectors):
        raise TableFormatError(f"{where}: the embeddings have no dimensions")
    return vectors.astype(np.float32, copy=False)



def check_samples(table, where) -> None:
    """Only text rows may repeat within a sample, each with its own ``caption_index`` (a whole number
    ≥ 0, on text rows only; :mod:`mmstudio.core.tables.captions`). Rows without a sample id are not
    compared."""
    from mmstudio.core.tables.captions import CAPTION_INDEX

    sample_id, modality = table.sample_id, table.modality
    values = table.columns.get(CAPTION_INDEX)
    index = None
    if values is not None:
        if values.dtype.kind != "f":
            raise TableFormatError(f"{where}: column '{CAPTION_INDEX}' holds text, not caption numbers")
        given = np.isfinite(values)
        for bad, what in ((given & (modality != "text"), "a caption_index on a row that is not text"),
                          (given & ((values < 0) | (values != np.floor(values))), "a caption_index that is not a "
                                                                                  "whole number ≥ 0")):
            rows = np.flatnonzero(bad)
            if len(rows):
                raise TableFormatError(f"{where}: {len(rows)} row{'s have' if len(rows) != 1 else ' has'} {what}: "
                                       f"{row_names(sample_id, modality, rows)}")
        index = np.where(given & (modality == "text"), values, -1)
    sid, mod = _codes(table, "sample_id"), _codes(table, "modality")
    caption = np.full(len(table), -1.0) if index is None else index
    order = np.lexsort((caption, mod, sid))   # stable: of rows alike, the later one in the table repeats
    same = (sid[order][1:] == sid[order][:-1]) & (mod[order][1:] == mod[order][:-1]) & \
        (caption[order][1:] == caption[order][:-1]) & (sid[order][1:] >= 0)
    repeated = np.sort(order[1:][same])
    if len(repeated):
        rows = "row repeats" if len(repeated) == 1 else "rows repeat"
        raise TableFormatError(f"{where}: {len(repeated)} {rows} a sample's modality: "
                               f"{row_names(sample_id, modality, repeated)}; only text rows may repeat within a "
                               f"sample, each with its own '{CAPTION_INDEX}' (several captions)")


def _codes(table, column: str) -> np.ndarray:
    """Each text of the column an integer (equal texts, equal numbers; None → −1): its categories' codes,
    hashed by Arrow and kept on the table (a reader that encoded the column brings them)."""
    from mmstudio.core.tables.categories import categories

    return categories(table, column).codes
