"""Procrustes against scipy, CKA against its definition, and the near-linear / twisted diagnosis."""

import numpy as np
import pytest
import scipy.linalg
import scipy.spatial
from scipy.stats import special_ortho_group
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score as sklearn_r2

from mmstudio.analysis.alignment.maps import diagnose_maps, fit_linear, r2_score
from mmstudio.analysis.alignment.procrustes import linear_cka, orthogonal_procrustes, similarity_procrustes


@pytest.fixture
def paired():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 6))
    y = x @ rng.normal(size=(6, 6)) + 0.3 * rng.normal(size=(80, 6)) + 1.0
    return x, y


def test_orthogonal_procrustes_agrees_with_scipy(paired):
    x, y = paired
    rotation, _ = scipy.linalg.orthogonal_procrustes(x, y)
    fit = orthogonal_procrustes(x, y)
    np.testing.assert_allclose(fit.rotation, rotation, atol=1e-10)
    assert fit.residual == pytest.approx(np.linalg.norm(x @ rotation - y))
    assert fit.relative == pytest.approx(np.linalg.norm(x @ rotation - y) ** 2 / np.sum(y ** 2))


def test_similarity_procrustes_agrees_with_scipy(paired):
    x, y = paired
    assert similarity_procrustes(x, y) == pytest.approx(scipy.spatial.procrustes(x, y)[2], abs=1e-12)
    rng = np.random.default_rng(5)
    z = rng.normal(size=(80, 6))
    assert similarity_procrustes(x, z) == pytest.approx(scipy.spatial.procrustes(x, z)[2], abs=1e-12)


def test_a_known_rotation_is_recovered_and_diagnosed_near_linear():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = special_ortho_group.rvs(16, random_state=2)
    y = x @ q
    fit = orthogonal_procrustes(x, y)
    np.testing.assert_allclose(fit.rotation, q, atol=1e-8)
    assert fit.residual < 1e-8 and fit.relative < 1e-15
    assert similarity_procrustes(x, 3 * y + 1) < 1e-12
    diagnosis = diagnose_maps(x, y, steps=100)
    assert diagnosis.verdict == "near-linear"
    assert diagnosis.linear.r2 > 0.999 and diagnosis.linear.r1 == 1.0
    assert diagnosis.sentence.startswith("near-linear") and f"{diagnosis.linear.r2:.3f}" in diagnosis.sentence


def test_a_per_coordinate_cubic_is_diagnosed_non_linear():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(800, 8))
    y = (x @ special_ortho_group.rvs(8, random_state=4)) ** 3
    diagnosis = diagnose_maps(x, y, hidden=128, steps=200)
    assert diagnosis.verdict == "non-linear (twisted)"
    assert diagnosis.mlp.r2 > diagnosis.linear.r2 + 0.15
    assert diagnosis.linear.r2 == pytest.approx(0.6, abs=0.1)  # corr(x, x³)² = 9/15 for a standard normal
    for number in (diagnosis.linear.r2, diagnosis.mlp.r2):
        assert f"{number:.3f}" in diagnosis.sentence
    assert diagnosis.n_train + diagnosis.n_test == 800


def test_unrelated_sides_are_said_to_be_unrelated():
    rng = np.random.default_rng(6)
    diagnosis = diagnose_maps(rng.normal(size=(300, 4)), rng.normal(size=(300, 4)), steps=50)
    assert diagnosis.verdict == "unrelated"


def test_linear_map_is_least_squares_and_r2_is_sklearns(paired):
    x, y = paired
    fit = fit_linear(x, y, alphas=(0.0,))
    reference = LinearRegression().fit(x, y)
    np.testing.assert_allclose(fit.weight, reference.coef_.T, atol=1e-10)
    np.testing.assert_allclose(fit.bias, reference.intercept_, atol=1e-10)
    prediction = x @ fit.weight + fit.bias + 0.1
    assert r2_score(y, prediction) == pytest.approx(sklearn_r2(y, prediction, multioutput="variance_weighted"))


def cka_from_gram(x, y):
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l_ = x @ x.T, y @ y.T
    hsic = lambda p, q: np.trace(p @ h @ q @ h)  # noqa: E731
    return hsic(k, l_) / np.sqrt(hsic(k, k) * hsic(l_, l_))


def test_linear_cka_matches_the_centred_gram_formula_and_its_invariances(paired):
    x, y = paired
    y = np.tanh(y) + np.random.default_rng(7).normal(size=y.shape)
    assert linear_cka(x, y) == pytest.approx(cka_from_gram(x, y), rel=1e-10)
    rng = np.random.default_rng(8)
    wide = rng.normal(size=(80, 11))
    assert linear_cka(x, wide) == pytest.approx(cka_from_gram(x, wide), rel=1e-10)
    q = special_ortho_group.rvs(6, random_state=9)
    assert linear_cka(x @ q * 4.5, y) == pytest.approx(linear_cka(x, y), rel=1e-10)
    assert linear_cka(x, x @ q * 0.2) == pytest.approx(1.0)


@pytest.mark.parametrize("n,d", [(300, 20), (40, 60)])  # more pairs than dimensions, and fewer
def test_linear_map_is_sklearns_ridge_at_the_alpha_it_picked(n, d):
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, d))
    y = x[:, :3] @ rng.normal(size=(3, 4)) + 0.5 * rng.normal(size=(n, 4))
    fit = fit_linear(x, y)
    assert fit.alpha > 0 or n > d
    reference = Ridge(alpha=fit.alpha).fit(x, y)
    np.testing.assert_allclose(fit.weight, reference.coef_.T, atol=1e-8)
    np.testing.assert_allclose(fit.bias, reference.intercept_, atol=1e-8)


@pytest.mark.parametrize("n, d", [(5, 12), (7, 40), (2, 9), (30, 31)])
def test_fewer_pairs_than_dimensions_agree_with_scipy(n, d):
    """With n < d the SVD runs on an n × n matrix; the map on X's rows, the residual and the disparity
    are scipy's (R itself is free on the directions X does not reach)."""
    rng = np.random.default_rng(n * d)
    x = rng.normal(size=(n, d))
    y = x @ rng.normal(size=(d, d)) / np.sqrt(d) + 0.5 * rng.normal(size=(n, d))
    rotation, _ = scipy.linalg.orthogonal_procrustes(x, y)
    fit = orthogonal_procrustes(x, y)
    assert fit.u.shape == (d, n) and fit.vt.shape == (n, d)
    np.testing.assert_allclose(x @ fit.rotation, x @ rotation, atol=1e-10)
    np.testing.assert_allclose(fit.rotation.T @ fit.rotation, np.eye(d), atol=1e-10)
    assert fit.residual == pytest.approx(np.linalg.norm(x @ rotation - y), rel=1e-12)
    assert similarity_procrustes(x, y) == pytest.approx(scipy.spatial.procrustes(x, y)[2], abs=1e-12)
    xc, yc = x - x.mean(axis=0), y - y.mean(axis=0)
    by_definition = np.linalg.norm(yc.T @ xc) ** 2 / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc))
    assert linear_cka(x, y) == pytest.approx(by_definition, rel=1e-12)


def test_a_wide_table_costs_an_n_by_n_svd_not_a_d_by_d_one(monkeypatch):
    """Few rows, many dimensions (align on 180 rows × 4096-d took minutes): every SVD is at most n × n."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 1024)), rng.normal(size=(60, 1024))
    shapes = []
    real = np.linalg.svd
    monkeypatch.setattr(np.linalg, "svd", lambda a, *args, **kw: shapes.append(a.shape) or real(a, *args, **kw))
    orthogonal_procrustes(x, y)
    similarity_procrustes(x, y)
    linear_cka(x, y)
    assert shapes and all(max(s) <= 60 for s in shapes)


def test_the_map_r1_is_reported_beside_the_unmapped_r1_on_the_same_held_out_gallery():
    """A map's R@1 means something only next to the embeddings' own R@1 on the same pairs."""
    from mmstudio.analysis.alignment.retrieval import ranks_from_similarity, similarity_matrix

    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 12))
    y = x + 0.8 * rng.normal(size=x.shape)          # already aligned, noisily: no map needed
    d = diagnose_maps(x, y, steps=50)
    order = np.random.default_rng(0).permutation(len(x))
    test = order[: d.n_test]
    direct = float(np.mean(ranks_from_similarity(similarity_matrix(x[test], y[test])) == 1))
    assert d.unmapped_r1 == pytest.approx(direct)
    assert f"on the same {d.n_test} held-out pairs: unmapped {direct:.3f}" in d.sentence
    assert d.to_dict()["unmapped"]["R@1"] == pytest.approx(direct)
    wider = diagnose_maps(x, np.hstack([y, y]), steps=50)      # other widths: no unmapped baseline
    assert wider.unmapped_r1 is None and "unmapped" not in wider.sentence
