"""umap-learn's layout epochs without the GIL.

umap-learn compiles its per-epoch layout kernel with numba but without ``nogil``: each epoch
(tens of milliseconds on thousands of points) holds Python's GIL, so any other thread that needs
Python — the window's, to repaint or take a click — waits for it, epoch after epoch. The kernel
touches only numpy arrays, so it is safe to run without the GIL: :func:`release_gil` swaps in a
``nogil`` wrapper that calls umap-learn's own compiled kernel (same code, same results).

The wrapper spells out the kernel's arguments; a umap-learn whose kernel takes others is left
as it is (:func:`release_gil` returns False). Imported by :func:`mmstudio.analysis.projection.umap_fit.umap_module`
only, once umap-learn is imported anyway.
"""

from __future__ import annotations

import inspect

import numba  # noqa: TID253 - this module is imported only where umap is (umap_fit.umap_module)
from umap import layouts as _layouts  # noqa: TID253

ARGUMENTS = ("head_embedding", "tail_embedding", "head", "tail", "n_vertices", "epochs_per_sample", "a", "b",
             "rng_state_per_sample", "gamma", "dim", "move_other", "alpha", "epochs_per_negative_sample",
             "epoch_of_next_negative_sample", "epoch_of_next_sample", "n", "densmap_flag", "dens_phi_sum",
             "dens_re_sum", "dens_re_cov", "dens_re_std", "dens_re_mean", "dens_lambda", "dens_R", "dens_mu",
             "dens_mu_tot")



def release_gil(layouts) -> bool:
    """Make ``umap.layouts`` run its single-threaded Euclidean epochs without the GIL."""
    if layouts._nb_optimize_layout_euclidean_single_epoch is epoch_without_gil:
        return True
    if _kernel is None or tuple(inspect.signature(_kernel.py_func).parameters) != ARGUMENTS:
        return False
    layouts._nb_optimize_layout_euclidean_single_epoch = epoch_without_gil
    return True


_kernel = getattr(_layouts, "_nb_optimize_layout_euclidean_single_epoch", None)


@numba.njit(nogil=True, cache=True)
def epoch_without_gil(head_embedding, tail_embedding, head, tail, n_vertices, epochs_per_sample, a, b,
                      rng_state_per_sample, gamma, dim, move_other, alpha, epochs_per_negative_sample,
                      epoch_of_next_negative_sample, epoch_of_next_sample, n, densmap_flag, dens_phi_sum,
                      dens_re_sum, dens_re_cov, dens_re_std, dens_re_mean, dens_lambda, dens_R, dens_mu,
                      dens_mu_tot):  # noqa: N803 - umap-learn's names
    return _kernel(head_embedding, tail_embedding, head, tail, n_vertices, epochs_per_sample, a, b,
                   rng_state_per_sample, gamma, dim, move_other, alpha, epochs_per_negative_sample,
                   epoch_of_next_negative_sample, epoch_of_next_sample, n, densmap_flag, dens_phi_sum,
                   dens_re_sum, dens_re_cov, dens_re_std, dens_re_mean, dens_lambda, dens_R, dens_mu,
                   dens_mu_tot)
