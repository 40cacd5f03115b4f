"""The modality gap (Liang et al. 2022, "Mind the Gap") and the embedding-shift experiment.

The **gap vector** between modalities a and b is the difference of their centroids on
L2-normalised embeddings, ``Δ = mean(x_a) − mean(x_b)``; the **gap** is its length ‖Δ‖.

The **shift experiment** follows the paper's code (``move_features`` in the authors'
repository): with the unit gap direction ``g = Δ / ‖Δ‖`` and a shift δ,

    x_a' = normalise(x_a − δ/2 · g),    x_b' = normalise(x_b + δ/2 · g),

so δ > 0 moves the modalities towards each other (δ = ‖Δ‖ makes the centroids meet before the
renormalisation), δ < 0 pulls them apart, and δ = 0 is the embedding as it is. At each δ the
retrieval is re-scored (R@1 and mean rank, both directions) and the gap measured again on the
renormalised vectors. The default grid is δ = ‖Δ‖ · (−1, −0.9, …, 2): from doubling the gap,
through closing it (the 11th point), to mirroring it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmstudio.analysis.alignment.retrieval import normalise, ranks_from_similarity, similarity_blocks
from mmstudio.core.jobs import Job

GRID = np.round(np.linspace(-1.0, 2.0, 31), 10)  # in units of the measured gap
MAX_SHIFT_PAIRS = 2000


def modality_gap(a, b) -> tuple[float, np.ndarray]:
    """‖Δ‖ and Δ = mean(normalise(a)) − mean(normalise(b)) (float64)."""
    delta = normalise(a).mean(axis=0, dtype=np.float64) - normalise(b).mean(axis=0, dtype=np.float64)
    return float(np.linalg.norm(delta)), delta


def shift_pair(a, b, delta: float, direction) -> tuple[np.ndarray, np.ndarray]:
    """The shifted, renormalised pair: ``a − δ/2·g``, ``b + δ/2·g`` (g a unit vector).

    At δ = 0 the vectors come back as given (not renormalised again), so the base retrieval is
    reproduced bit for bit."""
    if delta == 0:
        return np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    g = np.asarray(direction, dtype=np.float64)
    a2 = normalise(normalise(a).astype(np.float64) - 0.5 * delta * g)
    b2 = normalise(normalise(b).astype(np.float64) + 0.5 * delta * g)
    return a2, b2


@dataclass
class GapShift:
    """Arrays over the δ grid, ready for a plot (one entry per δ)."""

    gap: float  # ‖Δ‖ before any shift
    deltas: np.ndarray
    gap_after: np.ndarray  # ‖Δ‖ measured after the shift and renormalisation
    r1_ab: np.ndarray
    r1_ba: np.ndarray
    mean_rank_ab: np.ndarray
    mean_rank_ba: np.ndarray
    n: int  # pairs scored (a seeded subsample above ``max_pairs``)

    @property
    def best(self) -> int:
        """Index of the δ with the highest mean R@1 of both directions (the smallest |δ| on ties)."""
        score = (self.r1_ab + self.r1_ba) / 2
        return int(min(np.flatnonzero(score == score.max()), key=lambda i: abs(self.deltas[i])))

    def to_dict(self) -> dict:
        return {"gap": self.gap, "n": self.n, "deltas": self.deltas.tolist(), "gap_after": self.gap_after.tolist(),
                "R@1_ab": self.r1_ab.tolist(), "R@1_ba": self.r1_ba.tolist(),
                "mean_rank_ab": self.mean_rank_ab.tolist(), "mean_rank_ba": self.mean_rank_ba.tolist()}


def _paired_ranks(a, b) -> np.ndarray:
    ranks = np.empty(len(a), dtype=np.int64)
    for start, block in similarity_blocks(a, b):
        ranks[start:start + len(block)] = ranks_from_similarity(block, np.arange(start, start + len(block)))
    return ranks


def gap_shift(a, b, deltas=None, *, max_pairs: int = MAX_SHIFT_PAIRS, seed: int = 0, job=None) -> GapShift:
    """Re-score paired retrieval (``a[i]`` ↔ ``b[i]``) with the modalities shifted along the gap.

    ``deltas`` are absolute shifts (default: ``GRID`` × the measured gap). Above ``max_pairs``
    pairs a seeded random subsample is scored (the gap direction is still measured on all)."""
    job = job or Job()
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    gap, vector = modality_gap(a, b)
    direction = vector / gap if gap > 0 else np.zeros_like(vector)
    deltas = GRID * gap if deltas is None else np.asarray(deltas, dtype=np.float64)
    if len(a) > max_pairs:
        keep = np.sort(np.random.default_rng(seed).choice(len(a), max_pairs, replace=False))
        a, b = a[keep], b[keep]
    out = {k: np.empty(len(deltas)) for k in ("gap", "r1_ab", "r1_ba", "mr_ab", "mr_ba")}
    for i, delta in enumerate(deltas):
        a2, b2 = shift_pair(a, b, float(delta), direction)
        out["gap"][i] = modality_gap(a2, b2)[0]
        ab, ba = _paired_ranks(a2, b2), _paired_ranks(b2, a2)
        out["r1_ab"][i], out["r1_ba"][i] = np.mean(ab == 1), np.mean(ba == 1)
        out["mr_ab"][i], out["mr_ba"][i] = ab.mean(), ba.mean()
        job.check()
    return GapShift(gap, deltas, out["gap"], out["r1_ab"], out["r1_ba"], out["mr_ab"], out["mr_ba"], len(a))
