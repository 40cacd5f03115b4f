"""Closed-form ridge regression for the fusion lab's cross-modal imputation, and one-thread BLAS.

:func:`ridge_from_moments` fits ``y ≈ x W + b`` from centred moments, the penalty chosen by
generalised cross-validation; the imputer computes the moments of all modalities once and reads
every (target, sources) map out of them (:class:`mmstudio.analysis.fusion.missing.Imputer`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RidgeMap:
    W: np.ndarray   # (P, Q)
    b: np.ndarray   # (Q,)
    penalty: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        return x @ self.W + self.b


def fit_ridge(x: np.ndarray, y: np.ndarray, penalties=None) -> RidgeMap:
    """Ridge regression ``y ≈ x W + b`` in closed form; see :func:`ridge_from_moments`."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    mx, my = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - mx, y - my
    return ridge_from_moments(xc.T @ xc, xc.T @ yc, float((yc * yc).sum()), mx, my, len(x), penalties)


def ridge_from_moments(cxx, cxy, yy: float, mx, my, n: int, penalties=None, eig=None) -> RidgeMap:
    """Ridge regression from centred moments: ``cxx`` = Xcᵀ Xc, ``cxy`` = Xcᵀ Yc, ``yy`` = ‖Yc‖², the
    means and the row count. The penalty is the one of ``penalties`` (default: 13 log-spaced multiples
    of the mean eigenvalue) with the smallest generalised cross-validation error. ``eig``: the
    eigen-decomposition of ``cxx`` if already known (maps that share their inputs share it)."""
    evals, evecs = eig if eig is not None else eigh(cxx)
    evals = np.clip(evals, 0, None)
    z = evecs.T @ cxy                         # (P, Q)
    z2 = (z * z).sum(axis=1)
    scale = max(float(evals.sum()) / max(len(evals), 1), 1e-12)
    grid = np.asarray(penalties if penalties is not None else scale * np.logspace(-4, 2, 13), np.float64)
    best, best_gcv = grid[0], np.inf
    for lam in grid:
        d = evals + lam
        rss = yy - 2 * np.sum(z2 / d) + np.sum(evals * z2 / d**2)
        df = np.sum(evals / d)
        gcv = n * max(rss, 0.0) / max(n - df, 1e-9) ** 2
        if gcv < best_gcv:
            best, best_gcv = lam, gcv
    W = evecs @ (z / (evals + best)[:, None])
    b = np.asarray(my, np.float64) - np.asarray(mx, np.float64) @ W
    return RidgeMap(W.astype(np.float32), b.astype(np.float32), float(best))


def eigh(matrix: np.ndarray):
    """``np.linalg.eigh`` in float64 on one BLAS thread (see :func:`one_blas_thread`)."""
    with one_blas_thread():
        return np.linalg.eigh(np.asarray(matrix, np.float64))


_CONTROLLER = []


def one_blas_thread():
    """A context in which numpy's BLAS runs on one thread. The fusion lab's products are small (a few
    thousand rows × a few hundred columns): on a busy 2-core machine a second BLAS thread only waits
    for a descheduled core (a 3,000 × 384 × 10 product: 1.3 ms on one thread, 4.7 ms on two)."""
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER.append(ThreadpoolController())
        except ImportError:  # pragma: no cover - comes with scikit-learn
            _CONTROLLER.append(None)
    if _CONTROLLER[0] is None:  # pragma: no cover
        from contextlib import nullcontext

        return nullcontext()
    return _CONTROLLER[0].limit(limits=1, user_api="blas")
