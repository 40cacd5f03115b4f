"""Partial information decomposition (PID) of what two discrete sources X1, X2 tell about a target Y:
redundancy R, the unique information U1 and U2 of each source and synergy S, in bits, in the form of
Bertschinger, Rauh, Olbrich, Jost & Ay (2014) that Liang et al. estimate with their CVX estimator
("Quantifying & Modeling Multimodal Interactions: An Information Decomposition Framework", NeurIPS 2023).

Δ_p is the set of distributions q(x1, x2, y) with the same pairs as p: q(x1, y) = p(x1, y) and
q(x2, y) = p(x2, y). On Δ_p, I(X1;Y), I(X2;Y) and H(Y) are fixed; the q that maximises H_q(Y | X1, X2),
i.e. minimises I_q(X1, X2; Y), keeps what the pairs force and nothing that needs the triple. With it:

- R  = I(X1;Y) + I(X2;Y) − I_q(X1,X2;Y)    (= the largest co-information on Δ_p)
- U1 = I_q(X1,X2;Y) − I(X2;Y)              (= the smallest I_q(X1;Y | X2) on Δ_p), U2 likewise
- S  = I_p(X1,X2;Y) − I_q(X1,X2;Y)

so R + U1 + U2 + S = I_p(X1,X2;Y), and each is ≥ 0.

The minimisation is convex (I_q(X1,X2;Y) = Σ q log q(y | x1, x2) + H(Y), linear constraints) and is
solved here by a log-barrier interior-point method: Newton steps on the entries of q that the
pairs allow (those with p(x1, y) > 0 and p(x2, y) > 0), a barrier −ε Σ log q(x1, x2) on the cells
(x1, x2) so that the cells the optimum empties stay inside, and ε shrunk until ε · (number of
cells) — the bound on the distance to the optimum — is below 1e-9 nats (or the Newton system becomes
singular to rounding first: the bound reached is returned with the result).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LN2 = float(np.log(2.0))
GAP = 1e-9  # nats: the barrier's bound on I_q − min I_q at the end


def joint(x1: np.ndarray, x2: np.ndarray, y: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """The plug-in distribution p(x1, x2, y) of integer samples, of the given shape."""
    n1, n2, ny = shape
    counts = np.bincount((np.asarray(x1) * n2 + np.asarray(x2)) * ny + np.asarray(y), minlength=n1 * n2 * ny)
    return counts.reshape(shape) / max(len(y), 1)


def mutual_information(pxy: np.ndarray) -> float:
    """I(X;Y) in bits of a two-dimensional joint distribution."""
    pxy = np.asarray(pxy, np.float64)
    outer = pxy.sum(1, keepdims=True) * pxy.sum(0, keepdims=True)
    nz = pxy > 0
    return float(max((pxy[nz] * np.log(pxy[nz] / outer[nz])).sum(), 0.0) / LN2)


def informations(p: np.ndarray) -> tuple[float, float, float]:
    """I(X1;Y), I(X2;Y), I(X1,X2;Y) in bits of p(x1, x2, y)."""
    n1, n2, ny = p.shape
    return mutual_information(p.sum(1)), mutual_information(p.sum(0)), mutual_information(p.reshape(n1 * n2, ny))


@dataclass
class PID:
    """The decomposition of I(X1,X2;Y), in bits."""

    redundancy: float
    unique1: float
    unique2: float
    synergy: float
    info1: float        # I(X1;Y)
    info2: float        # I(X2;Y)
    info_joint: float   # I(X1,X2;Y) under p
    info_min: float     # min over Δ_p of I_q(X1,X2;Y)
    q: np.ndarray       # the minimiser, shaped like p
    newton_steps: int
    bound: float        # bits: the solver's bound on I_q(X1,X2;Y) − min I_q (so on the error of every atom)

    def atoms(self) -> tuple[float, float, float, float]:
        return self.redundancy, self.unique1, self.unique2, self.synergy


def decompose(p: np.ndarray) -> PID:
    """The PID of p(x1, x2, y) (an array of shape (n1, n2, ny), summing to 1)."""
    p = np.asarray(p, np.float64)
    if p.ndim != 3 or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise ValueError("decompose needs a joint distribution p(x1, x2, y): a 3-d array of non-negative numbers "
                         "summing to 1")
    i1, i2, i12 = informations(p)
    q, steps, bound = min_information_coupling(p)
    n1, n2, ny = p.shape
    i_min = mutual_information(q.reshape(n1 * n2, ny))
    # the optimum lies in [max(I1, I2), min(I12, I1 + I2)] (p itself and the coupling with X1 ⊥ X2 | Y
    # are in Δ_p); the solver's last ~1e-11 and rounding are kept inside, so that every atom is ≥ 0
    i_min = min(max(i_min, i1, i2), i12, i1 + i2)
    atoms = np.maximum([i1 + i2 - i_min, i_min - i2, i_min - i1, i12 - i_min], 0.0)  # (−1e-16 is 0)
    return PID(*map(float, atoms), i1, i2, i12, i_min, q, steps, bound / LN2)


def min_information_coupling(p: np.ndarray, gap: float = GAP, max_steps: int = 200) -> tuple[np.ndarray, int, float]:
    """argmin over Δ_p of I_q(X1,X2;Y) (see the module), the number of Newton steps taken, and the
    bound on I_q − min I_q it reached (nats)."""
    p = np.asarray(p, np.float64)
    n1, n2, ny = p.shape
    a, b = p.sum(1), p.sum(0)                      # p(x1, y), p(x2, y)
    py = a.sum(0)
    x1, x2, y = np.nonzero((a > 0)[:, None, :] & (b > 0)[None, :, :])
    n = len(y)
    cells, cell = np.unique(x1 * n2 + x2, return_inverse=True)
    c = len(cells)
    in_cell = np.zeros((c, n))
    in_cell[cell, np.arange(n)] = 1.0
    constraints = _constraints(a > 0, b > 0, x1, x2, y)
    # the start: X1 and X2 independent given Y, inside Δ_p and > 0 on every entry the pairs allow
    q = a[x1, y] * b[x2, y] / py[y]
    target = constraints @ q
    steps, eps, last = 0, 0.1, gap / c
    centred, centred_eps = q, eps
    while True:
        for _ in range(max_steps):
            f, s = _objective(q, in_cell, eps)
            grad = np.log(q) - np.log(s[cell]) - eps / s[cell]
            direction = _newton_direction(q, grad, s, cell, in_cell, constraints, constraints @ q - target, eps)
            steps += 1
            if direction is None:
                # the cells the optimum empties make the system singular to rounding at this ε: the
                # last centred point is within (number of cells) · its ε of the optimum
                return _entries(p.shape, (x1, x2, y), centred), steps, c * centred_eps
            decrement = -float(grad @ direction)
            if decrement < 1e-14:
                break
            moved = _line_search(q, direction, f, decrement, in_cell, eps)
            if moved is q:      # no descent left at this ε (rounding): as close as it gets
                break
            q = moved
        centred, centred_eps = q, eps
        if eps <= last:
            break
        eps = max(eps / 50.0, last)
    return _entries(p.shape, (x1, x2, y), q), steps, c * eps


def _entries(shape, index, values) -> np.ndarray:
    out = np.zeros(shape)
    out[index] = values
    return out


def _constraints(allowed_a, allowed_b, x1, x2, y) -> np.ndarray:
    """The rows of q(x1, y) = p(x1, y) and q(x2, y) = p(x2, y) over the entries, less one q(x2, y) row per
    y (implied by the others: both sides sum to p(y)), so that they are independent."""
    rows_a = -np.ones(allowed_a.shape, int)
    rows_a[allowed_a] = np.arange(allowed_a.sum())
    kept_b = allowed_b.copy()
    ys = np.nonzero(allowed_b.any(0))[0]
    kept_b[allowed_b.argmax(0)[ys], ys] = False
    rows_b = -np.ones(allowed_b.shape, int)
    rows_b[kept_b] = allowed_a.sum() + np.arange(kept_b.sum())
    matrix = np.zeros((allowed_a.sum() + kept_b.sum(), len(y)))
    entries = np.arange(len(y))
    matrix[rows_a[x1, y], entries] = 1.0
    on_b = rows_b[x2, y] >= 0
    matrix[rows_b[x2, y][on_b], entries[on_b]] = 1.0
    return matrix


def _objective(q, in_cell, eps):
    """Σ q log(q / s) − ε Σ log s, s the cells' masses (nats)."""
    s = in_cell @ q
    return float((q * np.log(q)).sum() - (s * np.log(s)).sum() - eps * np.log(s).sum()), s


def _newton_direction(q, grad, s, cell, in_cell, constraints, residual, eps):
    """The Newton step that keeps the constraints (and takes back ``residual``, the rounding they drifted
    by): the Hessian is one block per cell, diag(1/q) − (s − ε)/s² · 11ᵀ, whose inverse is
    diag(q) + (s − ε)/(ε s) · q qᵀ; ``None`` when the system is singular to rounding."""
    weight = (s - eps) / (eps * s)
    columns = np.column_stack([constraints.T, grad])           # H⁻¹ of Aᵀ and of the gradient at once
    qv = q[:, None] * columns
    h_cols = qv + q[:, None] * (weight[:, None] * (in_cell @ qv))[cell]
    h_at, h_grad = h_cols[:, :-1], h_cols[:, -1]
    system = constraints @ h_at
    scale = 1.0 / np.sqrt(np.diag(system))          # Jacobi scaling: the cells' weights span many decades
    try:
        multipliers = scale * np.linalg.solve(system * scale[:, None] * scale[None, :],
                                              scale * (residual - constraints @ h_grad))
    except np.linalg.LinAlgError:
        return None
    direction = -(h_grad + h_at @ multipliers)
    if not np.all(np.isfinite(direction)) or np.abs(constraints @ direction + residual).max() > 1e-9:
        return None                                  # rounding would take it out of Δ_p
    return direction


def _line_search(q, direction, f, decrement, in_cell, eps):
    """Backtracking (Armijo) from the longest step that keeps every entry > 0."""
    shrinking = direction < 0
    t = min(1.0, 0.99 * float(np.min(-q[shrinking] / direction[shrinking]))) if shrinking.any() else 1.0
    while True:
        candidate = q + t * direction
        if np.all(candidate > 0):
            value, _ = _objective(candidate, in_cell, eps)
            if value <= f - 0.25 * t * decrement:
                return candidate
        if t < 1e-12:
            return q
        t *= 0.5
