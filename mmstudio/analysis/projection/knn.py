"""Exact k nearest neighbours by a chunked matrix product: numpy's BLAS on a CPU, torch on a GPU.

``exact_knn(vectors, k)`` gives every row's ``k`` nearest rows (itself first) as the
``(indices, distances)`` pair that umap-learn takes as ``precomputed_knn``; with ``queries``
it gives each query's neighbours among ``vectors`` (used to place new points on a map).
Distances are umap-learn's: ``1 - cos`` for ``"cosine"``, the straight-line distance for
``"euclidean"``. Memory stays bounded: the similarity block for one chunk of query rows
never exceeds ``block_mb`` megabytes. On a CPU the blocks are numpy matrix products shared by
the cores (:mod:`~mmstudio.analysis.projection.blocks`) and each row's best ``k`` are picked by a
compiled loop (:func:`~mmstudio.analysis.projection.knn_kernels.top_k_largest`): torch is not
imported (it took 2–5 s of a 10,000-row map's 8 s).
"""

from __future__ import annotations

import os
import sys

import numpy as np

from mmstudio.analysis.projection.blocks import run_blocks
from mmstudio.core.jobs import Job

METRICS = ("cosine", "euclidean")
DEFAULT_BLOCK_MB = 256


def knn_device(device: str | None = None) -> str:
    """``"cuda"`` when torch sees a GPU (unless ``device`` says otherwise), else ``"cpu"``. torch is
    imported only to ask when it is imported already or the system has an NVIDIA driver."""
    if device and device != "auto":
        return device
    if "torch" not in sys.modules and not _nvidia_driver():
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _nvidia_driver() -> bool:
    return os.path.exists("/proc/driver/nvidia") or os.path.exists("/dev/nvidiactl") or sys.platform == "win32"


def exact_knn(vectors, k: int, metric: str = "cosine", *, queries=None, device: str | None = None,
              block_mb: float = DEFAULT_BLOCK_MB, distances: bool = True, job=None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows of ``vectors`` for each row of ``queries`` (default: ``vectors``).

    Returns ``(indices, distances)``: int64 and float32 arrays of shape ``(len(queries), k)``,
    nearest first. Rows are compared exactly (no approximation); ``job`` gets progress over
    the query rows and is checked for cancellation between chunks. ``distances=False``: the
    neighbours only (the Euclidean distances are then not computed; the second item is None).
    """
    job = job or Job()
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")
    base = np.ascontiguousarray(vectors, dtype=np.float32)
    query = base if queries is None else np.ascontiguousarray(queries, dtype=np.float32)
    n = len(base)
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of rows ({n}), not {k}")
    where = knn_device(device)
    if where == "cpu":
        indices, found = _numpy_knn(base, query, k, metric, block_mb, job, distances)
    else:
        indices, found = _torch_knn(base, query, k, metric, where, block_mb, job)
    if queries is None:
        _self_first(indices, found)
    return indices, (found if distances else None)


def _numpy_knn(base, query, k, metric, block_mb, job, want_distances=True):
    """The CPU path: blocks of query rows against every row, a BLAS product and a compiled top-k each."""
    from mmstudio.analysis.projection.knn_kernels import top_k_largest

    n, m = len(base), len(query)
    if metric == "cosine":
        x = base / np.maximum(np.linalg.norm(base, axis=1, keepdims=True), 1e-12)
        q_all = x if query is base else query / np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-12)
    else:
        x, q_all = base, query
        half_sq = -0.5 * np.einsum("ij,ij->i", x, x)
    rows = max(1, min(-(-m // 8), int(block_mb * 2**20) // (4 * n * 2)))  # 8+ blocks to share, two in flight
    indices = np.empty((m, k), dtype=np.int64)
    scores = np.empty((m, k), dtype=np.float32)

    def block(start, stop):
        s = q_all[start:stop] @ x.T
        if metric != "cosine":
            s += half_sq  # q·x - |x|²/2 ranks as -|q - x|² does
        top_k_largest(s, k, indices[start:stop], scores[start:stop])

    run_blocks(block, m, rows, job=job)
    if metric == "cosine":
        distances = np.maximum(1.0 - scores, 0.0, dtype=np.float32)
    elif want_distances or query is base:
        distances = _euclidean_rows(query, base, indices)
    else:
        distances = None
    return indices, distances


def _euclidean_rows(query, base, indices, rows: int = 1024) -> np.ndarray:
    """Distances to the chosen neighbours computed directly (see :func:`_euclidean_exact`)."""
    out = np.empty(indices.shape, np.float32)
    for s in range(0, len(query), rows):
        diff = query[s:s + rows, None, :] - base[indices[s:s + rows]]
        out[s:s + rows] = np.sqrt(np.einsum("mkd,mkd->mk", diff, diff))
    return out


def _torch_knn(base, query, k, metric, device, block_mb, job):
    """The GPU path (or a device the caller names): torch blocks and ``torch.topk``."""
    import torch

    n, m = len(base), len(query)
    dev = torch.device(device)
    x = torch.from_numpy(base).to(dev)
    if metric == "cosine":
        x = torch.nn.functional.normalize(x, dim=1)
    else:
        x_sq = (x * x).sum(dim=1)
    rows = max(1, min(m, int(block_mb * 2**20) // (4 * n)))
    indices = np.empty((m, k), dtype=np.int64)
    distances = np.empty((m, k), dtype=np.float32)
    job.progress(0, m)
    for start in range(0, m, rows):
        job.check()
        q = torch.from_numpy(query[start:start + rows]).to(dev)
        if metric == "cosine":
            sim = torch.nn.functional.normalize(q, dim=1) @ x.T
            best, idx = torch.topk(sim, k, dim=1, largest=True, sorted=True)
            dist = (1.0 - best).clamp_(min=0.0)
        else:
            # |q - x|² = |q|² + |x|² - 2 q·x; ranking needs only |x|² - 2 q·x
            score = x_sq[None, :] - 2.0 * (q @ x.T)
            _, idx = torch.topk(score, k, dim=1, largest=False, sorted=True)
            dist = _euclidean_exact(q, x, idx)
        indices[start:start + len(q)] = idx.cpu().numpy()
        distances[start:start + len(q)] = dist.cpu().numpy()
        job.progress(min(m, start + rows), m)
    return indices, distances


def _euclidean_exact(q, x, idx, rows: int = 256):
    """Distances to the chosen neighbours computed directly: the expansion used for ranking loses
    the small ones to rounding (sqrt of a rounding error), e.g. 5e-4 for an exact duplicate."""
    import torch

    out = torch.empty(idx.shape, dtype=q.dtype, device=q.device)
    for s in range(0, len(q), rows):
        out[s:s + rows] = torch.linalg.vector_norm(q[s:s + rows, None, :] - x[idx[s:s + rows]], dim=2)
    return out


def _self_first(indices: np.ndarray, distances: np.ndarray) -> None:
    """Each row's own index first at distance 0, as umap-learn and scikit-learn give it.

    Rounding can put an exact duplicate (or the row itself at 1e-7) in any order; the row
    itself belongs in front."""
    own = np.arange(len(indices))
    wrong = indices[:, 0] != own
    distances[:, 0] = np.where(wrong, distances[:, 0], 0.0)
    for i in np.flatnonzero(wrong):
        where = np.flatnonzero(indices[i] == i)
        pos = where[0] if len(where) else len(indices[i]) - 1
        indices[i, 1:pos + 1] = indices[i, :pos].copy()
        distances[i, 1:pos + 1] = distances[i, :pos].copy()
        indices[i, 0], distances[i, 0] = i, 0.0
