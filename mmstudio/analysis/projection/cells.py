"""Cells of a reduced space: k-means centroids and every row's cell.

- :func:`kmeans` — ``c`` centroids of n × D rows (Lloyd's iterations on a random sample of the rows,
  k-means++ seeding; numpy);
- :func:`assign` — every row's nearest centroid (and its squared distance to it), a block at a time.

The landmark map (``landmark_map``) draws its landmarks from every cell, and shows a row at its cell's
landmark until the row is placed.
"""

from __future__ import annotations

import numpy as np

from mmstudio.analysis.projection.blocks import run_blocks
from mmstudio.core.jobs import Job

KMEANS_SAMPLE_PER_CELL = 40   # Lloyd's iterations run on at most this many rows per centroid
KMEANS_ITERATIONS = 12
ASSIGN_ROWS = 32_768


def kmeans(x, c: int, *, seed: int = 0, iterations: int = KMEANS_ITERATIONS) -> np.ndarray:
    """``c`` k-means centroids (c × D float32) of the rows of ``x`` (n × D), fitted on a random sample."""
    x = np.asarray(x, np.float32)
    rng = np.random.default_rng(seed)
    c = max(1, min(int(c), len(x)))
    sample = x if len(x) <= c * KMEANS_SAMPLE_PER_CELL else x[np.sort(rng.choice(len(x), c * KMEANS_SAMPLE_PER_CELL,
                                                                                    replace=False))]
    centroids = _plus_plus(sample, c, rng)
    for _ in range(iterations):
        cells = assign(sample, centroids)
        sums = np.zeros_like(centroids, dtype=np.float64)
        np.add.at(sums, cells, sample)
        counts = np.bincount(cells, minlength=c)
        empty = counts == 0
        centroids = np.where(empty[:, None], centroids, sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
        if empty.any():  # a centroid that lost every row starts again from a random row
            centroids[empty] = sample[rng.choice(len(sample), int(empty.sum()), replace=False)]
    return centroids


def _plus_plus(x, c, rng) -> np.ndarray:
    """k-means++ seeding: each next centroid drawn with probability ∝ squared distance to the nearest one."""
    centroids = np.empty((c, x.shape[1]), np.float32)
    centroids[0] = x[rng.integers(len(x))]
    d2 = ((x - centroids[0]) ** 2).sum(axis=1)
    for j in range(1, c):
        total = d2.sum()
        pick = rng.integers(len(x)) if total <= 0 else rng.choice(len(x), p=d2 / total)
        centroids[j] = x[pick]
        np.minimum(d2, ((x - centroids[j]) ** 2).sum(axis=1), out=d2)
    return centroids


def assign(x, centroids, job=None, distances: bool = False):
    """Each row's nearest centroid (int32), a block of rows at a time (one matrix product each); with
    ``distances``, also each row's squared distance to it (float32): ``(cells, d2)``."""
    job = job or Job()
    x = np.asarray(x, np.float32)
    c_sq = (centroids.astype(np.float64) ** 2).sum(axis=1).astype(np.float32)
    out = np.empty(len(x), np.int32)
    d2 = np.empty(len(x) if distances else 0, np.float32)

    def block(start, stop):
        # |x - c|² = |x|² - 2 x·c + |c|²; |x|² does not change the row's nearest centroid
        part = c_sq - 2.0 * (x[start:stop] @ centroids.T)
        out[start:stop] = np.argmin(part, axis=1)
        if distances:
            rows = x[start:stop]
            best = np.take_along_axis(part, out[start:stop, None].astype(np.int64), axis=1)[:, 0]
            d2[start:stop] = np.maximum(best + np.einsum("ij,ij->i", rows, rows), 0.0)

    run_blocks(block, len(x), ASSIGN_ROWS, job=job)
    return (out, d2) if distances else out
