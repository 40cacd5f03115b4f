"""Scores of a probabilistic classifier, written once for the fusion lab and the principles.

- accuracy; the confusion matrix (rows: true class, columns: predicted); macro-F1 over the classes
  that occur in the truth or the predictions (as scikit-learn's ``f1_score(average="macro")``, an
  undefined F1 counting 0);
- NLL: mean −log p(true class) in nats, probabilities clipped to [eps, 1 − eps] with float64's eps
  (as scikit-learn's ``log_loss``: a zero probability on the true class costs 36.04 nats);
- reliability and the expected calibration error (Guo et al. 2017): 15 equal-width bins of the
  confidence (the top probability; bin ``b`` holds confidences in (b/15, (b+1)/15], a confidence
  of 0 in the first), ``ECE = Σ_b |B_b|/n · |accuracy_b − confidence_b|``;
"""

from __future__ import annotations

import numpy as np

ECE_BINS = 15
EPS = np.finfo(np.float64).eps


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    z = z - z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def accuracy(prob: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(prob, axis=1) == y))


def confusion(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    return np.bincount(y * n_classes + pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def macro_f1_from_confusion(cm: np.ndarray) -> float:
    tp = np.diag(cm).astype(np.float64)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    seen = (support + predicted) > 0
    denom = support + predicted
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    return float(f1[seen].mean()) if seen.any() else 0.0


def nll(prob: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class, in nats."""
    p = np.clip(np.asarray(prob, np.float64)[np.arange(len(y)), y], EPS, 1 - EPS)
    return float(-np.log(p).mean())


def reliability(prob: np.ndarray, y: np.ndarray, bins: int = ECE_BINS) -> dict:
    """Per confidence bin: mean confidence, accuracy and count (NaN where empty), and the ECE."""
    conf = prob.max(axis=1)
    hit = (np.argmax(prob, axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.searchsorted(edges[1:-1], conf)        # (b/bins, (b+1)/bins] → b
    count = np.bincount(which, minlength=bins).astype(np.float64)
    conf_sum = np.bincount(which, weights=conf, minlength=bins)
    hit_sum = np.bincount(which, weights=hit, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf, mean_acc = conf_sum / count, hit_sum / count
    return {"confidence": mean_conf, "accuracy": mean_acc, "count": count,
            "ece": float(np.abs(hit_sum - conf_sum).sum() / max(len(y), 1))}


def ece(prob: np.ndarray, y: np.ndarray, bins: int = ECE_BINS) -> float:
    return reliability(prob, y, bins)["ece"]

