"""The any-caption retrieval protocol written out plainly, to check mmstudio's against: per sample its
image (or sound) and every caption, each query's gallery sorted by similarity with the items of other
samples first among equals (ties count against the query), the rank being where its first relevant
item lands."""

import numpy as np


def reference_ranks(table, media: str = "image"):
    """``(media → text ranks, text → media ranks, sample of each text query)`` over the samples that have
    a ``media`` row and at least one caption; a sample's media row is its first, its captions every
    text row (by caption_index)."""
    index = table.columns.get("caption_index")
    media_row, captions = {}, {}
    for row in range(len(table)):
        sid, mod = table.sample_id[row], table.modality[row]
        if mod == media:
            media_row.setdefault(sid, row)
        elif mod == "text":
            k = 0 if index is None or np.isnan(index[row]) else int(index[row])
            captions.setdefault(sid, []).append((k, row))
    samples = [sid for sid in media_row if sid in captions]
    v = table.vectors.astype(np.float64)
    v /= np.linalg.norm(v, axis=1, keepdims=True)

    def cos(i, j):
        return float(v[i] @ v[j])

    texts = [(sid, row) for sid in samples for _, row in sorted(captions[sid])]
    to_text = []
    for sid in samples:
        ordered = sorted(texts, key=lambda t: (-cos(media_row[sid], t[1]), t[0] == sid))
        to_text.append(1 + next(k for k, t in enumerate(ordered) if t[0] == sid))
    to_media = []
    for sid, row in texts:
        ordered = sorted(samples, key=lambda other: (-cos(row, media_row[other]), other == sid))
        to_media.append(1 + ordered.index(sid))
    return np.array(to_text), np.array(to_media), [sid for sid, _ in texts]


def summary(ranks) -> dict:
    """R@1/5/10, median and mean rank of a list of ranks."""
    ranks = np.asarray(ranks)
    return {"R@1": float(np.mean(ranks <= 1)), "R@5": float(np.mean(ranks <= 5)), "R@10": float(np.mean(ranks <= 10)),
            "median_rank": float(np.median(ranks)), "mean_rank": float(np.mean(ranks)), "n": len(ranks)}
