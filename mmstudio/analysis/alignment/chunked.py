"""Exact retrieval and contrastive-loss terms on large sets, one tile of the similarity matrix at a time.

The queries are taken ``rows`` at a time and the gallery in slices, so that a tile (rows × slice) holds at
most ``tile_elements`` float32 values (128 MiB by default); :mod:`.scan_kernel` walks each tile once and
keeps per query only counts, its label top-k and the loss terms. Memory is the tile plus a few numbers per
query, whatever the size of the set; time is that of the matrix products and one pass over their output.

Ranks follow :mod:`mmstudio.analysis.alignment.retrieval`'s rule exactly: a query's **partner score** ``p``
is the best of its relevant items scored by :func:`~.retrieval.exact_scores` (float64, rounded to float32:
the same bits whatever the tile), its rank is ``1 + #(irrelevant items scoring ≥ p)``, an item counts ahead
of it when its float32 score is above ``p + TIE_WINDOW`` and, within ``TIE_WINDOW`` of ``p``, when its
exact score is ≥ ``p``. Float32 rounding (~1e-7) therefore never moves a rank, and the tiles give the ranks
of the whole matrix (tests/analysis/test_chunked.py checks them against it). A query whose partner score is
not finite ranks last, as in :func:`~.retrieval.ranks_from_similarity`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mmstudio.analysis.alignment.retrieval import TIE_WINDOW, TOP, exact_scores
from mmstudio.core.jobs import Job

QUERY_BLOCK = 1024          # queries per tile (fewer when the gallery is small enough to take more at once)
TILE_ELEMENTS = 1 << 25     # similarities per tile: 128 MiB of float32
EXACT_CHUNK = 1 << 21       # float64 values per chunk (16 MiB) when scoring partners exactly


@dataclass
class ScanResult:
    """Per query (in the order given): its partner's rank and, when asked for, label and loss terms."""

    ranks: np.ndarray                       # 1-based rank among the gallery (ties against the query)
    partner: np.ndarray                     # the partner score p (float32; NaN where none)
    best: np.ndarray                        # gallery index of the best-placed relevant item (−1: none)
    rows: int                               # queries per tile
    label_hit1: np.ndarray | None = None    # 1/0, NaN where the query has no label or no relevant item
    label_ap10: np.ndarray | None = None
    lse: np.ndarray | None = None           # log Σ_j exp(s_ij / τ) over the whole gallery
    neg_max: np.ndarray | None = None       # the most similar irrelevant item (the hardest negative)
    neg_min: np.ndarray | None = None       # the least similar one
    semi_max: np.ndarray | None = None      # the most similar one below p (−inf: none)


def tile_shape(n_queries: int, n_gallery: int, tile_elements: int = TILE_ELEMENTS,
               query_block: int = QUERY_BLOCK) -> tuple[int, int]:
    """(queries, gallery items) per tile: up to ``query_block`` queries (and no more than the square root
    of ``tile_elements``) against as much of the gallery as ``tile_elements`` allows; more queries at once
    when the whole gallery fits in fewer elements."""
    n_gallery = max(1, n_gallery)
    rows = max(1, min(n_queries, query_block, math.isqrt(tile_elements)))
    cols = max(1, min(n_gallery, tile_elements // rows))
    if cols == n_gallery:
        rows = max(1, min(n_queries, tile_elements // n_gallery))
    return rows, cols


def partner_scores(q, g, query_key, gallery_key) -> tuple[np.ndarray, np.ndarray]:
    """Per query: the best exact score among its relevant gallery items (``gallery_key == query_key``) and
    that item's index (the first of equals; NaN and −1 where none is relevant)."""
    query_key, gallery_key = np.asarray(query_key), np.asarray(gallery_key)
    order = np.argsort(gallery_key, kind="stable")
    keys = gallery_key[order]
    first = np.searchsorted(keys, query_key, side="left")
    last = np.searchsorted(keys, query_key, side="right")
    counts = last - first
    qi = np.repeat(np.arange(len(query_key)), counts)
    gi = order[np.arange(len(qi)) - np.repeat(np.cumsum(counts) - counts - first, counts)]
    scores = np.empty(len(qi), np.float32)
    step = max(1, EXACT_CHUNK // max(1, q.shape[1]))
    for start in range(0, len(qi), step):
        part = slice(start, start + step)
        scores[part] = np.einsum(
            "ij,ij->i", np.asarray(q[qi[part]], np.float64), np.asarray(g[gi[part]], np.float64))
    partner = np.full(len(query_key), np.nan, np.float32)
    best = np.full(len(query_key), -1, np.int64)
    # the best per query, the first in gallery order among equals: sort by (query, −score, index)
    pick = np.lexsort((gi, -np.where(np.isnan(scores), -np.inf, scores), qi))
    lead = pick[np.r_[True, qi[pick][1:] != qi[pick][:-1]]] if len(pick) else pick
    partner[qi[lead]], best[qi[lead]] = scores[lead], gi[lead]
    return partner, best


def scan(q, g, query_key, gallery_key, *, codes=None, k: int = TOP, temperature: float | None = None,
         tile_elements: int = TILE_ELEMENTS, query_block: int = QUERY_BLOCK, job=None) -> ScanResult:
    """Rank each unit query's relevant items among the unit gallery ``g`` (see the module's rule), tile by
    tile. ``codes``: (query label codes, gallery label codes) from :func:`~.retrieval.label_codes` for the
    label top-``k`` metrics; ``temperature``: also gather the InfoNCE and triplet terms."""
    from mmstudio.analysis.alignment.scan_kernel import scan_tile

    job = job or Job()
    q, g = np.ascontiguousarray(q, np.float32), np.ascontiguousarray(g, np.float32)
    query_key, gallery_key = np.asarray(query_key, np.int64), np.asarray(gallery_key, np.int64)
    m, n = len(q), len(g)
    partner, best = partner_scores(q, g, query_key, gallery_key)
    hi = (partner + np.float32(TIE_WINDOW)).astype(np.float32)
    lo = (partner - np.float32(TIE_WINDOW)).astype(np.float32)
    rows, cols = tile_shape(m, n, tile_elements, query_block)
    kk = min(k, n) if codes is not None else 0
    q_label = np.asarray(codes[0], np.int64) if codes is not None else np.full(m, -1, np.int64)
    g_label = np.asarray(codes[1], np.int64) if codes is not None else np.full(n, -2, np.int64)
    top_v = np.full((m, kk), -np.inf, np.float32)
    top_r = np.full((m, kk), 2, np.int8)
    ahead = np.zeros(m, np.int64)
    losses = temperature is not None
    inv_t = 1.0 / temperature if losses else 1.0
    lse_max, lse_sum = np.full(m, -np.inf), np.zeros(m)
    neg_max = np.full(m, -np.inf, np.float32)
    neg_min = np.full(m, np.inf, np.float32)
    semi = np.full(m, -np.inf, np.float32)
    buffer = np.empty(rows * cols, np.float32)
    for r0 in range(0, m, rows):
        r1 = min(m, r0 + rows)
        near = np.zeros(r1 - r0, np.int64)
        for c0 in range(0, n, cols):
            c1 = min(n, c0 + cols)
            tile = buffer[:(r1 - r0) * (c1 - c0)].reshape(r1 - r0, c1 - c0)
            np.matmul(q[r0:r1], g[c0:c1].T, out=tile)
            scan_tile(tile, c0, partner[r0:r1], hi[r0:r1], lo[r0:r1], query_key[r0:r1], gallery_key,
                      q_label[r0:r1], g_label, top_v[r0:r1], top_r[r0:r1], ahead[r0:r1], near, losses,
                      neg_max[r0:r1], neg_min[r0:r1], semi[r0:r1])
            for i in np.flatnonzero(near):  # items within TIE_WINDOW of the partner: scored again in float64
                r = r0 + i
                found = np.flatnonzero((tile[i] >= lo[r]) & (tile[i] <= hi[r]))
                found = found[gallery_key[c0 + found] != query_key[r]]
                ahead[r] += int((exact_scores(q[r], g[c0 + found]) >= partner[r]).sum())
            if losses:
                _log_sum_exp(tile, inv_t, lse_max[r0:r1], lse_sum[r0:r1])
            job.check()
    ranks = np.where(np.isfinite(partner), 1 + ahead, n).astype(np.int64)
    out = ScanResult(ranks, partner, best, rows)
    if codes is not None:
        out.label_hit1, out.label_ap10 = _label_metrics(top_r, q_label, g_label, k)
    if losses:
        out.lse, out.neg_max, out.neg_min, out.semi_max = lse_max + np.log(lse_sum), neg_max, neg_min, semi
    return out


def _log_sum_exp(tile: np.ndarray, scale: float, running_max: np.ndarray, running_sum: np.ndarray) -> None:
    """Merge the tile's rows into a running log-sum-exp of ``scale · similarity`` (max and sum, float64):
    exp in float32 (numpy's is vectorised; each term to ~1e-7), summed in float64. Overwrites the tile."""
    top = tile.max(axis=1).astype(np.float64) * scale
    tile *= np.float32(scale)
    tile -= top.astype(np.float32)[:, None]
    np.exp(tile, out=tile)
    total = tile.sum(axis=1, dtype=np.float64)
    new = np.maximum(running_max, top)
    running_sum[:] = running_sum * np.exp(running_max - new) + total * np.exp(top - new)
    running_max[:] = new


def _label_metrics(top_r, q_label, g_label, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Label hit at 1 and AP@k from the sorted top-k label matches, as :func:`~.retrieval.label_scores`."""
    counts = np.bincount(g_label[g_label >= 0], minlength=int(max(q_label.max(initial=-1), g_label.max(initial=-1))) + 1)
    n_rel = np.where(q_label >= 0, counts[np.maximum(q_label, 0)], 0)
    hits = (top_r == 1).astype(np.float64)
    kk = hits.shape[1]
    precision = np.cumsum(hits, axis=1) / np.arange(1, kk + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = (precision * hits).sum(axis=1) / np.minimum(k, n_rel)
    valid = (q_label >= 0) & (n_rel > 0)
    first = hits[:, 0] if kk else np.zeros(len(hits))
    return np.where(valid, first, np.nan), np.where(valid, ap, np.nan)
