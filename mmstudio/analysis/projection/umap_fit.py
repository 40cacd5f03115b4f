"""UMAP through umap-learn, made fast without changing what it computes.

- Nearest neighbours: exact, by :func:`mmstudio.analysis.projection.knn.exact_knn` (a chunked matrix
  product: numpy's BLAS on a CPU, torch on a GPU), handed to umap-learn as ``precomputed_knn`` (or given
  by the caller: the landmark map's), up to the sizes where that
  stops paying on a 2-core CPU (measured, see ``benchmarks/README.md``); umap-learn's own
  nearest-neighbour descent above. On a GPU the exact kNN always runs there, and cuML's UMAP
  is used instead when it is importable.
- Compilation: umap-learn compiles its numba kernels in every new process (tens of seconds
  for nearest-neighbour descent). :func:`umap_module` turns on numba's on-disk cache for
  them, so only the first process ever compiles; :func:`warm_up` compiles (or loads) them
  ahead of time, for the app to call in a background thread at start.
- Progress, partial layouts and cancellation come from the epoch loop, through the
  ``tqdm_kwds`` hook umap-learn offers (see :class:`_EpochHook`).

A fixed ``seed`` makes the layout reproducible, but umap-learn then runs single-threaded,
so it is slower.
"""

from __future__ import annotations

import math
import pickle
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.projection.blocks import one_blas_thread
from mmstudio.analysis.projection.knn import exact_knn, knn_device
from mmstudio.core.jobs import Job

SEED_NOTE = "A fixed seed makes the layout reproducible, but umap-learn then runs single-threaded (slower)."

# Above these sizes umap-learn's nearest-neighbour descent beats the exact kNN on a 2-core CPU
# (benchmarks/README.md, "kNN threshold"). COLD: nearest-neighbour descent not compiled yet in
# this process (it costs ~12 s to load and compile even with numba's disk cache); WARM: it is.
EXACT_KNN_MAX_ROWS_COLD = 40_000
EXACT_KNN_MAX_ROWS_WARM = 5_000
DEFAULT_EPOCHS = 200
MIN_ROWS = 10  # below this a UMAP is not meaningful; PCA is used instead
_LAYOUT_FUNCTIONS = ("optimize_layout_euclidean", "optimize_layout_generic")
# numba cannot cache these (they hold dynamic globals); enabling the cache only warns
_UNCACHEABLE = {"nn_descent", "nn_descent_internal"}


@dataclass
class Layout:
    """One picture of a layout: the final one, or a partial one while UMAP runs."""

    xy: np.ndarray
    method: str
    epoch: int = 0
    n_epochs: int = 0


@dataclass
class UmapFit:
    xy: np.ndarray
    partials: list[Layout] = field(default_factory=list)
    knn: str = ""
    timing: dict[str, float] = field(default_factory=dict)  # seconds per step, disjoint
    n_neighbors: int = 0


def umap_module():
    """``import umap``, with numba's on-disk cache turned on for umap-learn's and pynndescent's kernels.

    numba keeps the cache beside the package (``__pycache__``) when that is writable, else in
    the user's cache folder, or where ``NUMBA_CACHE_DIR`` says. Same code, same results: only
    the compilation is saved.
    """
    import warnings

    import umap

    if not getattr(umap, "_mmstudio_caching", False):
        _enable_numba_caching(("umap", "pynndescent"))
        from mmstudio.analysis.projection.umap_nogil import release_gil

        release_gil(umap.layouts)  # the epochs leave the GIL to the window's thread
        umap._mmstudio_caching = True
    # expected here, and said in our own words (SEED_NOTE); re-adding a filter does not duplicate it
    warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]", module="umap")
    warnings.filterwarnings("ignore", message=r"n_jobs value .* overridden to 1", module="umap")
    return umap


def _enable_numba_caching(packages) -> int:
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    count = 0
    for module_name, module in list(sys.modules.items()):
        if module is None or module_name.split(".")[0] not in packages:
            continue
        for name, value in list(vars(module).items()):
            if (isinstance(value, Dispatcher) and isinstance(value._cache, NullCache)
                    and name not in _UNCACHEABLE):
                try:
                    value.enable_caching()
                    count += 1
                except RuntimeError:  # no writable cache location: it just compiles, as before
                    continue
                _save_what_can_be_saved(value._cache)
    return count


def _save_what_can_be_saved(cache) -> None:
    """numba adds a compiled overload to the function before it saves it to the disk cache, and a
    failed save raises out of the call. Some of pynndescent's kernels take a distance function as
    an argument, and a signature holding a function that numba cannot pickle ("underlying object
    has vanished") cannot be saved: nearest-neighbour descent then failed in any process that had
    run an exact-kNN UMAP first (the window's warm-up, a large folder opened after the demo).
    Such an overload stays compiled in memory only, as it would without the cache."""
    save = cache.save_overload

    def save_overload(sig, data):
        try:
            save(sig, data)
        except (ReferenceError, TypeError, AttributeError, pickle.PicklingError):
            pass

    cache.save_overload = save_overload


def nn_descent_compiled() -> bool:
    """Whether umap-learn's nearest-neighbour descent is already compiled in this process."""
    module = sys.modules.get("pynndescent.pynndescent_")
    return bool(module is not None and getattr(module.nn_descent, "signatures", None))


def exact_knn_max_rows() -> int:
    return EXACT_KNN_MAX_ROWS_WARM if nn_descent_compiled() else EXACT_KNN_MAX_ROWS_COLD


def choose_knn(n: int, device: str) -> str:
    """``"exact"`` or ``"nn-descent"`` for ``n`` rows on ``device``."""
    if device.startswith("cuda") or n <= exact_knn_max_rows():
        return "exact"
    return "nn-descent"


def fit_umap(vectors, *, n_neighbors: int = 15, min_dist: float = 0.1, metric: str = "cosine",
             seed: int | None = None, n_epochs: int | None = DEFAULT_EPOCHS, init="spectral",
             knn: str = "auto", device: str | None = None, snapshots: int = 10, job=None,
             expand=None, precomputed=None, method_name: str = "umap") -> UmapFit:
    """A UMAP layout of ``vectors`` (n × d) as an n × 2 float32 array, with partial layouts.

    ``knn``: ``"auto"`` (exact up to the measured size, then umap-learn's descent),
    ``"exact"`` or ``"nn-descent"``. ``snapshots``: how many partial layouts to keep and send
    to ``job.partial`` while the epochs run (0: none). ``n_epochs=None`` is umap-learn's own
    default (500 up to 10,000 points, 200 above). ``init`` may be an n × 2 array (a refit that
    starts from the current map). ``expand`` maps a partial layout of these rows to the one the
    view shows (e.g. with other rows placed on it); the partial layouts are named ``method_name``.
    ``precomputed``: the rows' neighbours, found already: ``(indices, distances)`` or
    ``(indices, distances, label)``, the label being what the result's ``knn`` says of them. {seed_note}
    """
    job = job or Job()
    start = time.perf_counter()
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    k = max(2, min(int(n_neighbors), n - 1))
    dev = knn_device(device)
    job.check()
    if dev.startswith("cuda") and knn == "auto" and precomputed is None:
        fitted = _fit_cuml(x, k, min_dist, metric, seed, n_epochs, job)
        if fitted is not None:
            return fitted
    umap = umap_module()
    method = choose_knn(n, dev) if knn == "auto" else knn
    timing = {"import": time.perf_counter() - start}
    given, precomputed = precomputed, (None, None, None)
    if given is not None:
        precomputed, method = (given[0], given[1]), "given"
    elif method == "exact":
        job.status(f"nearest neighbours (exact, {dev})")
        t = time.perf_counter()
        indices, distances = exact_knn(x, k, metric, device=dev, job=job)
        timing["knn"] = time.perf_counter() - t
        precomputed = (indices, distances)
    else:
        job.status("nearest neighbours (umap-learn's descent)")
    job.check()
    job.status("UMAP (graph, then layout epochs)")
    hook = _EpochHook(job, snapshots, expand, method_name)
    reducer = umap.UMAP(n_neighbors=k, min_dist=min_dist, metric=metric, random_state=seed, n_epochs=n_epochs,
                        init=init, precomputed_knn=precomputed, tqdm_kwds=hook.tqdm_kwds(), verbose=False)
    t = time.perf_counter()
    with one_blas_thread():   # its eigensolvers' BLAS calls: two spinning threads took 30× longer on a busy CPU
        xy = reducer.fit_transform(x).astype(np.float32)
    if hook.cancelled:
        job.check()
    if hook.started is not None:  # the graph (and descent) before the first epoch, the layout after
        timing["graph"] = hook.started - t
        timing["layout"] = time.perf_counter() - hook.started
    else:
        timing["umap"] = time.perf_counter() - t
    label = {"exact": f"exact ({dev})", "given": given[2] if given and len(given) > 2 else "given"}.get(
        method, "nn-descent (umap-learn)")
    return UmapFit(xy, hook.partials, label, timing, k)


fit_umap.__doc__ = fit_umap.__doc__.format(seed_note=SEED_NOTE)


def _fit_cuml(x, k, min_dist, metric, seed, n_epochs, job) -> UmapFit | None:
    """cuML's UMAP on a GPU machine where it is installed (not testable on a CPU; kept small)."""
    job = job or Job()
    try:
        from cuml.manifold import UMAP as CumlUMAP
    except Exception:  # not installed, or no usable CUDA: fall back to umap-learn
        return None
    job.status("UMAP (cuML, GPU)")
    start = time.perf_counter()
    reducer = CumlUMAP(n_neighbors=k, min_dist=min_dist, metric=metric, random_state=seed,
                       n_epochs=n_epochs or 0)
    xy = np.asarray(reducer.fit_transform(x), dtype=np.float32)
    return UmapFit(xy, [], "cuml", {"umap": time.perf_counter() - start}, k)


class _EpochHook:
    """A file for umap-learn's epoch progress bar (``tqdm_kwds={"file": ...}``).

    tqdm writes to it after every epoch; each write reports progress, checks the job for
    cancellation (raising :class:`~mmstudio.core.jobs.Cancelled` out of the epoch loop) and,
    every few epochs, copies the layout being optimised. umap-learn offers no callback with the
    embedding, so the hook reads ``head_embedding`` from the frame of its layout function
    (``umap.layouts.optimize_layout_euclidean``); if a later umap-learn renames it, partial
    layouts stop but progress and cancellation keep working.
    """

    def __init__(self, job, snapshots: int, expand=None, name: str = "umap") -> None:
        self.job = job
        self.expand = expand
        self.name = name
        self.snapshots = max(0, int(snapshots))
        self.partials: list[Layout] = []
        self._last = -1
        self._cancelled = False
        self.started: float | None = None  # when the epoch loop began (perf_counter)

    def tqdm_kwds(self) -> dict:
        return {"file": self, "disable": False, "mininterval": 0, "miniters": 1, "leave": False,
                "ncols": 80, "delay": 0}

    def flush(self) -> None:
        pass

    def write(self, _text: str) -> int:
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_name not in _LAYOUT_FUNCTIONS:
            frame = frame.f_back
        if frame is None:
            return 0
        if self.started is None:
            self.started = time.perf_counter()
        names = frame.f_locals
        total = int(names.get("n_epochs") or 0) if not isinstance(names.get("n_epochs"), list) else 0
        done = int(names["n"]) + 1 if "n" in names else 0
        if done == self._last:
            return 0
        self._last = done
        if self.job is not None:
            if not self._cancelled and self.job.cancelled():
                self._cancelled = True
                self._raise_cancelled()
            self.job.progress(done, total or None)
        every = max(1, math.ceil(total / self.snapshots)) if self.snapshots and total else 0
        embedding = names.get("head_embedding")
        if every and embedding is not None and (done % every == 0 or done == total):
            xy = np.array(embedding, dtype=np.float32)
            layout = Layout(xy if self.expand is None else self.expand(xy), self.name, done, total)
            self.partials.append(layout)
            if self.job is not None:
                self.job.partial(layout)
        return 0


    def _raise_cancelled(self) -> None:
        """Stop the epoch loop by raising :class:`Cancelled` through tqdm — releasing first the
        write lock that tqdm's ``refresh`` holds while it writes to us: tqdm releases it without
        a ``finally``, and a lock left held by a finished thread stalls every later progress bar
        in the process (every UMAP). Outside ``refresh`` the fit runs on and
        :func:`fit_umap` raises when it returns."""
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_name not in _LAYOUT_FUNCTIONS:
            if frame.f_code.co_name == "refresh" and not frame.f_locals.get("nolock", True):
                bar = frame.f_locals.get("self")
                lock = getattr(bar, "_lock", None)
                if lock is not None:
                    lock.release()
                    self.job.check()
                return
            frame = frame.f_back

    @property
    def cancelled(self) -> bool:
        return self._cancelled


def warm_up(job=None) -> float:
    """Compile (or load from numba's disk cache) what a UMAP needs, on a tiny set; seconds taken.

    The app calls this in a background thread at start, so the user's first map does not
    wait for numba. It covers the parallel (no seed) and single-threaded (seed) layouts, the
    graph construction, the spectral initialisation and umap-learn's nearest-neighbour
    descent (used above the exact-kNN size).
    """
    job = job or Job()
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((4, 16))
    x = (centres[rng.integers(0, 4, 300)] + 0.3 * rng.standard_normal((300, 16))).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    steps = [{}, {"seed": 0}]
    for i, step in enumerate(steps):
        job.check()
        job.status("preparing UMAP (compiling)")
        job.progress(i, len(steps) + 1)
        fit_umap(x, n_neighbors=10, n_epochs=11, snapshots=0, knn="exact", **step)
    if not nn_descent_compiled():
        # umap-learn calls the descent only from 4,096 points up; compile it on the tiny set directly
        from pynndescent import NNDescent

        NNDescent(x, n_neighbors=10, metric="cosine", n_trees=4, n_iters=4, max_candidates=60, low_memory=True,
                  n_jobs=-1, compressed=False)
    job.progress(len(steps) + 1, len(steps) + 1)
    return time.perf_counter() - start
