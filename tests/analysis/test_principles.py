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


def test_stacked_two_branch_training_equals_torch_sgd_one_seed_at_a_time():
    """Every run × seed trained as one stack: each member follows the same steps as a plain torch model
    (nn.Linear branches, torch.optim.SGD, the seed's own mini-batches), and its encoder's linear probe
    is scikit-learn's RidgeClassifier on the frozen features."""
    import torch
    from sklearn.linear_model import RidgeClassifier

    from mmstudio.analysis.principles.dominance import _probes, _Run, _train
    from mmstudio.core.jobs import Job

    rng = np.random.default_rng(4)
    seeds, cut, k, hidden, batch, epochs = [3, 1003], 60, 3, 8, 16, 3
    y = rng.integers(0, k, (2, 90))
    xa = (rng.normal(size=(2, 90, 6)) + y[:, :, None] * 0.8).astype(np.float32)
    xb = (rng.normal(size=(2, 90, 5)) - y[:, :, None] * 0.3).astype(np.float32)
    runs = [_Run("a alone", (True, False)), _Run("plain", (True, True))]
    out = _train({"a": xa, "b": xb}, y, cut, k, ("a", "b"), runs, seeds, epochs=epochs, hidden=hidden,
                 batch_size=batch, lr=0.05, window=(0, 0), job=Job())
    for s, seed in enumerate(seeds):
        for run in runs:
            torch.manual_seed(seed)
            layers = [torch.nn.Linear(6, hidden), torch.nn.Linear(hidden, k), torch.nn.Linear(5, hidden),
                      torch.nn.Linear(hidden, k)]
            branches = [torch.nn.Sequential(layers[0], torch.nn.ReLU(), layers[1]),
                        torch.nn.Sequential(layers[2], torch.nn.ReLU(), layers[3])][: 2 if run.branches[1] else 1]
            opt = torch.optim.SGD([p for br in branches for p in br.parameters()], lr=0.05, momentum=0.9,
                                  weight_decay=1e-4)
            inputs = [torch.as_tensor(xa[s]), torch.as_tensor(xb[s])]
            target = torch.as_tensor(y[s])
            gen = torch.Generator().manual_seed(seed)
            losses, accs = [], []
            for _ in range(epochs):
                perm = torch.randperm(cut, generator=gen)
                per_step = []
                for start in range(0, cut, batch):
                    idx = perm[start:start + batch]
                    loss = torch.nn.functional.cross_entropy(sum(br(x[idx]) for br, x in zip(branches, inputs)),
                                                             target[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    per_step.append(loss.item())
                losses.append(np.mean(per_step))
                with torch.no_grad():
                    test = sum(br(x[cut:]) for br, x in zip(branches, inputs)).argmax(1)
                accs.append(float((test == target[cut:]).float().mean()))
            c = out[run.name]
            np.testing.assert_allclose(c.train_loss[s], losses, rtol=1e-5)
            np.testing.assert_allclose(c.fused_accuracy[s], accs)
            # the probe: a ridge classifier on the frozen, standardised encoder features (scikit-learn's)
            with torch.no_grad():
                feats = torch.relu(layers[0](inputs[0])).numpy().astype(np.float64)
            mean, scale = feats[:cut].mean(axis=0), feats[:cut].std(axis=0)
            feats = (feats - mean) / np.where(scale > 0, scale, 1.0)
            reference = RidgeClassifier(alpha=1.0).fit(feats[:cut], y[s, :cut]).score(feats[cut:], y[s, cut:])
            assert c.probe["a"][s] == pytest.approx(reference, abs=1.01 / 30)
    assert _probes.__doc__ and "RidgeClassifier" in _probes.__doc__


def test_ogm_ge_modulates_the_encoder_with_the_published_coefficient(dom):
    d, w = dom.dominant, dom.weak
    plain, ogm = dom.runs["plain"], dom.ogm(0.5)
    assert dom.alphas == [0.0, 0.1, 0.3, 0.5, 1.0] and len(dom.seeds) == 5
    assert np.mean(plain.grad_ratio(d, w)) > 1          # the dominant branch takes the larger gradients
    assert np.mean(ogm.grad_ratio(d, w)) < np.mean(plain.grad_ratio(d, w))
    # every mini-batch of the modulation window (the first 4 of 8 epochs): coefficient 1 − tanh(α·ρ) on
    # the branch that is ahead, 1 on the other; after the window, 1 on both
    first, second = dom.modalities
    per_epoch = len(ogm.step_ratio) // 8
    window, after = slice(0, 4 * per_epoch), slice(4 * per_epoch, None)
    assert (ogm.step_coefficient[first][after] == 1).all() and (ogm.step_coefficient[second][after] == 1).all()
    rho = ogm.step_ratio[window]
    ahead = rho > 1
    np.testing.assert_allclose(ogm.step_coefficient[first][window][ahead], 1 - np.tanh(0.5 * rho[ahead]), rtol=1e-6)
    np.testing.assert_allclose(ogm.step_coefficient[second][window][rho < 1], 1 - np.tanh(0.5 / rho[rho < 1]),
                               rtol=1e-6)
    assert (ogm.step_coefficient[second][window][ahead] == 1).all()
    assert (plain.step_coefficient[first] == 1).all() and (plain.step_coefficient[second] == 1).all()
    # α = 0: no modulation (coefficient 1) but the GE noise: the run leaves the plain one in the window
    zero = dom.ogm(0.0)
    assert (zero.step_coefficient[first] == 1).all() and (zero.step_coefficient[second] == 1).all()
    assert zero.step_ratio[0] == pytest.approx(plain.step_ratio[0])   # same start and first batch
    assert not np.allclose(zero.train_loss, plain.train_loss)
    # per-epoch curves for every run and seed
    for c in [*dom.runs.values(), *dom.alone.values()]:
        assert c.fused_accuracy.shape == (5, 8) and set(c.unimodal_accuracy) == set(dom.modalities)


def test_dominance_reports_the_fused_accuracy_effect_with_intervals_and_says_not_shown_when_absent(dom):
    from mmstudio.analysis.principles.result import above, estimate

    plain, ogm = dom.runs["plain"], dom.ogm()
    # the task is below the ceiling: neither modality alone nor the fused model reaches 1.00
    assert all(c.final().mean() < 0.97 for c in [plain, *dom.alone.values()])
    assert dom.noise == {"image": 1.0, "audio": 2.5} and "noise" in dom.summary()[0]
    gain = ogm.final() - plain.final()
    assert dom.headline["fused accuracy gain: OGM-GE α=0.5 − plain"] == estimate(gain)
    check = next(c for c in dom.checks if c.claim == "OGM-GE (α = 0.5) raises the fused accuracy")
    assert check.held == above(gain, 0.0)
    assert (dom.verdict == "not shown") == (not check.held or not all(c.held for c in dom.checks[:4]))
    if not check.held:
        assert dom.statement.startswith("Not shown on this data") and "raises the fused accuracy" in dom.statement
    # every setting's fused accuracy is in the sentence, re-weighting's included; the weak encoder's probe too
    for name, c in dom.runs.items():
        assert f"{name} {estimate(c.final())['mean']:.2f} [" in dom.statement
    assert f"{dom.weak.capitalize()} encoder's linear probe: alone" in dom.statement
    for e in dom.headline.values():
        assert len(e["values"]) == 5 and e["ci95"][0] <= e["mean"] <= e["ci95"][1]
    # the imbalance the paper starts from: the weak encoder learns less together than alone (probes)
    assert dom.headline[f"{dom.weak} probe deficit: alone − plain"]["mean"] > 0


def test_dominance_at_the_ceiling_says_there_is_no_room(demo):
    r = dominance(demo, epochs=6, n=None, noise={}, seeds=3, alphas=[0.5])
    ceiling = next(c for c in r.checks if c.claim == "the plain fused model is below the ceiling")
    assert r.runs["plain"].final().mean() >= 0.97 and not ceiling.held
    assert r.verdict == "not shown" and "below the ceiling does not hold" in r.statement
    assert list(r.runs) == ["plain", "OGM-GE α=0.5", "re-weighted"] and r.seeds == [0, 1000, 2000]


def test_dominance_cli_sweeps_alpha_adds_noise_and_refuses_bad_options(capsys, demo_folder):
    table = str(demo_folder / f"demo-{SCENES}-{SEED}.parquet")
    assert main(["principles", "dominance", "--table", table, "--json", "--epochs", "2", "--alphas", "0,1",
                 "--noise", "image=0.5"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["alphas"] == [0.0, 0.5, 1.0] and out["alpha"] == 0.5       # the verdict's α joins the sweep
    assert out["noise"] == {"image": 0.5, "audio": 0.0} and out["seeds"] == [0, 1000, 2000, 3000, 4000]
    assert out["verdict"] in ("shown", "not shown", "mixed") and out["summary"] == out["statement"]
    assert list(out["runs"]) == ["plain", "OGM-GE α=0", "OGM-GE α=0.5", "OGM-GE α=1", "re-weighted"]
    for e in out["headline"].values():
        assert len(e["values"]) == 5 and e["ci95"][0] <= e["mean"] <= e["ci95"][1]
    assert main(["principles", "dominance", "--table", table, "--json", "--epochs", "2", "--alpha", "0.3",
                 "--seeds", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["alphas"] == [0.3] and len(out["seeds"]) == 2
    for args, says in ((["dominance", "--table", table, "--noise", "smell=1"],
                        "--noise: 'smell' is not one of the modalities"),
                       (["poe-moe", "--noise", "1"], "poe-moe does not use --noise"),
                       (["sample-complexity", "--table", table, "--alphas", "0.1"], "does not use --alphas")):
        assert main(["principles", *args]) == 2
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1, err
    assert main(["principles", "dominance", "--noise", "image=-1"]) == 2
    assert "argument --noise: -1 is out of range" in capsys.readouterr().err


def test_ogm_coefficient_follows_alpha():
    assert ogm_coefficients(2.0, 0.5) == pytest.approx((1 - np.tanh(1.0), 1.0))
    assert ogm_coefficients(0.25, 0.1) == pytest.approx((1.0, 1 - np.tanh(0.4)))
    assert ogm_coefficients(1.0, 3.0) == (1.0, 1.0)
    assert ogm_coefficients(2.0, 1.0)[0] < ogm_coefficients(2.0, 0.5)[0]  # larger α: stronger damping


# --- sample complexity --------------------------------------------------------------------------
def test_samples_to_target_interpolates_in_log_n():
    from mmstudio.analysis.principles.sample_complexity import _crossing

    sizes = np.array([10, 100, 1000])
    assert _crossing(sizes, [0.2, 0.6, 0.9], 0.4) == pytest.approx(np.sqrt(10 * 100))   # halfway in log n
    assert _crossing(sizes, [0.2, 0.3, 0.9], 0.75) == pytest.approx(10 ** (2 + 0.75))
    assert _crossing(sizes, [0.5, 0.6, 0.9], 0.4) == 10                                 # from the start
    assert _crossing(sizes, [0.2, 0.3, 0.35], 0.4) is None                              # never


def test_two_noisy_views_need_fewer_samples_than_either_alone(demo):
    """The demo world's shape through two noisy views: the fused model reaches the target with fewer
    samples; the JSON carries each headline number as a mean with a 95 % interval over 5 seeds."""
    from mmstudio.analysis.principles.result import estimate
    from mmstudio.analysis.principles.sample_complexity import _crossing

    out = json.loads(json.dumps(sample_complexity(demo, points=4).to_dict(), allow_nan=False))
    assert out["task"] == "shape" and out["noise"] == {"image": 3.0, "audio": 3.0}
    assert out["verdict"] == "shown" and out["summary"].startswith("Shown: on 'shape' seen through noisy views")
    assert out["seeds"] == [0, 1000, 2000, 3000, 4000]
    for e in out["headline"].values():
        assert len(e["values"]) == 5 and e["ci95"][0] <= e["mean"] <= e["ci95"][1]
    sizes, target = np.array(out["sizes"]), out["target"]
    for s in out["sets"]:   # each seed's samples-to-target is where its own curve crosses the target
        acc = np.array(out["accuracy"][s])
        assert acc.shape == (5, len(sizes))
        assert out["to_target"][s] == [_crossing(sizes, a, target) for a in acc]
    fused = out["sets"][-1]
    n_fused = out["headline"][f"samples to target: {fused}"]
    assert n_fused["mean"] == pytest.approx(2 ** estimate(np.log2(out["to_target"][fused]))["mean"])
    top = np.array(out["accuracy"][fused])[:, -1].mean()
    for s in out["sets"][:-1]:
        ratio = out["headline"][f"samples ratio {s} / {fused} (unreached = largest size)"]
        assert ratio["ci95"][0] > 1                           # every single modality needs more samples
        assert f"{s} needs ×{ratio['mean']:.2f}" in out["summary"]
        alone = np.array(out["accuracy"][s])[:, -1].mean()
        assert alone < 0.6 and alone < top                    # each view alone is a weak witness
    # the information bound stays between 0 and the label's entropy
    for s in out["sets"]:
        bits = np.array(out["mi_bits"][s])
        assert (bits >= 0).all() and (bits <= out["label_entropy_bits"] + 0.05).all()


def test_an_extra_modality_that_carries_nothing_costs_samples_and_the_sentence_says_so():
    from mmstudio.core.tables.table import EmbeddingTable

    rng = np.random.default_rng(0)
    n, dim, width = 300, 8, 24
    label = rng.integers(0, 3, n)
    clean = rng.normal(size=(n, dim)) * 0.6
    clean[np.arange(n), label] += 1.5
    empty = rng.normal(size=(n, width))                     # nothing about the label
    names = np.array(["a", "b", "c"], object)[label]
    table = EmbeddingTable(np.array([f"s{i}" for i in range(n)] * 2, object),
                           np.array(["image"] * n + ["audio"] * n, object), np.array([""] * (2 * n), object),
                           np.concatenate([names, names]),
                           np.vstack([np.pad(clean, ((0, 0), (0, width - dim))), empty]).astype(np.float32),
                           {"shape": np.concatenate([names, names])})
    r = sample_complexity(table, task="shape", noise={}, points=4, smallest=8)
    ratio = r.headline["samples ratio image / image+audio (unreached = largest size)"]
    assert ratio["ci95"][1] < 1                             # image alone needs fewer samples than with audio
    assert r.verdict == "not shown" and "costs samples: to reach" in r.statement and "image alone needs n ≈" in r.statement
    assert not r.numbers["learns"]["audio"] and "audio does not learn it" in r.statement


def test_only_the_fusion_learns_xor(demo):
    r = sample_complexity(demo, task="xor", points=4, seeds=3)
    fused = r.sets[-1]
    acc = r.mean_accuracy(fused)
    assert r.noise == {} and np.all(np.diff(r.sizes) > 0) and r.sizes[0] == 16
    assert stats.spearmanr(r.sizes, acc).statistic > 0.7 and acc[-1] > acc[0] + 0.2
    assert all(not r.numbers["learns"][s] for s in r.sets[:-1]) and r.numbers["learns"][fused]
    # the information bound: the second modality adds (most of) the label's bit
    assert all(r.mi_bits[s][:, -1].mean() < 0.1 for s in r.sets[:-1])
    assert 0.4 < r.mi_bits[fused][:, -1].mean() <= r.label_entropy_bits
    assert r.verdict == "shown" and r.statement.startswith(f"Shown: only {fused} learns 'xor'")
    assert all(v is None for s in r.sets[:-1] for v in r.to_target[s])


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
    ("sample-complexity", lambda t: sample_complexity(t, points=3)),
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


# --- negative transfer ------------------------------------------------------------------------
def t_interval_low(values) -> float:
    """The lower end of the 95 % Student-t interval of the mean (scipy's), the criterion's reference."""
    v = np.asarray(values, float)
    return stats.t.interval(0.95, len(v) - 1, loc=v.mean(), scale=stats.sem(v))[0]


@pytest.fixture(scope="module")
def negtr(demo):
    from mmstudio.analysis.principles.negative_transfer import negative_transfer

    return negative_transfer(demo)


def test_negative_transfer_on_the_demo_world(negtr):
    r = negtr
    test, train = r.accuracy["test only"], r.accuracy["also at training"]
    assert r.strengths == [0.0, 0.2, 0.4, 0.6, 0.8] and len(r.seeds) == 5 and r.corrupted == "audio"

    def gap(acc, m, i):  # best single − fusion, per seed
        return np.subtract(acc["best single"][i]["values"], acc[m][i]["values"])

    for m in ("logit sum", "concat MLP"):
        # the criterion, recomputed with scipy at every strength: below the best single beyond the seeds' noise
        assert r.negative[m] == [bool(t_interval_low(gap(test, m, i)) > 0) for i in range(5)]
        assert not r.negative[m][0]                  # clean: fusion is not below the best single modality
        assert t_interval_low(gap(test, m, 0)) <= 0
        assert r.negative[m][-1]                     # 80 % of the audio swapped: it is
        first = r.strengths[r.negative[m].index(True)]
        assert f"the {m} from f = {first:g}" in r.statement and r.numbers["starts"][m] == first
        # the same corruption at training as well: the gap shrinks (paired over the seeds)
        assert gap(train, m, 4).mean() < gap(test, m, 4).mean() - 0.1
    assert r.best_single["test only"][-1] == "image" and r.verdict in ("shown", "mixed")
    assert r.statement.startswith("Shown: on 'shape'")
    # the oracle gate (labels of the corrupted data) stays near the clean modality; the label-free one does not
    assert test["gate (oracle)"][-1]["mean"] > test["gate (label-free)"][-1]["mean"] + 0.15
    assert "reads labels of the corrupted validation data" in r.statement
    fails = [f"{f:g}" for f, on in zip(r.strengths, r.gate_fails) if on]
    assert ("still below the best single modality, at f = " + ", ".join(fails)) in r.statement
    assert r.gate_fails == [bool(t_interval_low(gap(test, "gate (label-free)", i)) > 0) for i in range(5)]
    assert any("f" in line and "best single" in line for line in r.summary())


def test_mismatch_swaps_the_share_of_rows_the_knob_sets():
    """Closed form: row i's audio is another sample's when u_i < f, so the count of rows whose audio no
    longer matches is Binomial(n, f); the image is untouched; the rows at 0.2 are among those at 0.5."""
    from mmstudio.analysis.principles.corrupted_fusion import mismatch

    n = 4000
    x = np.random.default_rng(5).standard_normal((n, 2, 6)).astype(np.float32)
    before = None
    for f in (0.2, 0.5, 0.8):
        v, swapped = mismatch(x, f, 1, seed=3)
        changed = (v[:, 1] != x[:, 1]).any(axis=1)
        np.testing.assert_array_equal(changed, swapped)
        lo, hi = stats.binom.interval(0.999, n, f)
        assert lo <= changed.sum() <= hi
        np.testing.assert_array_equal(v[:, 0], x[:, 0])
        # each swapped row now carries another row's audio vector, never its own
        owner = {x[i, 1].tobytes(): i for i in range(n)}
        assert all(owner[v[i, 1].tobytes()] != i for i in np.flatnonzero(swapped))
        if before is not None:
            assert not (before & ~swapped).any()
        before = swapped
    np.testing.assert_array_equal(mismatch(x, 0.0, 1, seed=3)[0], x)


def test_the_label_free_gate_reads_no_labels(demo):
    """Permuting the held-out labels leaves the label-free gate's choices and predictions as they are;
    the oracle gate's change when its validation labels say the corrupted modality is right."""
    from mmstudio.analysis.principles.corrupted_fusion import forward, held_out, score, train_models
    from mmstudio.analysis.principles.result import seed_list

    d = paired(demo, "shape")
    x = np.stack([d.x["image"], d.x["audio"]], axis=1).astype(np.float32)
    seeds = seed_list(0, 2)
    models = train_models(x, d.y, d.n_classes, seeds, [0.0, 0.8], corrupt=1)
    held, _ = held_out(x, models, 0.6, seeds)
    log_post, mlp = forward(models, held)
    split, mods = models.splits[0], ("image", "audio")
    y_val, y_test = d.y[split.val], d.y[split.test]
    true = score(log_post[0, 0], mlp[0, 0], models.log_prior[0], y_val, y_test, mods)
    rng = np.random.default_rng(0)
    shuffled = score(log_post[0, 0], mlp[0, 0], models.log_prior[0], rng.permutation(y_val), rng.permutation(y_test),
                     mods)
    gate = "gate (label-free)"
    np.testing.assert_array_equal(true.predictions[gate], shuffled.predictions[gate])
    np.testing.assert_array_equal(true.kept[gate], shuffled.kept[gate])
    assert true.accuracy[gate] != shuffled.accuracy[gate]     # the labels did reach the scores
    # the oracle reads them: validation labels that agree with the swapped audio make it keep the audio
    fooled = log_post[0, 0, :len(y_val), 1].argmax(axis=1)
    oracle = score(log_post[0, 0], mlp[0, 0], models.log_prior[0], fooled, y_test, mods)
    assert true.kept["gate (oracle)"][:, 0].mean() > oracle.kept["gate (oracle)"][:, 0].mean()
    assert not np.array_equal(true.predictions["gate (oracle)"], oracle.predictions["gate (oracle)"])


def test_negative_transfer_on_random_vectors_is_not_shown(random_vectors):
    from mmstudio.analysis.principles.negative_transfer import negative_transfer

    r = negative_transfer(random_vectors)
    assert r.verdict == "not shown", r.statement
    assert r.statement.startswith("Not shown on this data") and "Shown:" not in r.statement
    assert not any(any(flags) for flags in r.negative.values()) and not any(r.gate_fails)
    data = r.to_dict()
    assert data["verdict"] == "not shown" and data["summary"] == r.statement
    assert not data["checks"][0]["held"] and "is learnt" in data["checks"][0]["claim"]


def test_negative_transfer_strengths_and_cli_json(capsys, demo_folder, demo):
    from mmstudio.analysis.principles.negative_transfer import check_strengths, negative_transfer

    with pytest.raises(ValueError, match="seeds 1: give 2 or more"):
        negative_transfer(demo, seeds=1)

    assert check_strengths([0.8, 0.4, 0.4]) == [0.0, 0.4, 0.8]      # 0, the clean reference, always first
    with pytest.raises(ValueError, match="strengths: 1.5 is not a share"):
        check_strengths([0.2, 1.5])
    table = demo_folder / f"demo-{SCENES}-{SEED}.parquet"
    assert main(["principles", "negative-transfer", "--table", str(table), "--json", "--strengths", "0.8"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["name"] == "negative-transfer" and out["strengths"] == [0.0, 0.8]
    assert out["verdict"] in ("shown", "mixed", "not shown") and out["summary"] == out["statement"]
    assert len(out["seeds"]) >= 5 and len(out["checks"]) == 5
    assert out["headline"] and all(e["ci95"][0] <= e["mean"] <= e["ci95"][1] and len(e["values"]) == len(out["seeds"])
                                   for e in out["headline"].values())
    assert any(k.startswith("gate (oracle, reads labels") for k in out["headline"])
    for bad, reason in ((["--strengths", "0,1.5"], "1.5 is not a share"), (["--strengths", "a"], "not a number")):
        assert main(["principles", "negative-transfer", *bad]) == 2
        err = capsys.readouterr().err
        assert "--strengths" in err and reason in err
    assert main(["principles", "poe-moe", "--strengths", "0.5"]) == 2
    assert "does not use --strengths" in capsys.readouterr().err


# --------------------------------------------------------------------------- the output contract
# every registered principle (a new page is checked the day it is registered): a verdict, the
# computed sentence, the seeds (five by default for one that learns; none for a closed form) and
# every headline number as a mean with a 95 % interval that contains it
@pytest.mark.parametrize("name", list(principles.PRINCIPLES))
def test_every_principle_prints_verdict_summary_seeds_and_intervals(name, demo_folder, capsys):
    args = ["principles", name, "--json"]
    if principles.PRINCIPLES[name].uses_table:
        args += ["--table", str(demo_folder / f"demo-{SCENES}-{SEED}.parquet")]
    assert main(args) == 0, capsys.readouterr().err
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] in ("shown", "not shown", "mixed")
    assert isinstance(out["summary"], str) and len(out["summary"]) > 20
    seeds, headline = out["seeds"], out["headline"]
    assert headline, "no headline numbers"
    if seeds:
        assert len(seeds) >= 5 and len(set(seeds)) == len(seeds)
    for key, e in headline.items():
        lo, hi = e["ci95"]
        assert lo - 1e-9 <= e["mean"] <= hi + 1e-9, (key, e)
        if not seeds:   # a closed form: exact numbers
            assert lo == hi == e["mean"], key
