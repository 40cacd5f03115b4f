"""One set of classifier scores for the fusion lab and the principles, checked against scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import log_loss

from mmstudio.analysis.common.classifier_metrics import ece, nll, reliability
from mmstudio.analysis.fusion.metrics import score_probabilities


def test_a_zero_probability_on_the_true_class_costs_what_log_loss_says_in_both_families():
    prob = np.array([[1.0, 0.0], [0.3, 0.7], [0.5, 0.5]])
    y = np.array([1, 1, 0])
    expected = log_loss(y, prob, labels=[0, 1])
    assert nll(prob, y) == pytest.approx(expected, rel=1e-12)
    assert nll(prob[:1], y[:1]) == pytest.approx(-np.log(np.finfo(np.float64).eps))   # 36.04 nats
    with np.errstate(divide="ignore"):
        lab = score_probabilities("m", np.log(prob), y)    # the fusion lab's scores
    assert lab.nll == pytest.approx(expected, rel=1e-12)


def test_ece_bins_are_right_closed_and_match_a_direct_count():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(500, 4)) * 2
    prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    prob[0] = [1 / 3, 1 / 3, 1 / 3, 0]        # a confidence on a bin edge (5/15) goes to the lower bin
    y = rng.integers(0, 4, 500)
    conf, hit = prob.max(axis=1), prob.argmax(axis=1) == y
    direct = 0.0
    for b in range(15):
        lo, hi = b / 15, (b + 1) / 15
        inside = (conf > lo) & (conf <= hi) if b else (conf <= hi)
        if inside.any():
            direct += inside.sum() / len(y) * abs(hit[inside].mean() - conf[inside].mean())
    assert ece(prob, y) == pytest.approx(direct, abs=1e-12)
    assert reliability(prob, y)["count"][4] >= 1 and reliability(prob, y)["count"].sum() == 500
