"""The partial information decomposition (the BROJA form Liang et al. 2023 estimate): closed forms of
the textbook gates, the identity R + U1 + U2 + S = I(X1,X2;Y), the minimiser's marginals, and the
minimum checked against scipy's general-purpose constrained minimiser on the same problem."""

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.metrics import mutual_info_score

from mmstudio.analysis.principles.pid import decompose, informations, joint, mutual_information


def gate(rule) -> np.ndarray:
    """p(x1, x2, y) of two uniform independent bits and y = rule(x1, x2)."""
    p = np.zeros((2, 2, 2))
    for a in (0, 1):
        for b in (0, 1):
            p[a, b, rule(a, b)] += 0.25
    return p


COPY = np.zeros((2, 2, 2))
COPY[0, 0, 0] = COPY[1, 1, 1] = 0.5          # Y = X1 = X2, a uniform bit

# (R, U1, U2, S) in bits: XOR is pure synergy, a copied bit pure redundancy, Y = X1 with an independent X2
# is X1's unique bit; AND (Bertschinger et al. 2014, Table 1): R = I(X1;Y) = 1.5 − ¾·log₂3 ≈ 0.311, U = 0,
# S = ½ bit.
AND_R = 1.5 - 0.75 * np.log2(3)
CASES = {
    "xor": (gate(lambda a, b: a ^ b), (0.0, 0.0, 0.0, 1.0)),
    "copy": (COPY, (1.0, 0.0, 0.0, 0.0)),
    "unique x1": (gate(lambda a, b: a), (0.0, 1.0, 0.0, 0.0)),
    "unique x2": (gate(lambda a, b: b), (0.0, 0.0, 1.0, 0.0)),
    "and": (gate(lambda a, b: a & b), (AND_R, 0.0, 0.0, 0.5)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_closed_forms(name):
    p, expected = CASES[name]
    r = decompose(p)
    np.testing.assert_allclose(r.atoms(), expected, atol=1e-3)
    assert sum(r.atoms()) == pytest.approx(r.info_joint, abs=1e-12)
    assert r.bound < 1e-5


def random_distribution(rng, shape, kind):
    """A plug-in distribution of 300 samples: no relation, an interaction, or mostly X1 with X2 a noisy copy of Y."""
    n1, n2, ny = shape
    x1, x2 = rng.integers(0, n1, 300), rng.integers(0, n2, 300)
    if kind == "none":
        y = rng.integers(0, ny, 300)
    elif kind == "interaction":
        y = (x1 + x2) % ny
    else:
        y = np.where(rng.random(300) < 0.8, x1 % ny, rng.integers(0, ny, 300))
        x2 = np.where(rng.random(300) < 0.6, y % n2, x2)
    return joint(x1, x2, y, shape)


def conditional_information(q) -> float:
    """I_q(X1;Y | X2) in bits."""
    return sum(q[:, j, :].sum() * mutual_information(q[:, j, :] / q[:, j, :].sum())
               for j in range(q.shape[1]) if q[:, j, :].sum() > 0)


@pytest.mark.parametrize("shape", [(3, 4, 2), (6, 6, 6), (8, 5, 3)])
@pytest.mark.parametrize("kind", ["none", "interaction", "mostly x1"])
def test_the_atoms_add_up_and_the_minimiser_keeps_the_pairs(shape, kind):
    p = random_distribution(np.random.default_rng(sum(shape)), shape, kind)
    r = decompose(p)
    i1, i2, i12 = informations(p)
    assert min(r.atoms()) >= 0
    assert r.redundancy + r.unique1 + r.unique2 + r.synergy == pytest.approx(i12, abs=1e-12)
    assert (r.info1, r.info2, r.info_joint) == (i1, i2, i12)
    # q is in Δ_p: it has p's (x1, y) and (x2, y) pairs, so the same I(X1;Y) and I(X2;Y)
    np.testing.assert_allclose(r.q.sum(1), p.sum(1), atol=1e-8)
    np.testing.assert_allclose(r.q.sum(0), p.sum(0), atol=1e-8)
    assert informations(r.q)[:2] == pytest.approx((i1, i2), abs=1e-7)
    # the atoms by their other definitions, at the minimiser: U1 = I_q(X1;Y|X2), R = co-information
    assert r.unique1 == pytest.approx(conditional_information(r.q), abs=1e-6)
    assert r.redundancy == pytest.approx(i1 + i2 - informations(r.q)[2], abs=1e-6)
    assert r.synergy == pytest.approx(i12 - informations(r.q)[2], abs=1e-6)


def scipy_minimum(p) -> float:
    """min over Δ_p of I_q(X1,X2;Y) in bits by scipy.optimize.minimize (SLSQP) on every entry of q."""
    n1, n2, ny = p.shape
    rows, rhs = [], []
    for axis, marginal in ((1, p.sum(1)), (0, p.sum(0))):       # q(x1, y) = p(x1, y), q(x2, y) = p(x2, y)
        for i in range(marginal.shape[0]):
            for y in range(ny):
                m = np.zeros((n1, n2, ny))
                if axis == 1:
                    m[i, :, y] = 1
                else:
                    m[:, i, y] = 1
                rows.append(m.ravel())
                rhs.append(marginal[i, y])
    # the rows are dependent (both families sum to p(y)): keep an orthonormal basis of their span
    u, sv, vt = np.linalg.svd(np.array(rows), full_matrices=False)
    rank = int((sv > 1e-10 * sv[0]).sum())
    a, b = vt[:rank], (u[:, :rank].T @ np.array(rhs)) / sv[:rank]

    def objective(x):
        q = np.maximum(x.reshape(p.shape), 1e-300)
        log_ratio = np.log(q) - np.log(q.sum(2, keepdims=True))
        return float((q * log_ratio).sum()), log_ratio.ravel()

    start = (p.sum(1)[:, None, :] * p.sum(0)[None, :, :] / np.maximum(p.sum((0, 1)), 1e-300)).ravel()
    out = minimize(objective, start, jac=True, method="SLSQP", bounds=[(0, 1)] * p.size,
                   constraints=[{"type": "eq", "fun": lambda x: a @ x - b, "jac": lambda x: a}],
                   options={"maxiter": 1000, "ftol": 1e-15})
    q = np.maximum(out.x.reshape(p.shape), 0)
    return informations(q / q.sum())[2]


@pytest.mark.parametrize("seed", range(6))
def test_the_minimum_matches_scipys_constrained_minimiser(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(2, 4, 3))
    p = random_distribution(rng, shape, ["none", "interaction", "mostly x1"][seed % 3])
    r = decompose(p)
    reference = scipy_minimum(p)
    # as low as scipy's (SLSQP stops up to a few 1e-4 above the minimum on a boundary optimum), never lower
    # than the minimum can be: q keeps p's pairs
    assert reference - 1e-3 <= r.info_min <= reference + 1e-7
    np.testing.assert_allclose(r.q.sum(1), p.sum(1), atol=1e-9)
    np.testing.assert_allclose(r.q.sum(0), p.sum(0), atol=1e-9)


def test_plug_in_information_is_scikit_learns():
    rng = np.random.default_rng(4)
    x1, x2 = rng.integers(0, 5, 500), rng.integers(0, 4, 500)
    y = (x1 + rng.integers(0, 2, 500) * x2) % 3
    i1, i2, i12 = informations(joint(x1, x2, y, (5, 4, 3)))
    ln2 = np.log(2)
    assert i1 == pytest.approx(mutual_info_score(x1, y) / ln2, abs=1e-12)
    assert i2 == pytest.approx(mutual_info_score(x2, y) / ln2, abs=1e-12)
    assert i12 == pytest.approx(mutual_info_score(x1 * 4 + x2, y) / ln2, abs=1e-12)


def test_a_non_distribution_is_refused():
    with pytest.raises(ValueError, match="joint distribution"):
        decompose(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="joint distribution"):
        decompose(np.ones((4, 2)) / 8)
