"""Combining per-modality experts: logit sum, probability average, product and mixture of
experts, and the agreement gate.

Every rule takes the experts' log-posteriors ``log_post`` (n × M × K, log p(y | x_m)), a
``present`` mask (n × M; an absent expert simply drops out) and the class prior. Conventions:

- **logit sum** (late fusion): under conditional independence of the modalities given the
  class, Bayes' rule gives ``p(y | x_1..x_M) ∝ p(y) · Π_m p(y | x_m) / p(y)``, i.e. the sum of
  the experts' log-posteriors with the log-prior counted once (:func:`logit_sum`). Exact.
- **probability average** (:func:`prob_average`): the uniform mixture ``mean_m p(y | x_m)``.
- **product of experts** (:func:`product_of_experts`): the generalised product of Cao & Fleet
  (2014), ``p ∝ p(y) Π_m (p(y | x_m) / p(y))^{α_m(x)}``, each expert weighted per sample by its
  *precision* in the categorical sense, the share of the prior's entropy it removes:
  ``α_m = clip(1 − H(p_m) / H(prior), 0, 1)`` (:func:`expert_weights`). A sure expert counts
  fully (all α = 1 is the logit sum), one as unsure as the prior not at all.
- **mixture of experts** (:func:`mixture_of_experts`): ``Σ_m α_m p(y | x_m) / Σ_m α_m`` with the
  same weights: the same experts and reliabilities, multiplied vs averaged. The product is
  sharper than its experts where they agree and follows the surest where they conflict; the
  mixture keeps every expert's mass, so its entropy grows with their disagreement, reported
  as the mixture's *disagreement* (its entropy minus the weighted mean of the experts').
- **agreement** (:func:`agreement`): 1 − the generalised Jensen–Shannon divergence of the
  present experts divided by its maximum, log min(M, K) (``"js"``), or the smallest pairwise
  cosine of their probability vectors (``"cosine"``); 1 when fewer than two experts are present.
- **gate** (:func:`gated`): where the present experts agree (agreement ≥ threshold) the gate is
  *open* and their logit sum is used. Where they do not, it falls back to the more trustworthy
  modalities: the least trusted expert is dropped, again until the rest agree or one is left
  (with two modalities: the more trustworthy one alone), and the rest are summed. Trust is a
  per-modality score (validation accuracy) or, per sample, the confidence (max p).
"""

from __future__ import annotations

import numpy as np

from mmstudio.analysis.common.classifier_metrics import log_softmax, softmax  # noqa: F401 (rules.softmax)

TINY = 1e-300


def _shift(log_post, present, log_prior):
    """Each present expert's log-likelihood ratio log p(y|x_m) − log p(y); zero where absent."""
    return np.where(present[:, :, None], log_post - log_prior, 0.0)


def logit_sum(log_post: np.ndarray, present: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
    """Log-posterior of the Bayes combination (prior counted once) over the present experts."""
    return log_softmax(log_prior + _shift(log_post, present, log_prior).sum(axis=1))


def entropy(log_p: np.ndarray) -> np.ndarray:
    """Entropy (nats) of each row of a log-probability matrix."""
    return -(np.exp(log_p) * log_p).sum(axis=-1)


def expert_weights(log_post, present, log_prior) -> np.ndarray:
    """(n, M) per-sample expert weights α = clip(1 − H(p_m)/H(prior), 0, 1); 0 where absent."""
    h_prior = float(-(np.exp(log_prior) * log_prior).sum())
    alpha = np.clip(1.0 - entropy(log_post) / max(h_prior, 1e-12), 0.0, 1.0)
    return np.where(present, alpha, 0.0)


def product_of_experts(log_post, present, log_prior, weights=None) -> np.ndarray:
    """Log-posterior of ``p(y) Π_m (p(y|x_m)/p(y))^{w_m}`` over the present experts.

    ``weights``: (n, M) or (M,); default the per-sample precisions of :func:`expert_weights`."""
    w = expert_weights(log_post, present, log_prior) if weights is None else np.broadcast_to(weights, present.shape)
    s = _shift(log_post, present, log_prior)
    return log_softmax(log_prior + np.einsum("nmk,nm->nk", s, w))


def prob_average(log_post, present, log_prior) -> np.ndarray:
    """Log of the mean of the present experts' probabilities (the prior where none is present)."""
    return mixture_of_experts(log_post, present, log_prior, np.ones(log_post.shape[1]))


def mixture_of_experts(log_post, present, log_prior, weights=None) -> np.ndarray:
    """Log of ``Σ_m w_m p(y|x_m) / Σ_m w_m`` over the present experts (the prior where none is).

    ``weights``: (n, M) or (M,); default the per-sample precisions of :func:`expert_weights` (where
    they are all 0, the plain average)."""
    w = expert_weights(log_post, present, log_prior) if weights is None else np.broadcast_to(weights, present.shape)
    w = present * (np.asarray(w, np.float64) + 1e-9)
    total = w.sum(axis=1, keepdims=True)
    none = total[:, 0] <= 0
    mix = np.einsum("nm,nmk->nk", w / np.where(total > 0, total, 1.0), np.exp(log_post))
    out = np.log(np.maximum(mix, TINY))
    if none.any():
        out[none] = log_prior
    return out


def disagreement(log_post, present, log_prior, weights=None, mixture=None) -> np.ndarray:
    """Per sample: the entropy of the mixture minus the weighted mean entropy of its experts (≥ 0).

    ``weights``/``mixture``: the expert weights and the mixture's log-posterior if already computed."""
    w = expert_weights(log_post, present, log_prior) if weights is None else weights
    mix = mixture_of_experts(log_post, present, log_prior, w) if mixture is None else mixture
    w = present * (w + 1e-9)
    w = w / np.maximum(w.sum(axis=1, keepdims=True), TINY)
    return np.maximum(entropy(mix) - (w * entropy(log_post)).sum(axis=1), 0.0)


def agreement(log_post, present, kind: str = "js") -> np.ndarray:
    """How much the present experts agree, in [0, 1] (1 = identical, or fewer than two experts)."""
    n, m, k = log_post.shape
    count = present.sum(axis=1)
    p = np.exp(log_post) * present[:, :, None]
    if kind == "js":
        mean = p.sum(axis=1) / np.maximum(count, 1)[:, None]
        h_mean = -(mean * np.log(np.maximum(mean, TINY))).sum(axis=1)
        h_each = (entropy(log_post) * present).sum(axis=1) / np.maximum(count, 1)
        top = np.log(np.maximum(np.minimum(count, k), 2))
        out = 1.0 - np.clip((h_mean - h_each) / top, 0.0, 1.0)
    elif kind == "cosine":
        unit = p / np.maximum(np.linalg.norm(p, axis=2, keepdims=True), TINY)
        cos = np.einsum("nak,nbk->nab", unit, unit)
        both = present[:, :, None] & present[:, None, :] & ~np.eye(m, dtype=bool)[None]
        out = np.where(both, cos, np.inf).min(axis=(1, 2))
        out = np.clip(np.where(np.isfinite(out), out, 1.0), 0.0, 1.0)
    else:
        raise ValueError(f"agreement must be 'js' or 'cosine', not {kind!r}")
    return np.where(count >= 2, out, 1.0)


def gated(log_post, present, log_prior, threshold: float, trust, agreement_kind: str = "js"):
    """The gated fusion: (log-posterior, experts kept (n × M), gate open per sample, agreement per sample).

    ``trust``: an (M,) score per modality (higher = more trusted) or ``"confidence"`` (per sample,
    each expert's top probability)."""
    m = present.shape[1]
    if isinstance(trust, str):
        if trust != "confidence":
            raise ValueError(f"trust must be per-modality scores or 'confidence', not {trust!r}")
        score = log_post.max(axis=2)
    else:
        score = np.broadcast_to(np.asarray(trust, np.float64)[None, :], present.shape)
    keep = present.copy()
    agree = first = agreement(log_post, keep, agreement_kind)
    for _ in range(m - 1):
        closing = (agree < threshold) & (keep.sum(axis=1) >= 2)
        if not closing.any():
            break
        worst = np.where(keep, score, np.inf).argmin(axis=1)
        rows = np.flatnonzero(closing)
        keep[rows, worst[rows]] = False
        agree = agreement(log_post, keep, agreement_kind)
    is_open = (keep == present).all(axis=1)
    return logit_sum(log_post, keep, log_prior), keep, is_open, first
