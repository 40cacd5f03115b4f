"""Nearest items across modalities: a selection's neighbours in the other modalities, and a typed
text query's nearest rows (cosine on the table's L2-normalised vectors)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def cross_modal_neighbours(table, rows, k: int = 5) -> np.ndarray:
    """For ``rows`` (their mean vector), the ``k`` nearest rows of every modality other than theirs
    (every modality when the rows mix modalities), modality by modality in the table's order; ties go to
    the earlier row. One pass over the vectors and a partial sort per modality (a million rows: one matrix
    product, no full sort)."""
    if table is None or len(rows) == 0:
        return np.zeros(0, np.int64)
    from mmstudio.core.tables.categories import categories

    chosen = np.asarray(rows)
    sims = table.vectors @ mean_of(table.vectors, chosen)
    modality = categories(table, "modality")
    own = np.unique(modality.codes[chosen])
    found = []
    for m in table.modalities:
        code = int(np.flatnonzero(modality.names == m)[0])
        if len(own) == 1 and own[0] == code:
            continue
        found.extend(top_k(sims, np.flatnonzero(modality.codes == code), k).tolist())
    return np.asarray(found, np.int64)


def mean_of(vectors: np.ndarray, rows: np.ndarray, block: int = 65_536) -> np.ndarray:
    """The mean of ``vectors[rows]`` (float32), a block of rows at a time: 400,000 selected 128-d rows are not
    copied whole (200 MB) to be averaged."""
    rows = np.asarray(rows).reshape(-1)
    if len(rows) <= block:
        return vectors[rows].mean(axis=0)
    total = np.zeros(vectors.shape[1], np.float64)
    for start in range(0, len(rows), block):
        total += vectors[rows[start:start + block]].sum(axis=0, dtype=np.float64)
    return (total / len(rows)).astype(vectors.dtype)


def top_k(scores: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` of ``idx`` (ascending) with the highest ``scores``, best first, ties to the earlier index:
    what ``idx[np.argsort(-scores[idx], kind="stable")[:k]]`` gives, by a partial sort."""
    s = scores[idx]
    if len(idx) <= k:
        return idx[np.argsort(-s, kind="stable")]
    kth = np.partition(s, len(s) - k)[len(s) - k]     # the k-th highest score
    keep = np.flatnonzero(s >= kth)                   # it and above (more than k when it is tied)
    return idx[keep[np.argsort(-s[keep], kind="stable")[:k]]]


@dataclass
class TextQuery:
    text: str
    vector: np.ndarray
    nearest: np.ndarray | None      # the k nearest rows, best first; None when the widths differ
    placement: tuple | None         # for projection.positions: where the query sits on any layout


def text_query(encoder, table, text: str, k: int = 10) -> TextQuery:
    """Embed ``text`` with ``encoder`` and find its ``k`` nearest rows of ``table`` (any modality)."""
    from mmstudio.analysis.projection.project import placement

    vector = encoder.embed("text", [text]).vectors[0]
    if len(vector) != table.dim:
        return TextQuery(text, vector, None, None)
    nearest = np.argsort(-(table.vectors @ vector), kind="stable")[:k]
    return TextQuery(text, vector, nearest, placement(table.vectors, vector[None, :]))
