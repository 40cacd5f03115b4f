"""The compiled loops of the exact kNN on a CPU (numba; cached on disk like umap-learn's kernels).

- :func:`top_k_largest`: each row's ``k`` largest entries of a block of scores (what follows a BLAS matrix
  product in :func:`~mmstudio.analysis.projection.knn.exact_knn`), sorted, without sorting the row.
- :func:`cell_knn`: each query's ``k`` nearest points (squared Euclidean distance, exact) when the points
  are grouped in cells around centroids: a cell is opened only when a lower bound on its distance (the
  centroid's distance less the cell's radius, or the distance to the half-space closer to that centroid
  than to the query's own) could still beat the ``k``-th best found, so the answer is the brute-force one
  for a fraction of its work (:mod:`~mmstudio.analysis.projection.cells`).

Each runs on one thread without the GIL: callers share blocks of rows among threads
(:func:`~mmstudio.analysis.projection.blocks.run_blocks`). Imported only inside the functions that use it.
"""

from __future__ import annotations

import math

import numba  # noqa: TID253 - imported only where the kNN runs (knn.exact_knn, cells)
import numpy as np

SLACK = 1e-5  # a cell is skipped only when its bound beats the k-th best by this relative margin (rounding)


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


@numba.njit(nogil=True, cache=True)
def _sq(a, b):  # pragma: no cover - compiled
    s = 0.0
    for t in range(a.shape[0]):
        d = a[t] - b[t]
        s += d * d
    return s


@numba.njit(nogil=True, cache=True)
def nearest_centroid(points, centroids, out):  # pragma: no cover - compiled
    """Each point's nearest centroid (exact squared distances, float64 sums), into ``out``."""
    for i in range(points.shape[0]):
        best, where = np.inf, 0
        for j in range(centroids.shape[0]):
            s = _sq(points[i], centroids[j])
            if s < best:
                best, where = s, j
        out[i] = where


@numba.njit(nogil=True, cache=True)
def _distances(q, points_t, a, b, acc):  # pragma: no cover - compiled
    """Squared distances of ``q`` to the points ``a … b`` of ``points_t`` (D × n, a point per column)
    into ``acc[:b - a]``: a dimension at a time across the points, so the loop runs on SIMD lanes."""
    m = b - a
    for p in range(m):
        acc[p] = 0.0
    for t in range(points_t.shape[0]):
        qt = q[t]
        row = points_t[t]
        for p in range(m):
            diff = qt - row[a + p]
            acc[p] += diff * diff


@numba.njit(nogil=True, cache=True)
def cell_knn(queries, points_t, starts, centroids_t, radii, between, k, out_idx, out_d2):  # pragma: no cover
    """The ``k`` nearest points of each query, nearest first, into ``out_idx`` / ``out_d2`` (squared).

    ``points_t`` (D × n) holds the points as columns, sorted by cell: cell ``j`` is columns
    ``starts[j] … starts[j + 1]``, every one nearer to centroid ``j`` (column ``j`` of ``centroids_t``)
    than to any other (as :func:`nearest_centroid` finds) and at most ``radii[j]`` from it; ``between``
    holds the centroids' distances to each other. One cell holding every point is a brute-force search.
    """
    m = queries.shape[0]
    c = centroids_t.shape[1]
    widest = 0
    for j in range(c):
        widest = max(widest, starts[j + 1] - starts[j])
    dc2 = np.empty(c, np.float32)
    bound = np.empty(c)
    acc = np.empty(max(widest, 1), np.float32)
    near = np.empty(c, np.int64)
    for i in range(m):
        q = queries[i]
        _distances(q, centroids_t, 0, c, dc2)
        own = 0
        for j in range(c):
            if dc2[j] < dc2[own]:
                own = j
        for j in range(c):
            lb = math.sqrt(dc2[j]) * (1.0 - SLACK) - radii[j]
            if j != own and between[own, j] > 0:
                gap = float(dc2[j]) - float(dc2[own]) - SLACK * (float(dc2[j]) + float(dc2[own]))
                lb = max(lb, gap / (2.0 * between[own, j]))
            bound[j] = max(lb, 0.0)
        vals = out_d2[i]
        idx = out_idx[i]
        for t in range(k):
            vals[t] = np.inf
            idx[t] = -1
        # the query's own cell first; then only the cells its bound does not rule out, nearest bound first
        worst = _scan(q, points_t, starts[own], starts[own + 1], acc, k, vals, idx)
        count = 0
        for j in range(c):
            if j != own and not _beyond(bound[j], worst):
                near[count] = j
                count += 1
        order = np.argsort(bound[near[:count]])
        for t in range(count):
            j = near[order[t]]
            if _beyond(bound[j], worst):
                break
            worst = _scan(q, points_t, starts[j], starts[j + 1], acc, k, vals, idx)


@numba.njit(nogil=True, cache=True)
def _beyond(bound, worst):  # pragma: no cover - compiled
    """No point at least ``bound`` away can beat the k-th best squared distance ``worst`` (with slack)."""
    return bound * bound > worst * (1.0 + SLACK) + 1e-6


@numba.njit(nogil=True, cache=True)
def _scan(q, points_t, a, b, acc, k, vals, idx):  # pragma: no cover - compiled
    """The points ``a … b`` offered to the query's k best (``vals`` ascending, ``idx``); the new k-th best."""
    _distances(q, points_t, a, b, acc)
    worst = vals[k - 1]
    for p in range(b - a):
        s = acc[p]
        if s < worst:
            u = k - 1
            while u > 0 and vals[u - 1] > s:
                vals[u] = vals[u - 1]
                idx[u] = idx[u - 1]
                u -= 1
            vals[u] = s
            idx[u] = a + p
            worst = vals[k - 1]
    return worst


@numba.njit(nogil=True, cache=True)
def nearest_candidates(queries, rows, base, candidates, cosine, k, out_idx, out_dist):  # pragma: no cover
    """Of each query's ``candidates`` (row indices into ``base``), the ``k`` nearest, nearest first, into
    ``out_idx`` / ``out_dist``: umap-learn's distances, 1 - q·b for ``cosine`` (rows of length 1) or
    the Euclidean distance. Query ``i`` is ``queries[rows[i]]``; ties keep the earlier candidate."""
    m, c = candidates.shape
    d = base.shape[1]
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
            s = 0.0
            if cosine:
                for t in range(d):
                    s += q[t] * b[t]
                s = 1.0 - s
            else:
                for t in range(d):
                    diff = q[t] - b[t]
                    s += diff * diff
                s = math.sqrt(s)
            if s < worst:
                u = k - 1
                while u > 0 and vals[u - 1] > s:
                    vals[u] = vals[u - 1]
                    idx[u] = idx[u - 1]
                    u -= 1
                vals[u] = s
                idx[u] = candidates[i, j]
                worst = vals[k - 1]
