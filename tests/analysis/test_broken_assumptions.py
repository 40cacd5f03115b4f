"""Broken assumptions: the closed forms against scipy, each part's controls (the assumption holding:
no effect claimed), the rotated-copy and random-table checks, two independently trained networks,
and the command line's output contract and refusals. Small synthetic tables only (no demo world)."""

import json

import numpy as np
import pytest
from scipy import stats

from mmstudio.__main__ import main
from mmstudio.analysis.principles.broken_assumptions import broken_assumptions
from mmstudio.analysis.principles.broken_imputation import imputation
from mmstudio.analysis.principles.broken_independence import correlated_log_likelihood, independence
from mmstudio.analysis.principles.broken_rotation import heldout, rotation
from mmstudio.analysis.principles.result import seed_list
from mmstudio.core.tables.table import EmbeddingTable

SEEDS = seed_list(0, 5)


def table_of(vectors, ids=None, modality="image", model=""):
    n = len(vectors)
    ids = np.array([f"s{i}" for i in range(n)], object) if ids is None else np.asarray(ids, object)
    return EmbeddingTable(ids, np.array([modality] * n, object), np.array([""] * n, object),
                          np.array([""] * n, object), np.asarray(vectors, np.float32), model=model)


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def structured():
    """A table with structure worth rotating: 300 samples in 16 dimensions, two modalities."""
    rng = np.random.default_rng(4)
    n, d = 300, 16
    base = rng.standard_normal((n, d)) * np.linspace(2.0, 0.3, d)
    both = np.vstack([unit(base + 0.5), unit(base @ rng.standard_normal((d, d)) + 0.5)])
    ids = [f"s{i}" for i in range(n)] * 2
    return EmbeddingTable(np.array(ids, object), np.array(["image"] * n + ["audio"] * n, object),
                          np.array([""] * 2 * n, object), np.array([""] * 2 * n, object), both.astype(np.float32),
                          model="A")


# --- (1) independence ---------------------------------------------------------------------------
@pytest.mark.parametrize("rho, sigmas", [(0.0, (1.0, 1.0)), (0.6, (1.0, 1.3)), (0.93, (0.7, 1.1))])
def test_the_correlated_posterior_is_scipys_multivariate_normal(rho, sigmas):
    rng = np.random.default_rng(2)
    d, k = 3, 4
    c1, c2 = rng.normal(size=(k, d)), rng.normal(size=(k, d))
    x1, x2 = rng.normal(size=(50, d)), rng.normal(size=(50, d))
    s1, s2 = sigmas
    cov = np.block([[s1 ** 2 * np.eye(d), rho * s1 * s2 * np.eye(d)], [rho * s1 * s2 * np.eye(d), s2 ** 2 * np.eye(d)]])
    reference = np.column_stack([stats.multivariate_normal(np.concatenate([c1[j], c2[j]]), cov).logpdf(
        np.hstack([x1, x2])) for j in range(k)])
    np.testing.assert_allclose(correlated_log_likelihood(x1, x2, c1, c2, sigmas, rho), reference, rtol=1e-10)


def test_a_correlated_second_view_makes_the_logit_sum_overconfident():
    r = independence(rho=0.8, seeds=SEEDS, n_test=8000)
    assert r["verdict"] == "shown" and r["statement"].startswith("Shown:")
    assert r["max_diff_at_zero"] < 1e-9                     # independent views: the logit sum is the posterior
    c, at = r["curves"], r["rhos"].index(0.8)
    ls, tp = c["logit sum"], c["true posterior"]
    assert ls["nll"][at]["mean"] > tp["nll"][at]["mean"] + 0.03
    assert ls["overconfidence"][at]["ci95"][0] > 0.03 and abs(tp["overconfidence"][at]["mean"]) < 0.01
    assert tp["ece"][at]["mean"] < 0.02 < ls["ece"][at]["mean"]
    gaps = [ls["nll"][i]["mean"] - tp["nll"][i]["mean"] for i in range(len(r["rhos"]))]
    assert gaps[0] == pytest.approx(0, abs=1e-12) and np.all(np.diff(gaps) > 0)   # grows with ρ
    # one view repeated: the true posterior tends to the first view's own, the logit sum does not
    top = len(r["rhos"]) - 1
    assert tp["nll"][top]["mean"] == pytest.approx(c["first view alone"]["nll"][top]["mean"], abs=0.02)
    assert f"{ls['nll'][at]['mean']:.3f}" in r["statement"]


def test_independent_views_show_no_broken_logit_sum():
    r = independence(rho=0.0, seeds=SEEDS, n_test=4000)
    assert r["verdict"] == "not shown" and r["statement"].startswith("Not shown on this data")
    assert "Shown:" not in r["statement"]


# --- (2) imputation -----------------------------------------------------------------------------
def test_imputation_helps_as_far_as_the_views_are_correlated():
    r = imputation(seeds=SEEDS, n_test=3000)
    rhos = np.array(r["rhos"])
    r2 = np.array([e["mean"] for e in r["r2"]])
    np.testing.assert_allclose(r2, rhos ** 2, atol=0.015)                       # closed form: R² = ρ²
    gain = np.array([e["mean"] for e in r["gain"]])
    assert abs(gain[0]) < 0.005 and not r["helps"][0]                           # ρ = 0: it is mean-filling
    assert gain[-1] > 0.1 and stats.spearmanr(rhos, gain).statistic > 0.95
    imputed = np.array([e["mean"] for e in r["accuracy"]["imputed"]])
    alone = np.array([e["mean"] for e in r["accuracy"]["first view alone"]])
    np.testing.assert_allclose(imputed, alone, atol=0.01)                       # no information added
    assert r["helps_from"] is not None and r["helps_from"] <= 0.4
    assert r["verdict"] == "shown" and f"from ρ = {r['helps_from']:g}" in r["statement"]


def test_uncorrelated_views_show_no_help_from_imputation():
    r = imputation(rhos=(0.0,), seeds=SEEDS, n_test=2000)
    assert r["verdict"] == "not shown" and r["statement"].startswith("Not shown on this data")


# --- (3) Procrustes -----------------------------------------------------------------------------
def test_the_heldout_residual_is_scipys_procrustes_on_the_other_half(structured):
    from scipy.linalg import orthogonal_procrustes

    rows = structured.rows("image")
    a, b = structured.vectors[rows].astype(np.float64), structured.vectors[structured.rows("audio")].astype(np.float64)
    fit, test = np.arange(0, 300, 2), np.arange(1, 300, 2)

    def prepared(x):
        x = x - x[fit].mean(axis=0)
        return x / np.sqrt((x[fit] ** 2).sum(axis=1).mean())

    pa, pb = prepared(a), prepared(b)
    r, _ = orthogonal_procrustes(pa[fit], pb[fit])
    expected = ((pa[test] @ r - pb[test]) ** 2).sum() / (pb[test] ** 2).sum()
    residual, cka = heldout(a, b, fit, test)
    assert residual == pytest.approx(expected, rel=1e-9)
    gx, gy = pa[test] - pa[test].mean(0), pb[test] - pb[test].mean(0)
    assert cka == pytest.approx(np.linalg.norm(gy.T @ gx) ** 2 / (np.linalg.norm(gx.T @ gx) * np.linalg.norm(gy.T @ gy)))


def test_a_table_against_a_rotated_copy_is_a_rotation(structured):
    q = stats.ortho_group.rvs(16, random_state=1)
    rotated = EmbeddingTable(structured.sample_id, structured.modality, structured.path, structured.label,
                             structured.vectors @ q.astype(np.float32), model="A rotated")
    r = rotation(structured, rotated, seeds=SEEDS)
    for m in ("image", "audio"):
        assert r["numbers"][m]["residual"]["mean"] < 1e-6 and r["numbers"][m]["cka"]["mean"] > 1 - 1e-6
        assert r["numbers"][m]["shuffled residual"]["mean"] > 1.0
    assert r["control"]["image"]["residual"] < 1e-9
    # the assumption holds here: nothing broken to show
    assert r["verdict"] == "not shown" and "not a rotation of each other does not hold" in r["statement"]


def test_two_independently_trained_networks_are_related_but_not_a_rotation():
    import torch

    from mmstudio.analysis.principles.fit import train_net

    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 10))
    y = (x[:, 0] * x[:, 1] > 0).astype(int) + (x[:, 2] > 0.5)

    def hidden(seed):
        net = train_net([x], y, 3, "concat", hidden=32, steps=200, seed=seed)
        with torch.no_grad():
            return net.modules[0][:2](torch.as_tensor(net.standardise([x])[0])).numpy()

    r = rotation(table_of(unit(hidden(0)), model="net 0"), table_of(unit(hidden(1)), model="net 1"), seeds=SEEDS)
    e = r["numbers"]["image"]
    assert 0.1 < e["residual"]["mean"] < 0.6 * e["shuffled residual"]["mean"]
    assert e["cka"]["mean"] > 0.6 > e["shuffled cka"]["mean"]
    assert r["verdict"] == "shown" and "net 0 against net 1" in r["statement"] and "stand-in" not in r["statement"]


def test_random_tables_are_not_related_and_the_stand_in_says_what_it_is(structured):
    rng = np.random.default_rng(11)
    noise = [unit(rng.standard_normal(structured.vectors.shape)) for _ in range(2)]
    a, b = (EmbeddingTable(structured.sample_id, structured.modality, structured.path, structured.label, v)
            for v in noise)
    r = broken_assumptions(a, other=b, part="procrustes")
    assert r.verdict == "not shown" and r.statement.startswith("Not shown on this data"), r.statement
    assert "Shown" not in r.statement and any(not c.held for c in r.checks)
    stand_in = broken_assumptions(structured, part="procrustes")
    assert stand_in.procrustes["stand_in"] and "stand-in, not a second encoder" in stand_in.statement
    assert stand_in.verdict == "not shown" and "no second table was given" in stand_in.statement


def test_too_few_matching_samples_is_one_clear_error(structured):
    few = table_of(structured.vectors[:40], ids=[f"s{i}" for i in range(40)])
    with pytest.raises(ValueError, match=r"only 40 sample ids match .*image 40.*need at least 50"):
        rotation(structured, few, seeds=SEEDS)


# --- the whole principle and its command line -----------------------------------------------------
def test_parts_that_disagree_make_a_mixed_verdict(structured):
    r = broken_assumptions(structured, rho=0.0, seeds=5)
    # no second table: the stand-in is an illustration, so the procrustes part claims nothing
    assert r.part_verdicts == {"independence": "not shown", "imputation": "shown", "procrustes": "not shown"}
    assert r.verdict == "mixed" and r.statement.startswith("Mixed: not shown for independence, procrustes; shown for imputation")
    assert len(r.seeds) == 5 and {c.claim.split(":")[0] for c in r.checks} == {"independence", "imputation",
                                                                               "procrustes"}


def test_cli_json_contract_and_refusals(tmp_path, capsys, structured):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    structured.write(a)
    rng = np.random.default_rng(3)
    other = EmbeddingTable(structured.sample_id, structured.modality, structured.path, structured.label,
                           unit(structured.vectors @ rng.standard_normal((16, 24)) + 0.3 * rng.standard_normal(
                               (len(structured), 24))).astype(np.float32), model="B")
    other.write(b)
    assert main(["principles", "broken-assumptions", "--table", str(a), "--other", str(b), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "shown" and out["summary"] == out["statement"]
    assert len(out["seeds"]) >= 5 and out["parts"] == ["independence", "imputation", "procrustes"]
    assert len(out["headline"]) >= 10
    for name, e in out["headline"].items():
        lo, hi = e["ci95"]
        assert lo <= e["mean"] <= hi and len(e["values"]) == len(out["seeds"]), name
    assert "A against B" in out["procrustes"]["statement"]
    assert all({"claim", "held", "evidence"} <= set(c) for c in out["checks"])
    assert main(["principles", "broken-assumptions", "--part", "imputation", "--seeds", "6"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("broken-assumptions: Shown: imputing") and "mean-filled" in text
    assert "seeds: 0, 1000, 2000, 3000, 4000, 5000 (" in text
    few = tmp_path / "few.parquet"
    table_of(structured.vectors[:30]).write(few)
    for args, words in (
            (["--table", str(a), "--other", str(few)], [f"--other {few}", "only 30 sample ids match"]),
            (["--part", "imputation", "--other", str(b)], ["--part imputation does not use --other"]),
            (["--other", str(tmp_path / "missing.parquet")], ["--other", "missing.parquet"]),
            (["--part", "rotation"], ["--part", "invalid choice"])):
        assert main(["principles", "broken-assumptions", *args]) == 2
        err = capsys.readouterr().err
        assert all(w in err.strip().splitlines()[-1] for w in words), err   # argparse prints its usage above
        assert "Traceback" not in err and (len(err.strip().splitlines()) == 1 or "usage:" in err), err
    assert main(["principles", "poe-moe", "--other", str(b)]) == 2
    assert "poe-moe does not use --other" in capsys.readouterr().err
