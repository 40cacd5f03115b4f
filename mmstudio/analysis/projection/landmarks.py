"""Which rows a large map is fitted on: a sample that covers every modality and every region of the space.

:func:`choose_landmarks` stratifies the rows by (group, cell, far) — the group is the row's modality (or
any label the caller gives), the cell its nearest k-means centroid in the reduced space
(:mod:`~mmstudio.analysis.projection.cells`), and "far" marks the rows much farther from that centroid than
its cell's rows are on average (:func:`far_from_centre`: a small cluster too small to win a centroid of
its own) — and draws from every stratum: one row at least from each (so a rare modality, or a small
cluster away from the rest, is on the map), the rest in proportion to the strata's sizes (largest
remainders), uniformly at random within a stratum, with a fixed seed.
"""

from __future__ import annotations

import numpy as np

FAR = 4.0  # a row is "far" beyond this many times its cell's mean squared distance to the centroid


def far_from_centre(cells, d2) -> np.ndarray:
    """Rows whose squared distance ``d2`` to their cell's centroid is over ``FAR`` times the cell's mean
    (for a Gaussian cluster in 16 dimensions, a chance of about 1e-7 per row)."""
    cells = np.asarray(cells, np.int64)
    counts = np.bincount(cells)
    mean = np.bincount(cells, weights=d2) / np.maximum(counts, 1)
    return np.asarray(d2) > FAR * mean[cells]


def choose_landmarks(cells, count: int, groups=None, *, far=None, seed: int = 0) -> np.ndarray:
    """``count`` row indices (sorted) drawn from every (group, cell, far) stratum, as the module says.

    ``cells``: each row's cell (n ints); ``groups``: each row's group (n values, any type) or None;
    ``far``: a boolean mask of the rows far from their cell's centre (:func:`far_from_centre`) or None.
    When there are more strata than ``count``, the largest strata get one row each.
    """
    cells = np.asarray(cells)
    n = len(cells)
    count = max(0, min(int(count), n))
    if count == n:
        return np.arange(n)
    if groups is None:
        codes = np.zeros(n, np.int64)
    else:
        _, codes = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    key = codes.astype(np.int64) * (int(cells.max(initial=0)) + 1) + cells
    if far is not None:
        key = 2 * key + np.asarray(far, bool)
    _, strata, sizes = np.unique(key, return_inverse=True, return_counts=True)
    quota = _quotas(sizes, count)
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(n), strata))          # each stratum's rows in a random order
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.arange(n) - starts[strata[order]]          # a row's place within its stratum
    return np.sort(order[rank < quota[strata[order]]])


def _quotas(sizes, count: int) -> np.ndarray:
    """Rows to draw from each stratum: one each, the rest ∝ what is left of each (largest remainders)."""
    sizes = np.asarray(sizes, np.int64)
    if count < len(sizes):  # fewer draws than strata: the largest strata, one row each
        quota = np.zeros(len(sizes), np.int64)
        quota[np.argsort(-sizes, kind="stable")[:count]] = 1
        return quota
    quota = np.ones(len(sizes), np.int64)
    left, room = count - len(sizes), sizes - 1
    if left == 0 or room.sum() == 0:
        return quota
    share = left * room / room.sum()
    extra = np.minimum(np.floor(share).astype(np.int64), room)
    remainder = left - int(extra.sum())
    if remainder > 0:
        fraction = np.where(extra < room, share - extra, -1.0)
        extra[np.argsort(-fraction, kind="stable")[:remainder]] += 1
    return quota + extra
