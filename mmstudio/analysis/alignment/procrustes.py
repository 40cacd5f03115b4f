"""How far apart two modalities' paired embeddings are up to a rotation: Procrustes and CKA.

- **Orthogonal Procrustes** (as ``scipy.linalg.orthogonal_procrustes``): the orthogonal R
  minimising ‖X R − Y‖_F, no centring or scaling. The residual is ‖X R − Y‖_F; the relative
  residual ‖X R − Y‖²_F / ‖Y‖²_F is 0 when Y is an exact rotation (or reflection) of X.
- **Similarity Procrustes** (as ``scipy.spatial.procrustes``): both sides centred and scaled to
  unit Frobenius norm, then the best rotation and scale; the disparity (sum of squared
  differences left, in [0, 1]) equals 1 − (Σ σᵢ)², σ the singular values of X̃ᵀỸ.
- **Linear CKA** (Kornblith et al. 2019): ‖ỸᵀX̃‖²_F / (‖X̃ᵀX̃‖_F ‖ỸᵀỸ‖_F) on column-centred X̃,
  Ỹ; 1 for representations equal up to rotation and isotropic scale.

Two sides of different widths are compared by padding the narrower one with zero columns.
All arithmetic is float64. With at least as many rows as dimensions, every measure needs only d × d
cross-products and sums, gathered ``CHUNK_ELEMENTS`` values at a time: a million pairs never become a
float64 copy in memory, and every pair counts (no sample).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHUNK_ELEMENTS = 1 << 22  # float64 values per chunk of rows (32 MiB)


def _chunks(n: int, d: int):
    step = max(1, CHUNK_ELEMENTS // max(1, d))
    return (slice(start, start + step) for start in range(0, n, step))


def _rows(m, part, d: int, centre=None) -> np.ndarray:
    """Rows ``part`` of ``m`` in float64, zero-padded to ``d`` columns, minus ``centre``."""
    out = np.zeros((len(m[part]), d))
    out[:, :m.shape[1]] = m[part]
    return out if centre is None else out - centre


def _check(x, y) -> tuple[np.ndarray, np.ndarray, int]:
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise ValueError(f"need two paired 2-D arrays, not {x.shape} and {y.shape}")
    return x, y, max(x.shape[1], y.shape[1])


def _mean(m, d: int) -> np.ndarray:
    """The column means of ``m`` (float64, padded to ``d`` columns)."""
    total = np.zeros(d)
    for part in _chunks(len(m), d):
        total += _rows(m, part, d).sum(axis=0)
    return total / max(1, len(m))


def _pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise ValueError(f"need two paired 2-D arrays, not {x.shape} and {y.shape}")
    d = max(x.shape[1], y.shape[1])
    pad = lambda m: m if m.shape[1] == d else np.hstack([m, np.zeros((len(m), d - m.shape[1]))])  # noqa: E731
    return pad(x), pad(y)


def _cross_svd(x, y, compute_uv: bool = True):
    """The SVD of Xᵀ Y (d × d) for paired X, Y (n × d), computed in the n × n space when n < d.

    With Xᵀ = Q_a A and Yᵀ = Q_b B (thin QR, Q d × n), Xᵀ Y = Q_a (A Bᵀ) Q_bᵀ: the SVD of the
    n × n matrix A Bᵀ = U_k Σ V_kᵀ gives the thin SVD of Xᵀ Y, U = Q_a U_k, V = Q_b V_k, with the
    same singular values (the others are 0). Returns (U, σ, Vᵀ) (U d × k, Vᵀ k × d), or σ alone.
    """
    from mmstudio.analysis.fusion.ridge import one_blas_thread

    n, d = x.shape
    if n >= d:
        return np.linalg.svd(x.T @ y, full_matrices=False, compute_uv=compute_uv)
    with one_blas_thread():  # small factorisations: a second BLAS thread only waits (10× slower on a busy machine)
        qa, a = np.linalg.qr(x.T)
        qb, b = np.linalg.qr(y.T)
        if not compute_uv:
            return np.linalg.svd(a @ b.T, compute_uv=False)
        uk, s, vkt = np.linalg.svd(a @ b.T)
    return qa @ uk, s, vkt @ qb.T


@dataclass
class OrthogonalFit:
    """The orthogonal map R of X onto Y, kept as its thin factors (R = U Vᵀ on the rows' span)."""

    u: np.ndarray  # d × k
    vt: np.ndarray  # k × d
    residual: float  # ‖X R − Y‖_F
    relative: float  # ‖X R − Y‖²_F / ‖Y‖²_F

    @property
    def rotation(self) -> np.ndarray:
        """R as a d × d orthogonal matrix. When X had fewer rows than columns, R is fixed only on
        the span of X's rows; it is completed there by an orthonormal map between the two
        complements (any completion gives the same X R and residual)."""
        d, k = self.u.shape
        r = self.u @ self.vt
        if k < d:
            qu = np.linalg.qr(self.u, mode="complete")[0][:, k:]
            qv = np.linalg.qr(self.vt.T, mode="complete")[0][:, k:]
            r = r + qu @ qv.T
        return r


def orthogonal_procrustes(x, y) -> OrthogonalFit:
    """The orthogonal map of X onto Y (``scipy.linalg.orthogonal_procrustes(X, Y)``) and what it leaves.

    Costs O(n d²) with n ≥ d rows (in chunks), O(n² d) with fewer (the SVD then runs on an n × n matrix)."""
    x, y, d = _check(x, y)
    if len(x) < d:
        x, y = _pair(x, y)
        u, _, vt = _cross_svd(x, y)
        residual = float(np.linalg.norm((x @ u) @ vt - y))
        total = float(np.sum(y * y))
    else:
        cross = np.zeros((d, d))
        for part in _chunks(len(x), d):
            cross += _rows(x, part, d).T @ _rows(y, part, d)
        u, _, vt = np.linalg.svd(cross, full_matrices=False)
        rotation, squares, total = u @ vt, 0.0, 0.0
        for part in _chunks(len(x), d):
            yc = _rows(y, part, d)
            squares += float(np.sum((_rows(x, part, d) @ rotation - yc) ** 2))
            total += float(np.sum(yc * yc))
        residual = float(np.sqrt(squares))
    return OrthogonalFit(u, vt, residual, residual ** 2 / total if total > 0 else float("nan"))


def similarity_procrustes(x, y) -> float:
    """The disparity of ``scipy.spatial.procrustes(X, Y)``: 0 for shapes equal up to shift, rotation and scale."""
    x, y, d = _check(x, y)
    if len(x) < d:
        x, y = _pair(x, y)
        x = x - x.mean(axis=0)
        y = y - y.mean(axis=0)
        nx, ny = np.linalg.norm(x), np.linalg.norm(y)
        if nx == 0 or ny == 0:
            raise ValueError("Procrustes needs more than one distinct point on each side")
        s = _cross_svd(x / nx, y / ny, compute_uv=False)
        return float(max(0.0, 1.0 - s.sum() ** 2))
    mx, my = _mean(x, d), _mean(y, d)
    cross, sxx, syy = np.zeros((d, d)), 0.0, 0.0
    for part in _chunks(len(x), d):
        xc, yc = _rows(x, part, d, mx), _rows(y, part, d, my)
        cross += xc.T @ yc
        sxx += float(np.sum(xc * xc))
        syy += float(np.sum(yc * yc))
    if sxx == 0 or syy == 0:
        raise ValueError("Procrustes needs more than one distinct point on each side")
    s = np.linalg.svd(cross / np.sqrt(sxx * syy), compute_uv=False)
    return float(max(0.0, 1.0 - s.sum() ** 2))


def linear_cka(x, y) -> float:
    """Linear centred kernel alignment between paired representations (rows are samples)."""
    x, y = np.asarray(x), np.asarray(y)
    if len(x) < max(x.shape[1], y.shape[1]):  # the same sums over n × n Gram matrices: ‖YᵀX‖²_F = Σ (XXᵀ ∘ YYᵀ)
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        x = x - x.mean(axis=0)
        y = y - y.mean(axis=0)
        gx, gy = x @ x.T, y @ y.T
        cross, norm = float(np.sum(gx * gy)), np.linalg.norm(gx) * np.linalg.norm(gy)
    else:
        mx, my = _mean(x, x.shape[1]), _mean(y, y.shape[1])
        xx, yy, yx = np.zeros((x.shape[1],) * 2), np.zeros((y.shape[1],) * 2), np.zeros((y.shape[1], x.shape[1]))
        for part in _chunks(len(x), max(x.shape[1], y.shape[1])):
            xc, yc = _rows(x, part, x.shape[1], mx), _rows(y, part, y.shape[1], my)
            xx += xc.T @ xc
            yy += yc.T @ yc
            yx += yc.T @ xc
        cross = np.linalg.norm(yx) ** 2
        norm = np.linalg.norm(xx) * np.linalg.norm(yy)
    return float(cross / norm) if norm > 0 else float("nan")
