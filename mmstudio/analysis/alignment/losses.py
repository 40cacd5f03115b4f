"""Contrastive losses evaluated on a whole paired set, as plain numbers to compare models by.

Both sides are L2-normalised first (rows ``a[i]`` and ``b[i]`` are a pair).

- **Symmetric InfoNCE** (CLIP): with logits ``S = a bᵀ / τ``,
  ``½ [ −mean_i log softmax_j(S)[i, i] − mean_j log softmax_i(S)[j, j] ]``.
- **Triplet loss** (FaceNet, Schroff et al. 2015): anchors ``a[i]``, positive ``b[i]``, negatives
  ``b[j]`` (j ≠ i), squared Euclidean distances on the unit sphere (= 2 − 2 cos), per anchor
  ``max(0, d(a, p) − d(a, n) + margin)``, averaged over anchors.
  ``negatives="hardest"``: n is the closest negative.
  ``negatives="semihard"``: n is the closest negative *farther than the positive*
  (d(a, p) < d(a, n), FaceNet's semi-hard triplets; the loss is non-zero only when it also lies
  inside the margin); an anchor with no such negative takes its farthest negative (as
  TensorFlow Addons' ``triplet_semihard_loss`` does).

Rows are processed in blocks, so large sets never hold the whole similarity matrix.
"""

from __future__ import annotations

import numpy as np

from mmstudio.analysis.alignment.retrieval import BLOCK_ELEMENTS, similarity_blocks

TEMPERATURE = 0.07
MARGIN = 0.2


def _logsumexp(x, axis: int) -> np.ndarray:
    top = x.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis=axis) + np.log(np.sum(np.exp(x - top), axis=axis))


def info_nce(a, b, temperature: float = TEMPERATURE, block_elements: int = BLOCK_ELEMENTS // 2) -> float:
    """Symmetric InfoNCE of paired rows at temperature τ (natural log, mean over pairs)."""
    n = len(a)
    if n == 0 or len(b) != n:
        raise ValueError(f"need the same number of paired rows on both sides, not {len(a)} and {len(b)}")
    row_terms = np.empty(n)
    diag = np.empty(n)
    col_lse = np.full(n, -np.inf)
    for start, block in similarity_blocks(a, b, block_elements):
        logits = block.astype(np.float64) / temperature
        rows = np.arange(len(block))
        diag[start:start + len(block)] = logits[rows, start + rows]
        row_terms[start:start + len(block)] = _logsumexp(logits, axis=1)
        col_lse = np.logaddexp(col_lse, _logsumexp(logits, axis=0))
    return float(0.5 * (np.mean(row_terms - diag) + np.mean(col_lse - diag)))


def triplet_loss(anchors, positives, margin: float = MARGIN, negatives: str = "hardest",
                 block_elements: int = BLOCK_ELEMENTS) -> float:
    """FaceNet triplet loss with one mined negative per anchor (``"hardest"`` or ``"semihard"``)."""
    if negatives not in ("hardest", "semihard"):
        raise ValueError(f"negatives must be 'hardest' or 'semihard', not {negatives!r}")
    n = len(anchors)
    if n < 2 or len(positives) != n:
        raise ValueError(f"need at least two pairs of rows, not {len(anchors)} and {len(positives)}")
    losses = np.empty(n)
    for start, block in similarity_blocks(anchors, positives, block_elements):
        dist = 2.0 - 2.0 * block.astype(np.float64)
        rows = np.arange(len(block))
        d_ap = dist[rows, start + rows]
        dist[rows, start + rows] = np.nan  # not a negative
        if negatives == "hardest":
            d_an = np.nanmin(dist, axis=1)
        else:
            farther = np.where(dist > d_ap[:, None], dist, np.inf)
            d_an = farther.min(axis=1)
            none = ~np.isfinite(d_an)
            d_an[none] = np.nanmax(dist[none], axis=1)
        losses[start:start + len(block)] = np.maximum(0.0, d_ap - d_an + margin)
    return float(losses.mean())
