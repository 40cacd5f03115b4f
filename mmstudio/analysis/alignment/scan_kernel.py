"""One pass over a tile of cosine similarities (queries × a slice of the gallery), keeping per query only
what retrieval and the contrastive losses need of it — never the tile itself.

Per query row ``i`` (``partner[i]``: its partner's score, ``hi[i]``/``lo[i]``: that ± ``TIE_WINDOW``; an item is *relevant* when
``gallery_key[j] == query_key[i]``, its own partner or its sample's captions):

- ``ahead[i]``: irrelevant items scoring above ``hi`` (they rank ahead of the partner whatever the rounding);
- ``near[i]`` (this tile only): irrelevant items within ``lo … hi``, which the caller scores again in
  float64 (:func:`mmstudio.analysis.alignment.retrieval.exact_scores`);
- with ``top_values`` of width k > 0 and a label code ``query_label[i] >= 0``: the k best items by
  (similarity descending, items without the query's label first), kept sorted, their label match in
  ``top_relevant`` (0/1; 2 marks an empty slot) — every tie-break that leaves the k label hits the same;
- with ``losses``: over the irrelevant items, the largest similarity (``neg_max``), the smallest
  (``neg_min``) and the largest below the partner's (``semi_max``): the hardest and semi-hard negatives of
  the triplet loss. (InfoNCE's log-sum-exp is numpy's: its float32 ``exp`` is vectorised, numba's is not.)

Compiled by numba (single-threaded, without the GIL, cached on disk); imported only by the chunked
retrieval path (:mod:`mmstudio.analysis.alignment.chunked`).
"""

from __future__ import annotations

import numba  # noqa: TID253 - this module is imported only by the chunked retrieval path
import numpy as np


@numba.njit(nogil=True, cache=True)
def scan_tile(block, col0, partner, hi, lo, query_key, gallery_key, query_label, gallery_label,
              top_values, top_relevant, ahead, near, losses, neg_max, neg_min, semi_max):
    rows, cols = block.shape
    k = top_values.shape[1]
    for i in range(rows):
        h, lw, p, key, lab = hi[i], lo[i], partner[i], query_key[i], query_label[i]
        a = 0
        w = 0
        labelled = k > 0 and lab >= 0
        worst_v = top_values[i, k - 1] if labelled else np.float32(0)
        worst_r = top_relevant[i, k - 1] if labelled else np.int8(0)
        top, bottom, semi = neg_max[i], neg_min[i], semi_max[i]
        for j in range(cols):
            v = block[i, j]
            if v > h:
                if gallery_key[col0 + j] != key:
                    a += 1
            elif v >= lw:
                if gallery_key[col0 + j] != key:
                    w += 1
            if labelled and v >= worst_v:
                rel = np.int8(1) if gallery_label[col0 + j] == lab else np.int8(0)
                if v > worst_v or rel < worst_r:
                    s = k - 1
                    while s > 0 and (v > top_values[i, s - 1]
                                     or (v == top_values[i, s - 1] and rel < top_relevant[i, s - 1])):
                        top_values[i, s] = top_values[i, s - 1]
                        top_relevant[i, s] = top_relevant[i, s - 1]
                        s -= 1
                    top_values[i, s] = v
                    top_relevant[i, s] = rel
                    worst_v = top_values[i, k - 1]
                    worst_r = top_relevant[i, k - 1]
            if losses and gallery_key[col0 + j] != key:
                if v > top:
                    top = v
                if v < bottom:
                    bottom = v
                if v < p and v > semi:
                    semi = v
        ahead[i] += a
        near[i] = w
        neg_max[i], neg_min[i], semi_max[i] = top, bottom, semi
