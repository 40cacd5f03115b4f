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
:func:`contrastive_losses` gives all five numbers of ``mmstudio align`` at once: on small sets from the
functions below, on large ones from two compiled scans (a → b and b → a,
:mod:`mmstudio.analysis.alignment.chunked`), and above a size on a seeded sample of anchors, each still
against every row (:mod:`mmstudio.analysis.alignment.scope`), with 95 % intervals. Each anchor's terms are
then its own exact ones: InfoNCE is ½ (mean over a's rows of their row term + mean over b's rows of
theirs), so the per-anchor value ½ (row term of a_i + row term of b_i) averages to it.
"""

from __future__ import annotations

import numpy as np

from mmstudio.analysis.alignment.retrieval import BLOCK_ELEMENTS, DENSE_ELEMENTS, normalise, similarity_blocks
from mmstudio.analysis.alignment.scope import Scope, mean_interval

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


LOSSES = ("info_nce", "triplet_hardest_ab", "triplet_hardest_ba", "triplet_semihard_ab", "triplet_semihard_ba")


def contrastive_losses(a, b, temperature: float = TEMPERATURE, margin: float = MARGIN, *, scope: Scope | None = None,
                       method: str = "auto", block_elements: int = BLOCK_ELEMENTS, job=None) -> dict:
    """InfoNCE and the triplet losses both ways (the keys of ``LOSSES``), and ``scope`` (which anchors; see
    :mod:`.scope`) with ``intervals`` (loss → [low, high]) when they are a sample. ``method``: ``"dense"``
    (the functions above), ``"chunked"`` or ``"auto"`` (dense up to ``DENSE_ELEMENTS`` similarities)."""
    n = len(a)
    if n < 2 or len(b) != n:
        raise ValueError(f"need at least two pairs of rows, not {len(a)} and {len(b)}")
    scope = scope or Scope(n)
    if not scope.sampled and (method == "dense" or (method == "auto" and n * n <= DENSE_ELEMENTS)):
        out = {"info_nce": info_nce(a, b, temperature),
               "triplet_hardest_ab": triplet_loss(a, b, margin, "hardest"),
               "triplet_hardest_ba": triplet_loss(b, a, margin, "hardest"),
               "triplet_semihard_ab": triplet_loss(a, b, margin, "semihard"),
               "triplet_semihard_ba": triplet_loss(b, a, margin, "semihard")}
        out["scope"] = scope.to_dict(noun="pairs")
        return out
    from mmstudio.analysis.alignment.chunked import scan

    rows = np.arange(n) if scope.rows is None else scope.rows
    ua, ub = normalise(a), normalise(b)
    terms = [scan(q[rows], g, rows, np.arange(n), temperature=temperature, tile_elements=block_elements, job=job)
             for q, g in ((ua, ub), (ub, ua))]
    both = [{name: getattr(t, name) for name in ("partner", "lse", "neg_max", "neg_min", "semi_max")} for t in terms]
    return losses_from_terms(*both, temperature, margin, scope, terms[0].rows)


def losses_from_terms(ab: dict, ba: dict, temperature: float, margin: float, scope: Scope, block=None) -> dict:
    """:func:`contrastive_losses` from each scored pair's terms both ways (a's rows as anchors against all
    of b, and b's against all of a: ``partner``, ``lse`` at ``temperature``, ``neg_max``, ``neg_min``,
    ``semi_max`` from :func:`mmstudio.analysis.alignment.chunked.scan`), for the pairs of ``scope``."""
    values = {}
    for side, t in (("ab", ab), ("ba", ba)):
        p = t["partner"].astype(np.float64)
        semi = np.where(np.isfinite(t["semi_max"]), t["semi_max"], t["neg_min"]).astype(np.float64)
        values[f"nce_{side}"] = t["lse"] - p / temperature
        values[f"triplet_hardest_{side}"] = np.maximum(0.0, 2 * (t["neg_max"] - p) + margin)
        values[f"triplet_semihard_{side}"] = np.maximum(0.0, 2 * (semi - p) + margin)
    values["info_nce"] = 0.5 * (values.pop("nce_ab") + values.pop("nce_ba"))
    out = {name: float(values[name].mean()) for name in LOSSES}
    out["scope"] = scope.to_dict(block, "pairs")
    if scope.sampled:
        out["intervals"] = {name: mean_interval(values[name], scope.total, low=0.0) for name in LOSSES}
    return out
