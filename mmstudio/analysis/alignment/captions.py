"""Retrieval when a sample has several captions: the standard COCO / Flickr protocol.

As in the evaluations of CLIP and its successors on COCO and Flickr30k, every caption is kept:

- **media → text** (an image or a sound queries the captions): the query has several relevant
  items, its sample's captions, and a hit at k is **any** of them in the top k. Its rank is the rank
  of its best-placed caption: ``1 + #(other samples' captions at least as similar)`` (ties count
  against the query, as everywhere in :mod:`mmstudio.analysis.alignment.retrieval`; the best caption's
  score is exact, :func:`~mmstudio.analysis.alignment.chunked.partner_scores`, and the captions of other
  samples within ``TIE_WINDOW`` of it are compared in float64), so R@k is the share of queries with rank ≤ k.
- **text → media**: **every** caption is a query (5,000 images × 5 captions → 25,000 queries), with
  its sample's image or sound the one relevant item.

The paired measures (the modality gap, Procrustes, CKA, the maps, the losses) need one row per
sample on each side: they pair each image or sound with its first caption
(:func:`mmstudio.analysis.common.pairing.sample_rows`).
"""

from __future__ import annotations

import numpy as np

from mmstudio.analysis.alignment.chunked import partner_scores
from mmstudio.analysis.alignment.retrieval import (
    BLOCK_ELEMENTS,
    DENSE_ELEMENTS,
    TIE_WINDOW,
    Retrieval,
    exact_scores,
    label_codes,
    label_scores,
    label_total,
    normalise,
    similarity_blocks,
)
from mmstudio.analysis.alignment.scope import Scope, plan
from mmstudio.analysis.common.pairing import CaptionRows, Pairs
from mmstudio.core.jobs import Job
from mmstudio.core.tables.captions import caption_indices


def retrieve_any(queries, gallery, query_owner, gallery_owner, *, query_labels=None, gallery_labels=None,
                 sample_ids=None, names=("query", "gallery"), block_elements: int = BLOCK_ELEMENTS,
                 scope: Scope | None = None, method: str = "auto", job=None) -> Retrieval:
    """Retrieval in which query ``i``'s relevant gallery items are those with ``gallery_owner ==
    query_owner[i]`` (its sample's); its rank is that of the best-placed one (see the module's note).
    ``best`` on the result holds the gallery index of that item. ``scope`` and ``method`` as in
    :func:`~mmstudio.analysis.alignment.retrieval.retrieve`."""
    job = job or Job()
    query_owner, gallery_owner = np.asarray(query_owner), np.asarray(gallery_owner)
    n = len(queries)
    scope = scope or Scope(n)
    rows = np.arange(n) if scope.rows is None else scope.rows
    codes = label_codes(query_labels, gallery_labels)
    q_codes = codes[0][rows] if codes is not None else None
    q = normalise(np.asarray(queries)[rows] if scope.sampled else queries)
    g = normalise(gallery)
    owner = query_owner[rows]
    if method == "dense" or (method == "auto" and len(q) * len(g) <= DENSE_ELEMENTS):
        ranks, best, hit1, ap, block = _dense_any(q, g, owner, gallery_owner, q_codes, codes, block_elements, job)
    else:
        from mmstudio.analysis.alignment.chunked import scan

        found = scan(q, g, owner, gallery_owner, codes=None if codes is None else (q_codes, codes[1]),
                     tile_elements=block_elements, job=job)
        ranks, best, hit1, ap, block = found.ranks, found.best, found.label_hit1, found.label_ap10, found.rows
    ids = np.arange(n).astype(str).astype(object) if sample_ids is None else np.asarray(sample_ids)
    return Retrieval(names[0], names[1], ids[rows], ranks, hit1, ap, None, best, scope, block, label_total(codes))


def _dense_any(q, g, owner, gallery_owner, q_codes, codes, block_elements: int, job):
    """:func:`retrieve_any` in numpy row blocks: the partner score is the best relevant item's exact score,
    and the irrelevant items within ``TIE_WINDOW`` of it are compared in float64 (as
    :func:`~mmstudio.analysis.alignment.retrieval.partner_ranks` does)."""
    m = len(q)
    partner, best = partner_scores(q, g, owner, gallery_owner)
    ranks = np.empty(m, np.int64)
    hit1 = np.empty(m) if codes is not None else None
    ap = np.empty(m) if codes is not None else None
    for start, block in similarity_blocks(q, g, block_elements, normalised=True):
        stop = start + len(block)
        p = partner[start:stop]
        other = gallery_owner[None, :] != owner[start:stop, None]
        ahead = ((block > (p + np.float32(TIE_WINDOW))[:, None]) & other).sum(axis=1)
        near = (np.abs(block - p[:, None]) <= np.float32(TIE_WINDOW)) & other
        for r in np.flatnonzero(near.any(axis=1)):
            ahead[r] += int((exact_scores(q[start + r], g[near[r]]) >= p[r]).sum())
        ranks[start:stop] = np.where(np.isfinite(p), 1 + ahead, len(g))
        if codes is not None:
            hit1[start:stop], ap[start:stop] = label_scores(block, q_codes[start:stop], codes[1])
        job.check()
    return ranks, best, hit1, ap, min(m, max(1, block_elements // max(1, len(g))))


def caption_retrieval(table, pairs: Pairs, captions: CaptionRows, *, queries: int | None = None, seed: int = 0,
                      job=None) -> list[tuple]:
    """Retrieval ``pairs.a → pairs.b`` and back under the any-caption protocol: two ``(result, query
    rows, partner rows)``, the rows in the table: each scored query's, and the partner it is scored by (its
    best-placed caption, or its sample's image or sound). Each direction scores every query, or a seeded
    sample of them (``queries``, as :func:`mmstudio.analysis.alignment.scope.plan` takes it)."""
    media_rows = pairs.rows_a if captions.side == "b" else pairs.rows_b
    media = pairs.a if captions.side == "b" else pairs.b
    own = np.arange(len(pairs))
    xm, xt = table.vectors[media_rows], table.vectors[captions.rows]
    lm, lt = table.label[media_rows], table.label[captions.rows]
    media_scope = plan(len(xm), len(xt), table.dim, queries=queries, seed=seed)
    text_scope = plan(len(xt), len(xm), table.dim, queries=queries, seed=seed)
    to_text = retrieve_any(xm, xt, own, captions.owner, query_labels=lm, gallery_labels=lt,
                           sample_ids=pairs.sample_ids, names=(media, "text"), scope=media_scope, job=job)
    to_media = retrieve_any(xt, xm, captions.owner, own, query_labels=lt, gallery_labels=lm,
                            sample_ids=pairs.sample_ids[captions.owner], names=("text", media), scope=text_scope,
                            job=job)
    both = [(to_text, media_scope.take(media_rows), captions.rows[to_text.best]),
            (to_media, text_scope.take(captions.rows), media_rows[text_scope.take(captions.owner)])]
    return both if captions.side == "b" else both[::-1]


def worst_rows(result: Retrieval, query_rows, partner_rows, table, n: int) -> list[dict]:
    """The worst-ranked queries of a :func:`caption_retrieval` result with their table rows (and the
    caption's index for a caption query)."""
    index = caption_indices(table)
    out = []
    for i in result.worst_queries(n):
        entry = {"sample_id": str(result.sample_ids[i]), "rank": int(result.ranks[i]),
                 "query_row": int(query_rows[i]), "partner_row": int(partner_rows[i])}
        if result.query == "text":
            entry["caption_index"] = int(index[query_rows[i]])
        out.append(entry)
    return out


def protocol(pairs: Pairs, captions: CaptionRows) -> dict:
    """How many captions the paired samples have and the sentences that say which protocol was used."""
    media = pairs.a if captions.side == "b" else pairs.b
    noun = {"image": "image", "audio": "sound"}.get(media, media)
    counts = captions.counts
    low, high = int(counts.min()), int(counts.max())
    per = f"{low}" if low == high else f"{low}–{high}"
    average = "" if low == high else f" ({counts.mean():.1f} on average)"
    return {"captions": len(captions), "per_sample_min": low, "per_sample_max": high,
            "per_sample_mean": float(counts.mean()),
            "protocol": f"{per} captions per {noun}{average}: a hit is any of them; text→{media} uses all "
                        f"{len(captions):,} captions",
            "paired": f"the modality gap, Procrustes, CKA, the maps and the losses pair each {noun} with its "
                      "first caption"}
