"""Exact PCA of an n × d float32 matrix by the eigenvectors of its d × d covariance (numpy's BLAS, no torch).

:func:`pca_basis` gives the mean and the first components (signs as scikit-learn's ``PCA`` chooses them:
each component's largest loading positive); :func:`reduce` projects rows on them in chunks. The 2-D preview
(``project.pca_2d``) and the landmark map's reduced space (``landmark_map``) both come from here.
"""

from __future__ import annotations

import numpy as np

from mmstudio.analysis.projection.blocks import one_blas_thread, run_blocks

GRAM_ROWS = 65_536  # rows per block of the Gram matrix: float32 sums over at most this many rows


def pca_basis(vectors, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, components)`` of ``vectors`` (n × d): the d-vector mean (float64) and the first ``dims``
    principal axes as a d × dims float32 matrix (fewer when d is smaller)."""
    x = np.asarray(vectors, dtype=np.float32)
    n, d = x.shape
    dims = max(0, min(int(dims), d))
    mean = x.mean(axis=0, dtype=np.float64) if n else np.zeros(d)
    if n < 2 or dims == 0:
        return mean, np.eye(d, dims, dtype=np.float32)
    if n * d <= 4_000_000:
        centred = x.astype(np.float64) - mean
        cov = centred.T @ centred
    else:  # the d × d Gram matrix of float32 blocks (BLAS syrk) on every core, summed and centred in float64
        cov = np.zeros((d, d))

        def gram(start, stop):
            block = x[start:stop]
            return block.T @ block

        def add(_start, _stop, value):
            np.add(cov, value, out=cov)

        run_blocks(gram, n, GRAM_ROWS, done=add)
        cov -= n * np.outer(mean, mean)
    with one_blas_thread():   # a d × d eigh (d ~ 512): on a busy 2-core machine 3.8 s on two threads, 0.09 s on one
        _, vecs = np.linalg.eigh(cov)
    comps = vecs[:, ::-1][:, :dims]
    signs = np.sign(comps[np.abs(comps).argmax(axis=0), np.arange(dims)])
    return mean, (comps * np.where(signs == 0, 1.0, signs)).astype(np.float32)


def reduce(vectors, mean, components, rows: int = 32_768) -> np.ndarray:
    """``vectors`` on the axes ``components`` (centred by ``mean``): n × dims float32, a block at a time."""
    x = np.asarray(vectors, dtype=np.float32)
    shift = (np.asarray(mean, np.float64) @ components).astype(np.float32)
    out = np.empty((len(x), components.shape[1]), np.float32)

    def block(start, stop):
        np.matmul(x[start:stop], components, out=out[start:stop])
        out[start:stop] -= shift

    run_blocks(block, len(x), rows)
    return out
