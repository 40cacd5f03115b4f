"""A large map by landmarks: umap-learn's own layout of a sample, every other row placed on it.

:func:`landmark_map` does, in order (each step cancellable, each picture sent to ``job.partial``):

1. the rows in a reduced space: their first ``dims`` principal axes (exact PCA of the rows, normalised
   first for the cosine metric; :mod:`~mmstudio.analysis.projection.pca`) — the first two are the PCA
   preview;
2. cells there (k-means, :mod:`~mmstudio.analysis.projection.cells`) and the landmarks, a sample drawn from
   every (modality, cell, far from the cell's centre or not) stratum
   (:mod:`~mmstudio.analysis.projection.landmarks`);
3. umap-learn's layout of the landmarks (:func:`~mmstudio.analysis.projection.umap_fit.fit_umap`, from
   umap-learn's PCA initialisation) on their exact neighbours among themselves (in the original space and
   metric); while it runs, the other rows are shown at the landmark nearest their cell's centre;
4. every other row placed, a block at a time, from its ``n_neighbors`` nearest landmarks: ``CANDIDATES`` ×
   ``n_neighbors`` candidates exact in the reduced space (:func:`~mmstudio.analysis.projection.knn.exact_knn`),
   re-ranked in the original space and metric, at the mean of their positions weighted as
   :func:`~mmstudio.analysis.projection.project.place_points` weighs them (a softmax over the cosine
   similarities, temperature 0.05); the landmarks never move;
5. optionally (``refine``), umap-learn's layout optimisation of the placed rows against the fixed landmarks
   (what its ``transform`` runs). Measured, it lowered trustworthiness (``benchmarks/README.md``, "landmark
   map"), so ``project`` leaves it off.

Memory stays linear in the rows: the reduced rows (n × dims), the cells and the layout; no n × n matrix.
The choices above (dims, candidates, initialisation, landmark count, threshold) are measured in
``benchmarks/README.md``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.projection.blocks import run_blocks
from mmstudio.analysis.projection.cells import assign, kmeans
from mmstudio.analysis.projection.knn import exact_knn, knn_device
from mmstudio.analysis.projection.landmarks import choose_landmarks, far_from_centre
from mmstudio.analysis.projection.pca import pca_basis, reduce
from mmstudio.analysis.projection.umap_fit import DEFAULT_EPOCHS, Layout, fit_umap
from mmstudio.core.jobs import Job

# Measured on a 2-core CPU (benchmarks/README.md, "Large maps by landmarks"): from LANDMARK_MIN_ROWS rows up
# a landmark map is the faster by far, its trustworthiness within 0.02 of a UMAP of every row.
LANDMARK_MIN_ROWS = 20_000
LANDMARKS = (5_000, 10_000)   # the fewest and the most landmarks
ROWS_PER_LANDMARK = 20        # between them, a landmark per this many rows
REFINE = False             # the refinement pass: off (it did not pay for itself)
REFINE_EPOCHS = 0          # its epochs (0: a third of the fit's, as umap-learn's transform runs)
DIMS = 64                  # the reduced space's axes: where the rows find their nearest landmark candidates
PLACE_TEMPERATURE = 0.05   # softmax over the neighbours' similarities (neighbour_weights: also place_points)
LANDMARKS_PER_CELL = 64    # cells of the reduced space: about this many landmarks each
PLACE_ROWS = 65_536        # rows placed per block between partial layouts
CANDIDATES = 2             # × k nearest landmarks in the reduced space, re-ranked in the original one
LANDMARK_INIT = "pca"      # umap-learn's initial layout of the landmarks (see the benchmark's note)
PLACE_BLOCK_MB = 4         # the reduced-space distances of a block of rows: small enough to stay in cache


def landmark_count(n: int) -> int:
    """How many landmarks a map of ``n`` rows is fitted on: a twentieth of the rows, at least 5,000 and at
    most 10,000 (``LANDMARKS``). Their layout then costs about what placing the others does: at 100,000 rows
    5,000 landmarks took half the time of 10,000 for 0.008 less trustworthiness; at a million rows 20,000
    took twice the time of 10,000 for +0.005."""
    low, high = LANDMARKS
    return int(min(n, max(low, min(high, n // ROWS_PER_LANDMARK))))


@dataclass
class LandmarkFit:
    """What :func:`landmark_map` made: ``xy`` of every row, which rows are ``landmarks``, and how."""

    xy: np.ndarray
    landmarks: np.ndarray
    partials: list[Layout] = field(default_factory=list)
    timing: dict[str, float] = field(default_factory=dict)
    knn: str = ""
    n_neighbors: int = 0
    dims: int = 0
    refined: bool = False

    @property
    def note(self) -> str:
        return (f"landmark map: {len(self.landmarks):,} landmarks, the rest placed"
                + (" and refined" if self.refined else ""))


def landmark_map(vectors, n_landmarks: int, *, groups=None, n_neighbors: int = 15, min_dist: float = 0.1,
                 metric: str = "cosine", seed: int | None = None, n_epochs: int | None = DEFAULT_EPOCHS,
                 dims: int = DIMS, refine: bool = False, preview: bool = True, snapshots: int = 10,
                 device: str | None = None, expand=None, job=None) -> LandmarkFit:
    """A 2-D map of ``vectors`` (n × d) fitted on ``n_landmarks`` rows, the others placed (see the module).

    ``groups``: each row's modality (or any label), so every group is among the landmarks. With ``preview``
    the PCA preview goes to ``job.partial`` first; then ``snapshots`` layouts of the landmark fit and its
    final one (``Layout.method`` ``"landmarks"``), then the map after each block of placed rows
    (``"placing"``: ``epoch`` rows of ``n_epochs`` placed), then the refinement's epochs (``"refining"``).
    ``expand`` maps each of these layouts to the one the caller shows (e.g. with more rows placed on it).
    """
    job = job or Job()
    timing: dict[str, float] = {}
    partials: list[Layout] = []
    shown = (lambda xy: xy) if expand is None else expand

    def send(layout: Layout) -> None:
        layout.xy = shown(layout.xy)
        partials.append(layout)
        job.partial(layout)

    clock = _Clock(timing)
    x = np.asarray(vectors, dtype=np.float32)
    n = len(x)
    rng_seed = 0 if seed is None else int(seed)

    job.status("PCA (reduced space)")
    with clock("pca"):
        rows = _unit_rows(x) if metric == "cosine" else x
        unit = rows is x          # the cosine metric's rows have length 1 already (or the metric is Euclidean)
        mean, axes = pca_basis(rows, dims)
        reduced = reduce(rows, mean, axes)
        del rows
    if preview:
        send(Layout(reduced[:, :2].copy(), "pca"))
    job.check()

    job.status("landmarks")
    with clock("landmarks"):
        cells_count = max(1, min(1024, n_landmarks // LANDMARKS_PER_CELL))
        centroids = kmeans(reduced, cells_count, seed=rng_seed)
        cells, d2 = assign(reduced, centroids, job=job, distances=True)
        landmarks = choose_landmarks(cells, n_landmarks, groups, far=far_from_centre(cells, d2), seed=rng_seed)
        del d2
        stand_in = _stand_ins(reduced, cells, landmarks, centroids)
    job.check()

    def whole(landmark_xy: np.ndarray) -> np.ndarray:
        """The whole map while the landmarks are fitted: every other row at its cell's stand-in landmark."""
        full = landmark_xy[stand_in]
        full[landmarks] = landmark_xy
        return shown(full)

    k = max(2, min(int(n_neighbors), len(landmarks) - 1))
    job.status(f"nearest neighbours of {len(landmarks):,} landmarks (exact)")
    with clock("knn"):
        own = exact_knn(x[landmarks], k, metric, device=device, job=job)
    fitted = fit_umap(x[landmarks], n_neighbors=k, min_dist=min_dist, metric=metric, seed=seed, n_epochs=n_epochs,
                      init=LANDMARK_INIT,
                      device=device, snapshots=snapshots, job=job, expand=whole, method_name="landmarks",
                      precomputed=(*own, "exact"))
    timing.update({f"landmarks {key}": value for key, value in fitted.timing.items()})
    partials += fitted.partials
    landmark_xy = _finite(fitted.xy)
    xy = landmark_xy[stand_in]
    xy[landmarks] = landmark_xy
    if not fitted.partials or fitted.partials[-1].epoch != fitted.partials[-1].n_epochs:
        send(Layout(xy.copy(), "landmarks"))   # the landmark map, before the other rows move to their places

    job.status(f"placing {n - len(landmarks):,} rows")
    with clock("place"):
        placed = _place(x, unit, reduced, cells, landmarks, landmark_xy, xy, k, metric, job, send)
    refined = False
    if refine and len(placed[0]):
        job.status("refining the placed rows")
        with clock("refine"):
            xy[placed[0]] = _refine(xy[placed[0]], landmark_xy, placed[1], placed[2], metric, min_dist, n_epochs,
                                    seed, job, send, xy, placed[0])
        refined = True
    knn = f"exact ({knn_device(device)}) among the landmarks, in the first {axes.shape[1]} principal axes for the rest"
    return LandmarkFit(xy, landmarks, partials, timing, knn, k, axes.shape[1], refined)


class _Clock:
    """``with clock("step"):`` adds the seconds of the block to ``timing["step"]``."""

    def __init__(self, timing: dict) -> None:
        self.timing = timing

    def __call__(self, name: str):
        self.name = name
        return self

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        self.timing[self.name] = self.timing.get(self.name, 0.0) + time.perf_counter() - self.start


def _unit_rows(x: np.ndarray, check: bool = True) -> np.ndarray:
    """``x`` with rows of length 1 (``x`` itself when they are already, as an embedding table's are)."""
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))
    if check and np.all(np.abs(norms - 1.0) < 1e-6):
        return x
    return (x / np.maximum(norms, 1e-12)[:, None]).astype(np.float32)


def _stand_ins(reduced, cells, landmarks, centroids) -> np.ndarray:
    """For every row, the landmark (its index among the landmarks) nearest the centre of the row's cell:
    where the row is shown until it is placed. Every cell holds a landmark (the strata are within cells)."""
    land_cells = cells[landmarks]
    d2 = ((reduced[landmarks] - centroids[land_cells]) ** 2).sum(axis=1)
    order = np.lexsort((d2, land_cells))           # by cell, nearest its centre first
    first = np.full(len(centroids), -1, np.int64)
    keep = np.r_[True, land_cells[order][1:] != land_cells[order][:-1]]
    first[land_cells[order][keep]] = order[keep]
    missing = first < 0                              # a cell without rows: any landmark (never used)
    first[missing] = 0
    return first[cells]


def _finite(xy: np.ndarray) -> np.ndarray:
    """umap-learn leaves NaN for a landmark it cut off from every other: it goes to the layout's centre."""
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any() and not bad.all():
        xy = xy.copy()
        xy[bad] = np.median(xy[~bad], axis=0)
    return xy


def _place(x, unit, reduced, cells, landmarks, landmark_xy, xy, k, metric, job, send):
    """Every row that is not a landmark placed from its k nearest landmarks, block by block into ``xy``
    (a partial layout sent after each block): ``CANDIDATES`` × k candidates, exact in the reduced space,
    then the k nearest of those in the original space and metric (the k nearest in the reduced space when
    it keeps every axis), weighted as ``place_points`` weighs them. The rows go cell by cell (a block's
    rows then share their nearest landmarks: fewer cache misses, and the map fills in region by region).
    Returns the placement: ``(rows, neighbours among the landmarks, their distances)``."""
    points = np.ascontiguousarray(reduced[landmarks])
    is_landmark = np.zeros(len(reduced), bool)
    is_landmark[landmarks] = True
    rows = np.flatnonzero(~is_landmark)
    rows = rows[np.argsort(cells[rows], kind="stable")]
    neighbours = np.empty((len(rows), k), np.int32)
    distances = np.empty((len(rows), k), np.float32)
    base = _unit_rows(x[landmarks], check=False) if metric == "cosine" else np.ascontiguousarray(x[landmarks])
    whole = reduced.shape[1] == x.shape[1]   # every axis kept: the reduced space is the space itself
    wide = k if whole else min(len(landmarks), CANDIDATES * k)
    for start in range(0, len(rows), PLACE_ROWS):
        job.check()
        block = rows[start:start + PLACE_ROWS]
        candidates, d = exact_knn(points, wide, "euclidean", queries=reduced[block], block_mb=PLACE_BLOCK_MB,
                                  distances=whole, job=_Checks(job))
        if whole:   # rotated and centred only: the same distances (1 - cos = d²/2 between unit rows)
            idx, dist = candidates, (0.5 * d * d if metric == "cosine" else d)
        else:
            idx, dist = _nearest_of(x, block, base, candidates, k, metric, unit)
        xy[block] = weighted_mean(landmark_xy, idx, neighbour_weights(dist))
        neighbours[start:start + len(block)] = idx
        distances[start:start + len(block)] = dist
        done = start + len(block)
        job.progress(done, len(rows))
        send(Layout(xy.copy(), "placing", done, len(rows)))
    return rows, neighbours, distances


def _nearest_of(x, block, base, candidates, k, metric, unit):
    """Of each row's candidate landmarks, the k nearest in the original space: ``(indices, distances)``
    (umap-learn's distances: 1 - cos, or Euclidean), nearest first. ``unit``: the rows of ``x`` need no
    normalising (``base``'s rows have length 1 for the cosine metric)."""
    from mmstudio.analysis.projection.knn_kernels import nearest_candidates

    idx = np.empty((len(block), k), np.int64)
    dist = np.empty((len(block), k), np.float32)
    cosine = metric == "cosine"

    def part(s, e):
        rows = block[s:e]
        if cosine and not unit:
            q, rows = _unit_rows(x[rows], check=False), np.arange(e - s)
        else:
            q = x
        nearest_candidates(q, rows, base, candidates[s:e], cosine, k, idx[s:e], dist[s:e])

    run_blocks(part, len(block), 2048)
    return idx, dist


def neighbour_weights(dist: np.ndarray) -> np.ndarray:
    """How much each of a row's neighbours (nearest first, umap-learn's distances) counts where the row is
    placed: a softmax at temperature ``PLACE_TEMPERATURE`` over the negated distances (for the cosine metric
    the same as over the similarities). Shared by :func:`landmark_map` and ``project.place_points``."""
    w = np.exp(-(dist - dist[:, :1]) / PLACE_TEMPERATURE)
    w /= w.sum(axis=1, keepdims=True)
    return w.astype(np.float32)


def weighted_mean(xy: np.ndarray, idx: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each row at the weighted mean of its neighbours' places ``xy[idx]``."""
    return np.einsum("mk,mkc->mc", weights, xy[idx]).astype(np.float32)


def _refine(start_xy, landmark_xy, neighbours, dist, metric, min_dist, n_epochs, seed, job, send, full, rows):
    """umap-learn's layout optimisation of placed rows against the fixed landmarks, as its ``transform``
    runs it: fuzzy memberships of each row's neighbours, a third of the fit's epochs, a quarter of the
    learning rate, the landmarks unmoved."""
    import scipy.sparse

    from mmstudio.analysis.projection.umap_fit import _EpochHook, umap_module

    umap = umap_module()
    from umap.layouts import optimize_layout_euclidean  # noqa: TID253 - umap is imported just above
    from umap.umap_ import (  # noqa: TID253
        compute_membership_strengths,
        find_ab_params,
        make_epochs_per_sample,
        smooth_knn_dist,
    )

    del umap
    k = neighbours.shape[1]
    sigmas, rhos = smooth_knn_dist(dist, float(k), local_connectivity=0.0)
    r, c, v, _ = compute_membership_strengths(neighbours.astype(np.int64), dist, sigmas, rhos, bipartite=True)
    graph = scipy.sparse.coo_matrix((v, (r, c)), shape=(len(start_xy), len(landmark_xy)))
    epochs = REFINE_EPOCHS or max(1, int((n_epochs or DEFAULT_EPOCHS) // 3))
    graph.data[graph.data < graph.data.max() / float(epochs)] = 0.0
    graph.eliminate_zeros()
    a, b = find_ab_params(1.0, min_dist)
    rng_state = np.random.default_rng(seed).integers(-2**31, 2**31 - 1, 3).astype(np.int64)

    def expand(placed_xy):
        out = full.copy()
        out[rows] = placed_xy
        return out

    hook = _EpochHook(_Relay(job, send), 3, expand, "refining")
    out = optimize_layout_euclidean(np.ascontiguousarray(start_xy, np.float32), landmark_xy.astype(np.float32),
                                    graph.row, graph.col, epochs, len(landmark_xy),
                                    make_epochs_per_sample(graph.data, epochs), a, b, rng_state, 1.0, 0.25, 5.0,
                                    parallel=seed is None, tqdm_kwds=hook.tqdm_kwds(), move_other=False)
    if hook.cancelled:
        job.check()
    return out


class _Checks(Job):
    """The job as a step inside a step sees it: cancellation is the job's; progress stays the step's."""

    def __init__(self, job) -> None:
        super().__init__()
        self.job = job

    def cancelled(self) -> bool:
        return self.job.cancelled()

    def check(self) -> None:
        self.job.check()


class _Relay(Job):
    """The job as the refinement's epoch hook sees it: its partial layouts go through ``send``."""

    def __init__(self, job, send) -> None:
        super().__init__()
        self.job, self.send = job, send

    def cancelled(self) -> bool:
        return self.job.cancelled()

    def check(self) -> None:
        self.job.check()

    def progress(self, done, total=None) -> None:
        self.job.progress(done, total)

    def partial(self, result) -> None:
        self.send(result)
