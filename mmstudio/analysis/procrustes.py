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
All arithmetic is float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise ValueError(f"need two paired 2-D arrays, not {x.shape} and {y.shape}")
    d = max(x.shape[1], y.shape[1])
    pad = lambda m: m if m.shape[1] == d else np.hstack([m, np.zeros((len(m), d - m.shape[1]))])  # noqa: E731
    return pad(x), pad(y)


@dataclass
class OrthogonalFit:
    rotation: np.ndarray  # d × d, orthogonal
    residual: float  # ‖X R − Y‖_F
    relative: float  # ‖X R − Y‖²_F / ‖Y‖²_F


def orthogonal_procrustes(x, y) -> OrthogonalFit:
    """The orthogonal map of X onto Y (``scipy.linalg.orthogonal_procrustes(X, Y)``) and what it leaves."""
    x, y = _pair(x, y)
    u, _, vt = np.linalg.svd(x.T @ y, full_matrices=False)
    rotation = u @ vt
    residual = float(np.linalg.norm(x @ rotation - y))
    total = float(np.sum(y * y))
    return OrthogonalFit(rotation, residual, residual ** 2 / total if total > 0 else float("nan"))


def similarity_procrustes(x, y) -> float:
    """The disparity of ``scipy.spatial.procrustes(X, Y)``: 0 for shapes equal up to shift, rotation and scale."""
    x, y = _pair(x, y)
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    nx, ny = np.linalg.norm(x), np.linalg.norm(y)
    if nx == 0 or ny == 0:
        raise ValueError("Procrustes needs more than one distinct point on each side")
    s = np.linalg.svd((x / nx).T @ (y / ny), compute_uv=False)
    return float(max(0.0, 1.0 - s.sum() ** 2))


def linear_cka(x, y) -> float:
    """Linear centred kernel alignment between paired representations (rows are samples)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    cross = np.linalg.norm(y.T @ x) ** 2
    norm = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    return float(cross / norm) if norm > 0 else float("nan")
