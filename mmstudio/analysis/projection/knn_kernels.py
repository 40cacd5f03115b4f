"""The compiled loops of the exact kNN on a CPU (numba; cached on disk like umap-learn's kernels).

- :func:`top_k_largest`: each row's ``k`` largest entries of a block of scores (what follows a BLAS matrix
  product in :func:`~mmstudio.analysis.projection.knn.exact_knn`), sorted, without sorting the row.
- :func:`nearest_candidates`: of each row's candidate neighbours, the ``k`` nearest in the original space
  (the landmark map re-ranks the candidates it found in the reduced space).

Each runs on one thread without the GIL: callers share blocks of rows among threads
(:func:`~mmstudio.analysis.projection.blocks.run_blocks`). Imported only inside the functions that use it.
"""

from __future__ import annotations

import math

import numba  # noqa: TID253 - imported only where the kNN runs (knn.exact_knn, landmark_map)
import numpy as np


@numba.njit(nogil=True, cache=True)
def top_k_largest(scores, k, out_idx, out_val):  # pragma: no cover - compiled
    """Each row's ``k`` largest scores, largest first, into ``out_idx`` / ``out_val`` (m × k);
    ties keep the lower column first."""
    m, n = scores.shape
    for r in range(m):
        vals = out_val[r]
        idx = out_idx[r]
        for t in range(k):
            vals[t] = -np.inf
            idx[t] = -1
        worst = -np.inf
        row = scores[r]
        for j in range(n):
            v = row[j]
            if v > worst:
                p = k - 1
                while p > 0 and vals[p - 1] < v:
                    vals[p] = vals[p - 1]
                    idx[p] = idx[p - 1]
                    p -= 1
                vals[p] = v
                idx[p] = j
                worst = vals[k - 1]


@numba.njit(nogil=True, cache=True, fastmath=True)
def _dot(a, b):  # pragma: no cover - compiled
    s = np.float32(0.0)
    for t in range(a.shape[0]):
        s += a[t] * b[t]
    return s


@numba.njit(nogil=True, cache=True, fastmath=True)
def _squared(a, b):  # pragma: no cover - compiled
    s = np.float32(0.0)
    for t in range(a.shape[0]):
        diff = a[t] - b[t]
        s += diff * diff
    return s


@numba.njit(nogil=True, cache=True)
def nearest_candidates(queries, rows, base, candidates, cosine, k, out_idx, out_dist):  # pragma: no cover
    """Of each query's ``candidates`` (row indices into ``base``), the ``k`` nearest, nearest first, into
    ``out_idx`` / ``out_dist``: umap-learn's distances, 1 - q·b for ``cosine`` (rows of length 1) or
    the Euclidean distance. Query ``i`` is ``queries[rows[i]]``; ties keep the earlier candidate. The sums
    run in float32 on SIMD lanes (their order is the compiler's: a last-digit difference at most)."""
    m, c = candidates.shape
    for i in range(m):
        q = queries[rows[i]]
        vals = out_dist[i]
        idx = out_idx[i]
        for t in range(k):
            vals[t] = np.inf
            idx[t] = -1
        worst = np.inf
        for j in range(c):
            b = base[candidates[i, j]]
            if cosine:
                s = 1.0 - _dot(q, b)
            else:
                s = math.sqrt(_squared(q, b))
            if s < worst:
                u = k - 1
                while u > 0 and vals[u - 1] > s:
                    vals[u] = vals[u - 1]
                    idx[u] = idx[u - 1]
                    u -= 1
                vals[u] = s
                idx[u] = candidates[i, j]
                worst = vals[k - 1]
