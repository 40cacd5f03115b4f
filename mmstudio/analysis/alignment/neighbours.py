"""Nearest items across modalities: a selection's neighbours in the other modalities, and a typed
text query's nearest rows (cosine on the table's L2-normalised vectors)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def cross_modal_neighbours(table, rows, k: int = 5) -> np.ndarray:
    """For ``rows`` (their mean vector), the ``k`` nearest rows of every modality other than theirs
    (every modality when the rows mix modalities), modality by modality in the table's order."""
    if table is None or len(rows) == 0:
        return np.zeros(0, np.int64)
    chosen = np.asarray(rows)
    sims = table.vectors @ table.vectors[chosen].mean(axis=0)
    found = []
    for modality in table.modalities:
        if set(table.modality[chosen]) == {modality}:
            continue
        idx = table.rows(modality)
        found.extend(idx[np.argsort(-sims[idx], kind="stable")[:k]].tolist())
    return np.asarray(found, np.int64)


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
