"""The fusion lab on synthetic data with a known answer: Bayes posteriors, metrics against
scikit-learn, the combination rules, nested test-time draws, and re-scoring without training."""

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, log_loss

from mmstudio.analysis.common.classifier_metrics import ECE_BINS
from mmstudio.analysis.fusion import heads as fusion_heads
from mmstudio.analysis.fusion import missing as fusion_missing
from mmstudio.analysis.fusion import rules
from mmstudio.analysis.fusion.curves import gate_curve, robustness_curve
from mmstudio.analysis.fusion.data import FusionData, split_samples
from mmstudio.analysis.fusion.lab import METHODS, FusionLab, Knobs, parse_methods
from mmstudio.analysis.fusion.metrics import score_probabilities
from mmstudio.analysis.fusion.missing import make_draws
from mmstudio.analysis.fusion.ridge import fit_ridge

PRIOR = np.array([0.5, 0.3, 0.2])
MEANS = [np.array([[0.0, 0.0], [1.5, 0.0], [0.0, 1.5]]), np.array([[0.0, 0.0], [0.0, 1.2], [1.2, 1.2]])]
SIGMA = [1.0, 0.8]


def gaussian_world(n, seed=0):
    """Two modalities, conditionally independent given the class: x_m | y ~ N(μ_my, σ_m² I)."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=PRIOR)
    x = np.stack([MEANS[m][y] + SIGMA[m] * rng.normal(size=(n, 2)) for m in range(2)], axis=1)
    return x.astype(np.float32), y


def log_likelihood(x, m):
    """(n, K) log N(x_m | μ_mk, σ_m² I) up to a constant shared by the classes."""
    d = x[:, m, None, :] - MEANS[m][None]
    return -(d**2).sum(axis=2) / (2 * SIGMA[m] ** 2)


def bayes_log_posterior(x, modalities=(0, 1)):
    return rules.log_softmax(np.log(PRIOR) + sum(log_likelihood(x, m) for m in modalities))


@pytest.fixture(scope="module")
def gauss_lab():
    x, y = gaussian_world(4000)
    data = FusionData(("a", "b"), ("0", "1", "2"), np.arange(len(y)).astype(object), y, x, np.ones((len(y), 2), bool))
    return FusionLab.fit(data, seed=0)


def test_logit_sum_of_exact_experts_is_the_bayes_posterior():
    x, _ = gaussian_world(500, seed=1)
    experts = np.stack([bayes_log_posterior(x, (m,)) for m in range(2)], axis=1)
    present = np.ones((len(x), 2), bool)
    np.testing.assert_allclose(rules.logit_sum(experts, present, np.log(PRIOR)), bayes_log_posterior(x), atol=1e-10)
    # an absent expert drops out: what is left is that modality's posterior
    present[:, 1] = False
    np.testing.assert_allclose(rules.logit_sum(experts, present, np.log(PRIOR)), experts[:, 0], atol=1e-10)
    # averaging probabilities is not the posterior, and all-weights-one PoE is the logit sum
    assert np.abs(np.exp(rules.prob_average(experts, ~present | True, np.log(PRIOR))) -
                  np.exp(bayes_log_posterior(x))).max() > 0.05
    ones = np.ones((len(x), 2))
    np.testing.assert_allclose(rules.product_of_experts(experts, ones > 0, np.log(PRIOR), ones),
                               bayes_log_posterior(x), atol=1e-10)


def test_trained_late_logit_sum_matches_the_closed_form(gauss_lab):
    scores = gauss_lab.score()
    test = gauss_lab.split.test
    truth = np.exp(bayes_log_posterior(gauss_lab.data.vectors[test]))
    logit = np.exp(scores.log_prob["late-logit"])
    prob = np.exp(scores.log_prob["late-prob"])
    assert np.abs(logit - truth).mean() < 0.03
    assert np.abs(logit - truth).mean() < 0.5 * np.abs(prob - truth).mean()
    bayes_acc = float((truth.argmax(1) == gauss_lab.data.y[test]).mean())
    assert scores.methods["late-logit"].accuracy == pytest.approx(bayes_acc, abs=0.02)
    assert scores.methods["late-logit"].nll < scores.methods["late-prob"].nll
    assert scores.methods["late-logit"].accuracy > scores.best_single().accuracy


def test_metrics_match_scikit_learn():
    rng = np.random.default_rng(3)
    k = 4
    y = rng.choice(3, size=300)                      # class 3 never occurs in the truth
    logits = rng.normal(size=(300, k)) * 2
    logits[:, 2] -= 10                               # class 2 is never predicted
    logits[y == 0, 0] += 1.5
    lp = rules.log_softmax(logits)
    sc = score_probabilities("m", lp, y)
    prob = np.exp(lp)
    pred = prob.argmax(1)
    assert sc.accuracy == pytest.approx(float((pred == y).mean()))
    assert sc.macro_f1 == pytest.approx(f1_score(y, pred, average="macro", zero_division=0))
    assert sc.nll == pytest.approx(log_loss(y, prob, labels=list(range(k))))
    np.testing.assert_array_equal(sc.confusion, confusion_matrix(y, pred, labels=list(range(k))))
    conf, correct = prob.max(1), pred == y
    ece = 0.0
    for b in range(ECE_BINS):
        inside = (conf > b / ECE_BINS) & (conf <= (b + 1) / ECE_BINS)
        if inside.any():
            ece += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    assert sc.ece == pytest.approx(ece)
    assert sc.entropy == pytest.approx(float(-(prob * lp).sum(1).mean()))


def test_product_is_sharper_and_mixture_wider_than_the_experts():
    experts = rules.log_softmax(np.array([[[3.0, 0.0, 0.0], [2.0, 0.5, 0.0]], [[3.0, 0.0, 0.0], [0.0, 3.0, 0.0]]]))
    present, prior = np.ones((2, 2), bool), np.log(np.ones(3) / 3)
    h = rules.entropy(experts)
    poe, moe = rules.product_of_experts(experts, present, prior), rules.mixture_of_experts(experts, present, prior)
    full = rules.product_of_experts(experts, present, prior, np.ones(2))
    assert rules.entropy(full)[0] < h[0].min()           # agreeing experts at full weight: the product is surer
    assert rules.entropy(poe)[0] < rules.entropy(moe)[0]    # and the precision-weighted one surer than the mixture
    assert rules.entropy(moe)[1] > h[1].max()            # conflicting experts: the mixture is wider
    assert rules.disagreement(experts, present, prior)[1] > rules.disagreement(experts, present, prior)[0]
    agree = rules.agreement(experts, present)
    assert agree[0] > agree[1] and ((0 <= agree) & (agree <= 1)).all()


def test_gate_closes_on_disagreement_and_keeps_the_trusted_expert():
    experts = rules.log_softmax(np.array([[[4.0, 0.0], [0.0, 4.0]], [[4.0, 0.0], [3.0, 0.0]]]))
    present, prior = np.ones((2, 2), bool), np.log([0.5, 0.5])
    out, kept, is_open, _ = rules.gated(experts, present, prior, 0.5, np.array([0.6, 0.9]))
    assert is_open.tolist() == [False, True]
    assert kept.tolist() == [[False, True], [True, True]]
    assert out[0].argmax() == 1
    never, *_ = rules.gated(experts, present, prior, 0.0, np.array([0.6, 0.9]))
    np.testing.assert_allclose(never, rules.logit_sum(experts, present, prior))


def test_test_time_draws_are_nested_and_mismatch_borrows_another_sample():
    present = np.ones((200, 3), bool)
    present[::7, 1] = False
    vectors = np.random.default_rng(0).normal(size=(200, 3, 8)).astype(np.float32)
    draws = make_draws(present, 8, seed=5)
    zero = np.zeros(3)
    _, p3, _ = fusion_missing.apply_conditions(vectors, present, draws, np.full(3, 0.3), zero, zero)
    _, p6, _ = fusion_missing.apply_conditions(vectors, present, draws, np.full(3, 0.6), zero, zero)
    assert (p6 <= p3).all() and (p3 <= present).all() and p6.sum() < p3.sum()
    v, _, swapped = fusion_missing.apply_conditions(vectors, present, draws, zero, zero, np.ones(3))
    assert (swapped == present).all()
    assert (draws.partner[present[:, 1], 1] != np.flatnonzero(present[:, 1])).all()
    assert present[draws.partner[:, 1], 1].all()
    assert not np.isclose(v[swapped], vectors[swapped]).all(axis=1).any()


def test_cross_modal_imputation_recovers_a_linear_relation():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(500, 6))
    b = a @ rng.normal(size=(6, 6)) + 0.01 * rng.normal(size=(500, 6))
    vectors = np.stack([a, b], axis=1).astype(np.float32)
    present = np.ones((500, 2), bool)
    imp = fusion_missing.Imputer.fit(vectors[:400], present[:400])
    ridge = imp.maps[(1, (0,))]
    direct = fit_ridge(a[:400], b[:400])    # the same map fitted alone
    np.testing.assert_allclose(ridge.W, direct.W, rtol=1e-3, atol=1e-4)
    pred = ridge.predict(vectors[400:, 0])
    assert np.corrcoef(pred.ravel(), b[400:].ravel())[0, 1] > 0.99


def test_knob_changes_rescore_without_training(gauss_lab, monkeypatch):
    fits = gauss_lab.fits
    assert fits > 0 and "cross-attention" in gauss_lab.early and 0.5 in gauss_lab.dropout_heads

    def no_training(*args, **kwargs):
        raise AssertionError("a knob change trained something")

    for name in ("fit_softmax_many", "fit_adam_heads"):
        monkeypatch.setattr(fusion_heads, name, no_training)
    monkeypatch.setattr(fusion_missing.Imputer, "fit", no_training)
    seen = set()
    for knobs in (Knobs(missing={"a": 0.5}), Knobs(missing={"all": 0.4}, impute="dropout"),
                  Knobs(missing={"b": 0.7}, impute="cross-modal"), Knobs(missing={"a": 0.3}, impute="mean"),
                  Knobs(noise={"b": 1.0}, gate=0.8), Knobs(mismatch={"a": 0.5}, agreement="cosine"),
                  Knobs(trust="confidence", gate=0.9), Knobs(seed=3, noise={"all": 0.5})):
        scores = gauss_lab.score(knobs)
        assert set(scores.fusion) == set(METHODS)
        seen.add(round(scores.methods["early-linear"].accuracy, 6))
    robustness_curve(gauss_lab, "noise", "a", levels=[0, 0.5, 1.0])
    gate_curve(gauss_lab, [0.2, 0.8])
    assert gauss_lab.fits == fits and len(seen) > 3


def test_curves_are_bounded_and_monotone_where_they_must_be(gauss_lab):
    curve = robustness_curve(gauss_lab, "missing", "all")
    assert (np.diff(curve.present_rate) <= 0).all() and curve.present_rate[-1] == 0
    for name, values in curve.values.items():
        assert 0 <= curve.area(name) <= 1
        assert values[-1] < values[0]
        assert np.diff(values).max() < 0.03, name           # nested masks: down, up to sampling noise
        assert curve.effective(name)[0] == 0
    np.testing.assert_allclose(curve.effective("late-logit"), 0)
    fused = [v[-1] for k, v in curve.values.items() if k in METHODS and k not in ("early-linear", "early-mlp",
                                                                                  "cross-attention")]
    assert np.ptp(fused) == 0                                 # nothing left: every late method says the prior
    noise = robustness_curve(gauss_lab, "noise", "b", levels=[0, 0.5, 1, 2])
    assert 0 < noise.relative("late-logit") <= 1 and noise.values["a-only"].tolist() == [noise.values["a-only"][0]] * 4
    gate = gate_curve(gauss_lab, np.linspace(0, 1, 6))
    assert gate["gate_open_rate"][0] == 1 and (np.diff(gate["gate_open_rate"]) <= 0).all()
    d = curve.to_dict()
    assert d["summary"]["late-logit"]["effective"] == 0 and len(d["levels"]) == 11


def test_bad_settings_say_what_is_wrong(gauss_lab):
    with pytest.raises(ValueError, match="unknown modality 'c'"):
        gauss_lab.score(Knobs(missing={"c": 0.5}))
    with pytest.raises(ValueError, match="between 0 and 1"):
        gauss_lab.score(Knobs(missing={"a": 1.5}))
    with pytest.raises(ValueError, match="impute must be one of"):
        gauss_lab.score(Knobs(impute="magic"))
    with pytest.raises(ValueError, match="unknown method"):
        parse_methods("early-linear,telepathy")
    assert parse_methods("gated, late-logit") == ("late-logit", "gated")
    assert parse_methods("early,late") == ("early-linear", "early-mlp", "late-logit", "late-prob")
    with pytest.raises(ValueError, match="too few samples"):
        split_samples(np.array([0, 1]), test=0.1)


def test_missing_at_training_time_and_a_method_subset():
    x, y = gaussian_world(600, seed=4)
    present = np.ones((600, 2), bool)
    present[::3, 1] = False
    x[~present] = 0
    data = FusionData(("a", "b"), ("0", "1", "2"), np.arange(600).astype(object), y, x, present)
    lab = FusionLab.fit(data, methods="late-logit,early-linear", dropout=0, train_missing={"a": 0.2})
    scores = lab.score()
    assert set(scores.fusion) == {"early-linear", "late-logit"} and lab.fits == 2 + 1 + 1   # experts, head, maps
    assert scores.present_rate["b"] == pytest.approx(2 / 3, abs=0.05)
    with pytest.raises(ValueError, match="no dropout-trained heads"):
        lab.score(Knobs(impute="dropout"))
    lab.train_dropout(0.3)
    assert lab.fits == 5 and lab.score(Knobs(impute="dropout")).methods["early-linear"].accuracy > 0.5


def test_every_late_method_has_one_rule_in_the_registry():
    from mmstudio.analysis.fusion.knobs import LATE
    from mmstudio.analysis.fusion.lab import LATE_RULES

    assert set(LATE_RULES) == set(LATE)
