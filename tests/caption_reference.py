"""The any-caption retrieval protocol written out plainly, to check mmstudio's against: per sample its
image (or sound) and every caption, each query's gallery sorted by similarity with the items of other
samples first among equals (ties count against the query), the rank being where its first relevant
item lands."""

import numpy as np

from mmstudio.core.tables.table import EmbeddingTable


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


def _pool(dim: int) -> np.ndarray:
    """Unit vectors whose similarities are exact in any float order: one ±1, or four ±0.5 (0, ±1/4, ±1/2…)."""
    out = [np.eye(dim)[i] * s for i in range(dim) for s in (1, -1)]
    for i in range(dim):
        v = np.zeros(dim)
        v[[i, (i + 1) % dim, (i + 2) % dim, (i + 4) % dim]] = 0.5 * np.array([1, -1, 1, 1])
        out.append(v)
    return np.array(out)


def tiny_table(seed: int, n: int = 12, dim: int = 6) -> EmbeddingTable:
    """``n`` samples, each an image and 1–5 captions, drawn from a few directions (exact ties across
    samples, a caption equal to its image, captions equal to each other), one sample without a
    picture, rows shuffled."""
    rng = np.random.default_rng(seed)
    pool = _pool(dim)
    centre = rng.integers(0, len(pool), n)

    def draw(i):
        return pool[centre[i]] if rng.random() < 0.5 else pool[rng.integers(len(pool))]

    ids, modality, index, vectors = [], [], [], []
    for i in range(n):
        if i != n - 1:   # the last sample has captions only: it is no query and no gallery item
            ids.append(f"s{i}"), modality.append("image"), index.append(np.nan), vectors.append(draw(i))
        for k in range(int(rng.integers(1, 6))):
            ids.append(f"s{i}"), modality.append("text"), index.append(k), vectors.append(draw(i))
    order = rng.permutation(len(ids))
    pick = lambda values: [values[j] for j in order]  # noqa: E731
    return EmbeddingTable(pick(ids), pick(modality), [None] * len(ids), [None] * len(ids),
                          np.array(vectors, np.float32)[order], {"caption_index": np.array(pick(index), float)})
