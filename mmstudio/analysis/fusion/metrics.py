"""Scores of a fusion method on held-out data, and of robustness curves.

A method's scores (:class:`MethodScore`) are accuracy, macro-F1, NLL, ECE and the confusion
matrix of :mod:`mmstudio.analysis.common.classifier_metrics` (the principles score with the same
definitions), and the mean predictive entropy (nats), the combined uncertainty.

Robustness curves (metric against a corruption level): :func:`curve_area` is the area under
the curve divided by the level range (the mean metric over the levels, in [0, 1] for a metric
in [0, 1]); *relative robustness* is that area divided by the clean (first-level) value.
:func:`effective_robustness` is the method's metric above a baseline's curve shifted to the
same clean value: ``(m(l) − m(l₀)) − (b(l) − b(l₀))``, so 0 at the clean level, positive where
the method degrades more slowly than the baseline (Taori et al. 2020 measure it against a fit
over many models; here the baseline is one method, by default late fusion by logit sum).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.common.classifier_metrics import confusion, ece, macro_f1_from_confusion, nll


@dataclass
class MethodScore:
    """One method's scores on the held-out split under one setting of the knobs."""

    method: str
    accuracy: float
    macro_f1: float
    nll: float
    ece: float
    entropy: float                        # mean predictive entropy (nats)
    confusion: np.ndarray                 # (K, K) int, rows = true class
    gate_open_rate: float | None = None   # gated fusion only
    contribution: dict = field(default_factory=dict)  # modality → accuracy drop when it is removed
    extra: dict = field(default_factory=dict)         # e.g. cross-attention weights, PoE/MoE weights

    def to_dict(self) -> dict:
        return {"method": self.method, "accuracy": self.accuracy, "macro_f1": self.macro_f1, "nll": self.nll,
                "ece": self.ece, "entropy": self.entropy, "confusion": self.confusion.tolist(),
                "gate_open_rate": self.gate_open_rate, "contribution": dict(self.contribution),
                "extra": {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.extra.items()}}


def score_probabilities(method: str, log_prob: np.ndarray, y: np.ndarray) -> MethodScore:
    """All scores of one method from its log-probabilities (n × K) and the true classes."""
    prob = np.exp(log_prob)
    pred = log_prob.argmax(axis=1)
    k = log_prob.shape[1]
    cm = confusion(y, pred, k)
    return MethodScore(method, float((pred == y).mean()), macro_f1_from_confusion(cm), nll(prob, y), ece(prob, y),
                       float(-(prob * log_prob).sum(axis=1).mean()), cm)


def curve_area(levels, values) -> float:
    """Area under ``values`` against ``levels`` divided by the level range (trapezoids)."""
    levels, values = np.asarray(levels, np.float64), np.asarray(values, np.float64)
    span = levels[-1] - levels[0]
    if len(levels) < 2 or span <= 0:
        return float(values[0])
    return float(np.sum((values[1:] + values[:-1]) * np.diff(levels)) / 2 / span)


def relative_robustness(levels, values) -> float:
    clean = float(values[0])
    return curve_area(levels, values) / clean if clean > 0 else float("nan")


def effective_robustness(values, baseline) -> np.ndarray:
    """Per level: the method's metric above the baseline's curve shifted to the same clean value."""
    values, baseline = np.asarray(values, np.float64), np.asarray(baseline, np.float64)
    return (values - values[0]) - (baseline - baseline[0])
