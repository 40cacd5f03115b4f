"""Retrieval when a sample has several captions: the standard COCO / Flickr protocol.

As in the evaluations of CLIP and its successors on COCO and Flickr30k, every caption is kept:

- **media → text** (an image or a sound queries the captions): the query has several relevant
  items, its sample's captions, and a hit at k is **any** of them in the top k. Its rank is the rank
  of its best-placed caption: ``1 + #(other samples' captions at least as similar)`` (ties count
  against the query, as everywhere in :mod:`mmstudio.analysis.alignment.retrieval`), so R@k is the
  share of queries with rank ≤ k.
- **text → media**: **every** caption is a query (5,000 images × 5 captions → 25,000 queries), with
  its sample's image or sound the one relevant item.

The paired measures (the modality gap, Procrustes, CKA, the maps, the losses) need one row per
sample on each side: they pair each image or sound with its first caption
(:func:`mmstudio.analysis.common.pairing.sample_rows`).
"""

from __future__ import annotations

import numpy as np

from mmstudio.analysis.alignment.retrieval import (
    BLOCK_ELEMENTS,
    Retrieval,
    label_codes,
    label_scores,
    similarity_blocks,
)
from mmstudio.analysis.common.pairing import CaptionRows, Pairs
from mmstudio.core.jobs import Job
from mmstudio.core.tables.captions import caption_indices


def retrieve_any(queries, gallery, query_owner, gallery_owner, *, query_labels=None, gallery_labels=None,
                 sample_ids=None, names=("query", "gallery"), block_elements: int = BLOCK_ELEMENTS,
                 job=None) -> Retrieval:
    """Retrieval in which query ``i``'s relevant gallery items are those with ``gallery_owner ==
    query_owner[i]`` (its sample's); its rank is that of the best-placed one (see the module's note).
    ``best`` on the result holds the gallery index of that item."""
    job = job or Job()
    query_owner, gallery_owner = np.asarray(query_owner), np.asarray(gallery_owner)
    n = len(queries)
    codes = label_codes(query_labels, gallery_labels)
    ranks, best = np.empty(n, np.int64), np.empty(n, np.int64)
    hit1 = np.empty(n) if codes is not None else None
    ap = np.empty(n) if codes is not None else None
    for start, block in similarity_blocks(queries, gallery, block_elements):
        stop = start + len(block)
        relevant = gallery_owner[None, :] == query_owner[start:stop, None]
        masked = np.where(relevant, block, -np.inf)
        pick = masked.argmax(axis=1)
        top = masked[np.arange(len(block)), pick]
        ahead = ((block >= top[:, None]) & ~relevant).sum(axis=1)
        ranks[start:stop] = np.where(np.isfinite(top), 1 + ahead, len(gallery))
        best[start:stop] = pick
        if codes is not None:
            hit1[start:stop], ap[start:stop] = label_scores(block, codes[0][start:stop], codes[1])
        job.check()
    ids = np.arange(n).astype(str).astype(object) if sample_ids is None else np.asarray(sample_ids)
    return Retrieval(names[0], names[1], ids, ranks, hit1, ap, None, best)


def caption_retrieval(table, pairs: Pairs, captions: CaptionRows, job=None) -> list[tuple]:
    """Retrieval ``pairs.a → pairs.b`` and back under the any-caption protocol: two ``(result, query
    rows, partner rows)``, the rows in the table: each query's, and the partner it is scored by (its
    best-placed caption, or its sample's image or sound)."""
    media_rows = pairs.rows_a if captions.side == "b" else pairs.rows_b
    media = pairs.a if captions.side == "b" else pairs.b
    own = np.arange(len(pairs))
    xm, xt = table.vectors[media_rows], table.vectors[captions.rows]
    lm, lt = table.label[media_rows], table.label[captions.rows]
    to_text = retrieve_any(xm, xt, own, captions.owner, query_labels=lm, gallery_labels=lt,
                           sample_ids=pairs.sample_ids, names=(media, "text"), job=job)
    to_media = retrieve_any(xt, xm, captions.owner, own, query_labels=lt, gallery_labels=lm,
                            sample_ids=pairs.sample_ids[captions.owner], names=("text", media), job=job)
    both = [(to_text, media_rows, captions.rows[to_text.best]), (to_media, captions.rows, media_rows[captions.owner])]
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
