"""The principles engine: each textbook principle shows the numbers a user should see, checked
against closed forms and scipy / scikit-learn where a reference exists, on ±1 toy data and on
a small demo world (400 scenes, built once for the module)."""

import json

import numpy as np
import pytest
from scipy import stats

from mmstudio.__main__ import COMMANDS, main
from mmstudio.analysis.common.classifier_metrics import nll, softmax
from mmstudio.analysis.common.pairing import paired
from mmstudio.analysis.principles import registry as principles
from mmstudio.analysis.principles.complementarity import complementarity, emap, toy_xor, xor_pm1
from mmstudio.analysis.principles.dominance import dominance, ogm_coefficients
from mmstudio.analysis.principles.fit import fit_logistic, heldout_cross_entropy
from mmstudio.analysis.principles.late_fusion import late_fuse, late_fusion
from mmstudio.analysis.principles.poe_moe import poe_moe
from mmstudio.analysis.principles.redundancy import redundancy
from mmstudio.analysis.principles.sample_complexity import sample_complexity
from mmstudio.demo.table import demo_table

SCENES, SEED = 400, 7


@pytest.fixture(scope="module")
def demo_folder(demo_world_folder):
    """The session's demo world (tests/analysis/conftest.py: 400 scenes, seed 7, built once for every module)."""
    return demo_world_folder


@pytest.fixture(scope="module")
def demo(demo_folder):
    return demo_table(n=SCENES, seed=SEED, folder=demo_folder)  # read back from the folder


def majority(table, task) -> float:
    y = paired(table, task).y
    return np.bincount(y).max() / len(y)


# --- product vs mixture of experts ------------------------------------------------------------
@pytest.mark.parametrize("means, variances, weights", [
    ((-1.0, 2.0), (1.0, 0.5), None),
    ((0.0, 3.0), (2.0, 0.3), (0.2, 0.8)),
    ((-2.0, 0.5, 4.0), (0.7, 1.5, 1.0), (0.5, 0.3, 0.2)),
])
def test_poe_and_moe_variances_follow_the_formulas(means, variances, weights):
    r = poe_moe(means, variances, weights)
    mu, var = np.array(means), np.array(variances)
    w = np.full(len(mu), 1 / len(mu)) if weights is None else np.array(weights)
    # closed forms: 1/σ² = Σ 1/σᵢ², μ = σ² Σ μᵢ/σᵢ²; mixture variance = Σ wᵢ(σᵢ² + μᵢ²) − μ²
    assert r.poe_variance == pytest.approx(1 / (1 / var).sum())
    assert r.poe_mean == pytest.approx(r.poe_variance * (mu / var).sum())
    assert r.moe_mean == pytest.approx((w * mu).sum())
    assert r.moe_variance == pytest.approx((w * (var + mu ** 2)).sum() - (w * mu).sum() ** 2)
    # the plotted densities: experts are scipy's normal pdfs, and the curves' own moments match
    for density, m, v in zip(r.expert_density, mu, var):
        np.testing.assert_allclose(density, stats.norm.pdf(r.grid, m, np.sqrt(v)), rtol=1e-10, atol=1e-300)
    for density, mean, variance in ((r.poe_density, r.poe_mean, r.poe_variance),
                                    (r.moe_density, r.moe_mean, r.moe_variance)):
        assert np.trapezoid(density, r.grid) == pytest.approx(1, abs=1e-6)
        assert np.trapezoid(density * r.grid, r.grid) == pytest.approx(mean, abs=1e-5)
        assert np.trapezoid(density * (r.grid - mean) ** 2, r.grid) == pytest.approx(variance, rel=1e-4)
    # the product is narrower than every expert; the mixture wider than every one of these
    assert r.poe_variance < var.min()
    assert r.moe_variance > var.max()
    assert "narrower" in r.statement and "wider" in r.statement


def test_poe_moe_refuses_bad_experts(capsys):
    with pytest.raises(ValueError, match="positive"):
        poe_moe((0.0, 1.0), (1.0, -1.0))
    assert "principles" in COMMANDS  # else main() would open the window on these arguments
    assert main(["principles", "poe-moe", "--variances", "1,0"]) == 2
    assert "positive" in capsys.readouterr().err


# --- complementarity ----------------------------------------------------------------------------
def test_xor_additive_model_at_chance_interaction_model_solves_it():
    toy = toy_xor(seed=0)
    acc = toy["accuracy"]
    assert acc["additive"] == pytest.approx(0.5, abs=0.06)
    assert acc["interaction"] >= 0.99
    assert acc["interaction_emap"] == pytest.approx(0.5, abs=0.06)  # its additive part cannot do XOR
    # the plotted surfaces: flat for the additive model, a saddle for the interaction model
    assert np.ptp(toy["surface_additive"]) < 0.05
    assert toy["surface_interaction"].min() < 0.05 and toy["surface_interaction"].max() > 0.95


def test_logistic_fits_match_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    x, y = xor_pm1(400, 0.3, rng)
    features = np.column_stack([x, x[:, 0] * x[:, 1]])
    l2 = 1e-4
    ours = fit_logistic(features, y, l2=l2)
    ref = LogisticRegression(C=1 / (l2 * len(y)), tol=1e-10, max_iter=10_000).fit(features, y)
    np.testing.assert_allclose(ours[:-1], ref.coef_[0], rtol=1e-4, atol=1e-5)
    assert ours[-1] == pytest.approx(ref.intercept_[0], abs=1e-5)
    additive = LogisticRegression(C=1 / (l2 * len(y))).fit(x, y)
    assert np.abs(additive.coef_).max() < 0.1  # log loss on balanced XOR: (nearly) zero weights, as ours


def test_the_best_additive_rule_on_xor_gets_three_corners_of_four():
    """Additive models are not stuck at chance on XOR: a line cutting one corner off gets 0.75 (exactly, on
    the noiseless balanced corners; a brute-force check over every line through the corner points agrees)."""
    from mmstudio.analysis.principles.complementarity import best_additive_rule

    x, y = xor_pm1(400, 0.0, np.random.default_rng(0))
    assert best_additive_rule(x, y, x, y) == pytest.approx(0.75)
    brute = max(np.mean(((x @ np.array([a, b]) > c) == y)) for a in (-1, 0, 1) for b in (-1, 0, 1)
                for c in (-2.5, -1.5, -0.5, 0.5, 1.5, 2.5))
    assert brute == pytest.approx(0.75)
    toy = toy_xor(seed=0)["accuracy"]
    assert toy["additive_best_rule"] == pytest.approx(0.75, abs=0.04) and toy["interaction"] > 0.95


def test_emap_is_the_additive_projection():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(9, 3)), rng.normal(size=(9, 2))
    w1, w2 = rng.normal(size=(3, 4)), rng.normal(size=(2, 4))

    def additive(u, v):
        return np.tanh(u @ w1) + (v @ w2) ** 2

    np.testing.assert_allclose(emap(additive, a, b), additive(a, b), atol=1e-12)

    def interacting(u, v):
        return np.sin(u @ w1) * (v @ w2) + u @ w1

    brute = np.array([[np.mean([interacting(a[i:i + 1], b[j:j + 1])[0] for j in range(9)], axis=0)
                       + np.mean([interacting(a[k:k + 1], b[i:i + 1])[0] for k in range(9)], axis=0)
                       for i in range(9)]])[0]
    brute -= np.mean([interacting(a[i:i + 1], b[j:j + 1])[0] for i in range(9) for j in range(9)], axis=0)
    np.testing.assert_allclose(emap(interacting, a, b), brute, atol=1e-12)
    np.testing.assert_allclose(emap(interacting, a, b, chunk=10), brute, atol=1e-12)  # chunked the same


@pytest.fixture(scope="module")
def comp(demo):
    return complementarity(demo)


def test_demo_xor_needs_the_interaction(comp, demo):
    d, chance = comp.demo, majority(demo, "xor")
    assert all(acc <= chance + 0.1 for acc in d["unimodal"].values())  # each modality alone: chance
    assert d["additive"] <= chance + 0.1                                # additive late fusion: chance
    assert d["mlp"] >= 0.85                                             # the MLP over both: solved
    # EMAP: an additive model is its own projection; the XOR model's projection falls to chance
    assert d["additive_emap"] == pytest.approx(d["additive"], abs=0.01)
    assert comp.interaction_size["additive"] == pytest.approx(0, abs=0.01)
    assert d["mlp_emap"] <= chance + 0.1
    assert comp.interaction_size["mlp"] >= 0.3
    assert "interaction" in comp.statement and any("EMAP" in line for line in comp.summary())


# --- redundancy ---------------------------------------------------------------------------------
def test_removing_a_modality_hurts_xor_far_more_than_shape(demo):
    r = redundancy(demo)
    assert r.both["shape"] >= 0.9 and r.both["xor"] >= 0.85
    assert r.drop["shape"] <= 0.15
    assert r.drop["xor"] >= 0.3 and r.drop["xor"] > r.drop["shape"] + 0.2
    assert max(r.retrained["xor"].values()) <= majority(demo, "xor") + 0.1
    for m in r.modalities:  # the fused model with the modality mean-filled: same story
        assert r.mean_filled["xor"][m] <= majority(demo, "xor") + 0.1


# --- late fusion --------------------------------------------------------------------------------
def test_logit_sum_is_the_bayes_posterior_under_conditional_independence():
    rng = np.random.default_rng(1)
    priors = np.array([0.6, 0.3, 0.1])
    means = [rng.normal(size=(3, 2)), rng.normal(size=(3, 4))]
    covs = [np.diag([0.5, 2.0]), np.eye(4) * 1.5]
    y = rng.choice(3, size=500, p=priors)
    xs = [np.array([rng.multivariate_normal(means[m][c], covs[m]) for c in y]) for m in range(2)]
    lik = [np.column_stack([stats.multivariate_normal(means[m][c], covs[m]).logpdf(xs[m]) for c in range(3)])
           for m in range(2)]
    unimodal = [np.log(priors) + ll - np.logaddexp.reduce(np.log(priors) + ll, axis=1, keepdims=True) for ll in lik]
    joint = np.log(priors) + lik[0] + lik[1]
    bayes = np.exp(joint - np.logaddexp.reduce(joint, axis=1, keepdims=True))
    fused = late_fuse(unimodal, np.log(priors))
    np.testing.assert_allclose(fused["logit sum"], bayes, atol=1e-12)
    assert np.abs(fused["prior twice"] - bayes).max() > 0.05
    assert np.abs(fused["average"] - bayes).max() > 0.05


def test_late_fusion_logit_sum_is_calibrated_averaging_is_not():
    from sklearn.metrics import log_loss

    r = late_fusion(n_test=5000)
    assert r.max_diff_from_bayes < 1e-9
    exact, learned = r.scores["exact"], r.scores["learned"]
    assert exact["logit sum"]["accuracy"] == exact["bayes"]["accuracy"]
    assert exact["logit sum"]["ece"] < 0.03 < exact["probability average"]["ece"]
    assert exact["logit sum"]["nll"] < exact["probability average"]["nll"]
    # learned unimodal heads: the logit sum stays within a hair of the Bayes posterior
    assert learned["logit sum"]["nll"] == pytest.approx(exact["bayes"]["nll"], abs=0.02)
    assert learned["logit sum"]["ece"] < learned["probability average"]["ece"]
    assert learned["logit sum"]["accuracy"] >= learned["probability average"]["accuracy"] - 0.005
    bins = exact["logit sum"]["reliability"]
    assert bins["count"].sum() == r.n_test
    # the NLL and the held-out bound agree with scikit-learn's log loss
    p = softmax(np.random.default_rng(0).normal(size=(200, 3)))
    labels = np.random.default_rng(1).integers(0, 3, 200)
    assert nll(p, labels) == pytest.approx(log_loss(labels, p, labels=[0, 1, 2]))
    assert heldout_cross_entropy(np.log(p), labels) <= log_loss(labels, p) + 0.2


# --- dominance ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dom(demo):
    return dominance(demo, epochs=8, alpha=0.5, n=None)


def test_ogm_ge_shrinks_the_gradient_ratio_with_the_published_coefficient(dom):
    d, w = dom.dominant, dom.weak
    plain, ogm = dom.runs["plain"], dom.runs["OGM-GE"]
    assert np.mean(plain.grad_ratio(d, w)) > 1          # the dominant branch takes the larger gradients
    assert np.mean(ogm.grad_ratio(d, w)) < 0.8 * np.mean(plain.grad_ratio(d, w))
    # every mini-batch of the modulation window (the first 4 of 8 epochs): coefficient 1 − tanh(α·ρ) on
    # the branch that is ahead, 1 on the other; after the window, 1 on both
    first, second = dom.modalities
    per_epoch = len(ogm.step_ratio) // 8
    after = slice(4 * per_epoch, None)
    assert (ogm.step_coefficient[first][after] == 1).all() and (ogm.step_coefficient[second][after] == 1).all()
    ogm = type(ogm)(**{**vars(ogm), "step_ratio": ogm.step_ratio[:4 * per_epoch],
                       "step_coefficient": {m: c[:4 * per_epoch] for m, c in ogm.step_coefficient.items()}})
    rho = ogm.step_ratio
    ahead_first = rho > 1
    np.testing.assert_allclose(ogm.step_coefficient[first][ahead_first], 1 - np.tanh(0.5 * rho[ahead_first]))
    np.testing.assert_allclose(ogm.step_coefficient[second][~ahead_first & (rho < 1)],
                               1 - np.tanh(0.5 / rho[~ahead_first & (rho < 1)]))
    assert (ogm.step_coefficient[second][ahead_first] == 1).all()
    assert (plain.step_coefficient[first] == 1).all() and (plain.step_coefficient[second] == 1).all()
    # per-epoch curves for every run, one value per epoch
    for c in dom.runs.values():
        assert len(c.fused_accuracy) == len(dom.epochs) == 8
        assert set(c.grad_norm) == set(c.unimodal_accuracy) == set(dom.modalities)
    # re-weighting the weak branch's own loss lifts it toward what it learns alone
    assert dom.runs["re-weighted"].unimodal_accuracy[w][-1] >= plain.unimodal_accuracy[w][-1]


def test_ogm_coefficient_follows_alpha():
    assert ogm_coefficients(2.0, 0.5) == pytest.approx((1 - np.tanh(1.0), 1.0))
    assert ogm_coefficients(0.25, 0.1) == pytest.approx((1.0, 1 - np.tanh(0.4)))
    assert ogm_coefficients(1.0, 3.0) == (1.0, 1.0)
    assert ogm_coefficients(2.0, 1.0)[0] < ogm_coefficients(2.0, 0.5)[0]  # larger α: stronger damping


# --- sample complexity --------------------------------------------------------------------------
def test_accuracy_grows_with_n_and_fusion_gains_on_xor(demo):
    r = sample_complexity(demo, points=4, repeats=1)
    fused = r.sets[-1]
    acc = r.accuracy[fused]
    assert np.all(np.diff(r.sizes) > 0) and r.sizes[0] == 16
    assert stats.spearmanr(r.sizes, acc).statistic > 0.7 and acc[-1] > acc[0] + 0.2
    best_single = max(r.sets[:-1], key=lambda s: r.accuracy[s][-1])
    assert acc[-1] >= r.accuracy[best_single][-1]
    # the information bound: the second modality adds (most of) the label's bit
    assert 0 <= r.mi_bits[best_single][-1] < 0.1
    assert r.mi_bits[fused][-1] > 0.4 and r.mi_bits[fused][-1] <= r.label_entropy_bits
    assert "bits" in r.statement and "estimate" in r.statement
    # H(Y) of the test split the cross-entropy is measured on; a bootstrap interval around the bound
    test_y = np.bincount(paired(demo, "xor").y)  # both classes present
    assert 0.9 < r.label_entropy_bits <= 1.0 and len(test_y) == 2
    lo, hi = r.numbers["mi_bits_largest_ci95"][fused]
    assert lo <= r.mi_bits[fused][-1] <= hi and hi - lo > 0
    # samples to the target accuracy: only the fusion reaches it on xor
    to = r.numbers["samples_to_target"]
    assert to[fused] is not None and all(to[s] is None for s in r.sets[:-1])
    assert f"reaches {r.numbers['target_accuracy']:.2f} at n = {to[fused]}" in r.statement


# --- the CLI ------------------------------------------------------------------------------------
def test_cli_json_and_text(capsys, demo_folder):
    assert "principles" in COMMANDS
    assert main(["principles", "poe-moe", "--json", "--means", "0,4", "--variances", "1,2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["name"] == "poe-moe" and out["poe_variance"] == pytest.approx(2 / 3)
    assert len(out["grid"]) == len(out["poe_density"]) == len(out["moe_density"])
    assert main(["principles", "poe-moe"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("poe-moe: ") and "product of experts: mean" in text
    table = demo_folder / f"demo-{SCENES}-{SEED}.parquet"
    assert main(["principles", "redundancy", "--table", str(table), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tasks"] == ["shape", "xor"] and out["drop"]["xor"] > out["drop"]["shape"]
    # the output contract: the verdict, the computed sentence and every check with its numbers
    assert out["verdict"] == "shown" and out["summary"] == out["statement"]
    assert all({"claim", "held", "evidence"} <= set(c) for c in out["checks"]) and len(out["checks"]) >= 3


def test_cli_unknown_name_lists_the_principles(capsys):
    assert "principles" in COMMANDS
    assert main(["principles", "synergy"]) == 2
    err = capsys.readouterr().err
    assert "synergy" in err and all(name in err for name in principles.PRINCIPLES)
    assert main(["principles", "dominance", "--modalities", "image"]) == 2
    assert "two names" in capsys.readouterr().err
    with pytest.raises(KeyError, match="known: complementarity"):
        principles.function("synergy")


def test_optimisers_match_torch_optim():
    import copy

    import torch

    from mmstudio.analysis.principles.fit import SGD, AdamW

    for ours, theirs in ((lambda p: AdamW(p, lr=0.01, weight_decay=0.1),
                          lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
                         (lambda p: SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-4),
                          lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-4))):
        torch.manual_seed(0)
        a = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
        b = copy.deepcopy(a)
        x, y = torch.randn(20, 5), torch.randint(0, 3, (20,))
        for net, opt in ((a, ours(a.parameters())), (b, theirs(b.parameters()))):
            for _ in range(25):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(x), y).backward()
                opt.step()
        for p, q in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_a_demo_table_that_cannot_be_kept_is_built_for_the_run(tmp_path, caplog, demo):
    """A cache folder that cannot be written (MMSTUDIO_CACHE_DIR=/dev/null/x): built in a temporary folder, one warning."""
    (tmp_path / "a-file").write_text("not a folder")
    table = demo_table(n=12, seed=SEED, folder=tmp_path / "a-file" / "principles")
    assert len(table) == 24 and set(table.modality.tolist()) == {"image", "audio"}
    np.testing.assert_array_equal(table.vectors[:2], demo.take(np.isin(demo.sample_id, table.sample_id[:1])).vectors)
    assert "cannot keep the demo table" in caplog.text and "it is built for this run only" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "mmstudio-cache") == ["a-file"]


# --------------------------------------------------------------------------- verdicts
@pytest.fixture(scope="module")
def random_vectors(demo):
    """The demo table with every embedding replaced by a random unit vector: no principle holds here."""
    from mmstudio.core.tables.table import EmbeddingTable

    noise = np.random.default_rng(11).standard_normal(demo.vectors.shape).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    return EmbeddingTable(demo.sample_id, demo.modality, demo.path, demo.label, noise, demo.columns,
                          model=demo.model)


@pytest.mark.parametrize("name,run", [
    ("redundancy", lambda t: redundancy(t)),
    ("dominance", lambda t: dominance(t, epochs=8, n=None)),
    ("complementarity", lambda t: complementarity(t)),
    ("sample-complexity", lambda t: sample_complexity(t, points=3, repeats=1)),
])
def test_on_random_vectors_every_principle_says_not_shown_and_claims_nothing(random_vectors, name, run):
    result = run(random_vectors)
    assert result.verdict == "not shown", (name, result.statement)
    assert result.statement.startswith("Not shown on this data"), result.statement
    assert "Shown:" not in result.statement
    data = result.to_dict()
    assert data["verdict"] == "not shown" and data["summary"] == result.statement
    assert any(not c["held"] for c in data["checks"])


def test_on_the_demo_world_the_principles_are_shown(demo, comp):
    r = redundancy(demo)
    assert r.verdict == "shown"
    for t in r.tasks:   # chance is the best constant guess on the test split: never below 1 / classes
        assert r.chance[t] >= 1 / paired(demo, t).n_classes
    assert comp.verdict == "shown", comp.statement
    assert poe_moe().verdict == "shown" and late_fusion(n_test=4000).verdict == "shown"
