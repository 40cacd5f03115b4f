"""2-D maps of an embedding table: PCA at once, then UMAP; new points placed without a refit.

Plain functions over vectors or an :class:`~mmstudio.core.tables.table.EmbeddingTable`:

- :func:`pca_2d` — the first picture (exact PCA; 100,000 × 512 in well under a second).
- :func:`project` — PCA or UMAP as a :class:`ProjectionResult` (xy, partial layouts for the
  view to animate, timings), cached on disk by (embedding digest, parameters). With
  ``reference`` rows, UMAP is fitted on those rows only and the others are placed on it.
- :func:`place_points` — put new points on an existing map at once, from their nearest
  neighbours' positions; :func:`refit` — a full UMAP that starts from the current map, for
  the app to run in the background after adding points.
- :func:`project_table` — the table with ``x`` and ``y`` columns added.

UMAP's speed-ups (exact kNN, numba's disk cache, warm-up) live in
:mod:`mmstudio.analysis.projection.umap_fit`; :func:`warm_up` is re-exported here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.projection.knn import METRICS, exact_knn
from mmstudio.analysis.projection.landmark_map import (
    DIMS,
    LANDMARK_MIN_ROWS,
    REFINE,
    landmark_count,
    landmark_map,
    neighbour_weights,
    weighted_mean,
)
from mmstudio.analysis.projection.layout_cache import (
    canonical_order,
    layout_key,
    load_layout,
    save_layout,
    vectors_digest,
)
from mmstudio.analysis.projection.pca import pca_basis, reduce
from mmstudio.analysis.projection.umap_fit import DEFAULT_EPOCHS, MIN_ROWS, SEED_NOTE, Layout, fit_umap, warm_up
from mmstudio.core.jobs import Job

__all__ = ["DEFAULT_EPOCHS", "LANDMARK_MIN_ROWS", "METHODS", "METRICS", "SEED_NOTE", "Layout", "ProjectionResult",
           "landmark_count", "landmarks_for", "pca_2d", "place_points", "project", "project_table", "refit", "warm_up"]

METHODS = ("umap", "pca")


@dataclass
class ProjectionResult:
    """A 2-D layout: ``xy`` (n × 2 float32, rows in the input's order) and how it was made.

    ``partials`` are earlier pictures for the view to animate (the PCA preview, then UMAP
    every few epochs); ``timing`` gives the seconds of each step (disjoint: they add up to the
    whole call; ``"other"`` is what no step claimed); ``knn`` says how neighbours were found;
    ``cached`` is True when the layout came from the disk cache. ``path`` says which way the map was
    made (``"exact"``, ``"landmarks"`` — then ``landmarks`` holds their rows and ``note`` says so — or
    ``"pca"``).
    """

    xy: np.ndarray
    method: str
    params: dict
    partials: list[Layout] = field(default_factory=list)
    timing: dict[str, float] = field(default_factory=dict)
    knn: str = ""
    cached: bool = False
    note: str = ""
    path: str = "exact"           # "exact": UMAP of every row; "landmarks": a landmark map; "pca"
    landmarks: np.ndarray | None = None   # the landmark path's landmark rows (indices into the input)


def pca_2d(vectors) -> np.ndarray:
    """The first two principal components of ``vectors`` (n × d) as n × 2 float32.

    Exact (eigenvectors of the covariance matrix, :mod:`~mmstudio.analysis.projection.pca`); signs as
    scikit-learn's ``PCA`` chooses them (each component's largest loading positive).
    """
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n, d = x.shape
    out = np.zeros((n, 2), dtype=np.float32)
    if n < 2 or d == 0:
        return out
    mean, comps = pca_basis(x, 2)
    out[:, : comps.shape[1]] = reduce(x, mean, comps)
    return out


def place_points(map_vectors, map_xy, new_vectors, *, k: int = 15, metric: str = "cosine",
                 device: str | None = None) -> np.ndarray:
    """Positions for ``new_vectors`` on a fitted map, at once and without a refit.

    Each new point goes to the mean of its ``k`` nearest map points' positions, weighted by a
    softmax over their cosine similarities (temperature 0.05), so a point that duplicates a
    map point lands on it and one among a cluster lands inside it.
    """
    map_xy = np.asarray(map_xy, dtype=np.float32)
    new = np.asarray(new_vectors, dtype=np.float32)
    if len(new) == 0:
        return np.zeros((0, 2), dtype=np.float32)
    idx, weights = _placement(map_vectors, new, k, metric, device, ok=np.isfinite(map_xy).all(axis=1))
    return weighted_mean(map_xy, idx, weights)


def placement(map_vectors, new_vectors, *, k: int = 15, metric: str = "cosine", device: str | None = None):
    """What :func:`place_points` needs of the vectors alone: each new point's ``k`` nearest map rows and
    their weights (``positions(map_xy, idx, weights)`` then places them on any layout of those rows)."""
    return _placement(map_vectors, np.asarray(new_vectors, dtype=np.float32), k, metric, device)


def positions(map_xy, idx, weights) -> np.ndarray:
    """Positions of points placed by :func:`placement` on the layout ``map_xy``."""
    return weighted_mean(np.asarray(map_xy, dtype=np.float32), idx, weights)


def _placement(map_vectors, new, k, metric, device, ok=None):
    base = np.asarray(map_vectors, dtype=np.float32)
    rows = np.arange(len(base)) if ok is None else np.flatnonzero(ok)
    if len(rows) == 0:
        raise ValueError("the map has no points to place new ones by")
    k = max(1, min(int(k), len(rows)))
    idx, dist = exact_knn(base[rows], k, metric, queries=new, device=device)
    return rows[idx], neighbour_weights(dist)


def project(vectors, method: str = "umap", *, n_neighbors: int = 15, min_dist: float = 0.1,
            metric: str = "cosine", seed: int | None = None, n_epochs: int | None = DEFAULT_EPOCHS,
            reference=None, cache: bool = True, device: str | None = None, snapshots: int = 10,
            preview: bool | None = None, landmarks="auto", groups=None, refine: bool | None = None,
            job=None) -> ProjectionResult:
    """A 2-D layout of ``vectors`` (n × d): ``method`` ``"pca"`` or ``"umap"``.

    UMAP parameters: ``n_neighbors``, ``min_dist``, ``metric`` (``"cosine"`` or
    ``"euclidean"``), ``seed`` and ``n_epochs`` (``None``: umap-learn's own default). {seed_note}
    ``reference``: row indices or a boolean mask; UMAP is fitted on those rows and the
    other rows are placed on that map from their neighbours (:func:`place_points`).
    ``landmarks``: ``"auto"`` fits a UMAP of every row up to ``LANDMARK_MIN_ROWS`` rows and a landmark
    map above (:func:`~mmstudio.analysis.projection.landmark_map.landmark_map`, with
    ``landmark_count(n)`` landmarks); a number of landmarks forces the landmark map (when there are more
    rows); ``None`` or 0 never uses it. ``groups``: each row's modality, so the landmarks cover every one;
    ``refine``: the landmark map's refinement pass (default: ``REFINE``, as measured).
    With a ``job``, the PCA preview (``preview``, default: when there is a job) and then
    ``snapshots`` partial UMAP layouts go to ``job.partial`` as :class:`Layout` objects (the landmark
    map's: the landmark layout, then the map as each block of rows is placed), progress to
    ``job.progress``, and ``job.cancel()`` stops the fit (:class:`~mmstudio.core.jobs.Cancelled`)
    between kNN chunks, between epochs and between blocks of placed rows; the graph construction, and
    umap-learn's nearest-neighbour descent on large sets, finish their step first.
    """
    show_preview = preview if preview is not None else job is not None  # a caller with a job sees a PCA first
    job = job or Job()
    start = time.perf_counter()
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"vectors must be an n × d array, not {x.shape}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")
    if not np.isfinite(x).all():
        raise ValueError("vectors contain NaN or infinite values")
    n = len(x)
    params = {"n_neighbors": int(n_neighbors), "min_dist": float(min_dist), "metric": metric,
              "seed": seed, "n_epochs": n_epochs}
    fit_rows = _reference_rows(reference, n)
    if method == "umap" and fit_rows is not None:
        params["reference_rows"] = len(fit_rows)
    too_few = len(fit_rows if fit_rows is not None else x) < MIN_ROWS
    if method == "pca" or too_few:
        xy = pca_2d(x)
        note = "" if method == "pca" else f"fewer than {MIN_ROWS} points: PCA instead of UMAP"
        timing = {"pca": time.perf_counter() - start}
        return ProjectionResult(xy, "pca", {} if method == "pca" else params, [], timing, note=note)
    fit_n = len(fit_rows) if fit_rows is not None else n
    count = landmarks_for(fit_n, landmarks)
    if count:
        return _landmark_result(x, fit_rows, count, params, groups, refine, cache, device, snapshots,
                                show_preview, job, start)
    first = []
    if show_preview:
        job.status("PCA")
        first = [Layout(pca_2d(x), "pca")]
        job.partial(first[0])
    timing = {"pca": time.perf_counter() - start} if first else {}
    fit_x = x if fit_rows is None else x[fit_rows]
    placement = None
    if fit_rows is not None:
        others = np.setdiff1d(np.arange(n), fit_rows)
        idx, weights = _placement(fit_x, x[others], n_neighbors, metric, device)
        placement = (others, idx, weights)

    def expand(fit_xy: np.ndarray) -> np.ndarray:
        if placement is None:
            return fit_xy
        full = np.empty((n, 2), dtype=np.float32)
        full[fit_rows] = fit_xy
        full[placement[0]] = weighted_mean(fit_xy, placement[1], placement[2])
        return full

    order = canonical_order(fit_x) if cache else None
    key = layout_key(vectors_digest(fit_x, order), params) if cache else None
    cached_xy = _in_order(load_layout(key, len(fit_x)), order) if cache else None
    if cached_xy is not None:
        return ProjectionResult(expand(cached_xy), "umap", params, first, _rest(timing, start), cached=True)
    fitted = fit_umap(fit_x, n_neighbors=n_neighbors, min_dist=min_dist, metric=metric, seed=seed,
                      n_epochs=n_epochs, device=device, snapshots=snapshots, job=job, expand=expand)
    fit_xy = _fill_disconnected(fit_x, fitted.xy, metric, device)
    if cache:
        save_layout(key, fit_xy[order], {"params": params, "knn": fitted.knn})
    timing = _rest({**timing, **fitted.timing}, start)
    params["n_neighbors_used"] = fitted.n_neighbors
    return ProjectionResult(expand(fit_xy), "umap", params, first + fitted.partials, timing, knn=fitted.knn)


project.__doc__ = project.__doc__.format(seed_note=SEED_NOTE)


def landmarks_for(n: int, landmarks="auto") -> int:
    """How many landmarks a map of ``n`` rows is fitted on (0: every row, the exact path)."""
    if landmarks is None or landmarks is False:
        return 0
    if isinstance(landmarks, str):
        if landmarks != "auto":
            raise ValueError(f"landmarks must be 'auto', a number or None, not {landmarks!r}")
        return landmark_count(n) if n >= LANDMARK_MIN_ROWS else 0
    count = int(landmarks)
    if count < 0:
        raise ValueError(f"landmarks must be 'auto', a number or None, not {landmarks!r}")
    if 0 < count < MIN_ROWS:
        raise ValueError(f"a landmark map needs at least {MIN_ROWS} landmarks, not {count}")
    return count if 0 < count < n else 0


def _landmark_result(x, fit_rows, count, params, groups, refine, cache, device, snapshots, show_preview, job,
                     start) -> ProjectionResult:
    """:func:`project`'s landmark path: a landmark map of the fit rows (the reference's, or all), the
    other rows placed on it as :func:`project` places them."""
    refine = REFINE if refine is None else bool(refine)
    n = len(x)
    fit_x = x if fit_rows is None else x[fit_rows]
    params = {**params, "landmarks": count, "dims": DIMS, "refine": refine}
    first, expand = [], None
    if fit_rows is not None:
        if show_preview:
            job.status("PCA")
            first = [Layout(pca_2d(x), "pca")]
            job.partial(first[0])
        others = np.setdiff1d(np.arange(n), fit_rows)
        idx, weights = _placement(fit_x, x[others], params["n_neighbors"], params["metric"], device)

        def expand(fit_xy):
            full = np.empty((n, 2), dtype=np.float32)
            full[fit_rows] = fit_xy
            full[others] = weighted_mean(fit_xy, idx, weights)
            return full

    fit_groups = None if groups is None else np.asarray(groups)[fit_rows if fit_rows is not None else slice(None)]
    order = canonical_order(fit_x) if cache else None
    key = layout_key(vectors_digest(fit_x, order), {**params, "groups": _groups_digest(
        None if fit_groups is None else fit_groups[order])}) if cache else None
    cached_xy = _in_order(load_layout(key, len(fit_x)), order) if cache else None
    if cached_xy is not None:
        note = f"landmark map: {count:,} landmarks, the rest placed (from the cache)"
        return ProjectionResult(cached_xy if expand is None else expand(cached_xy), "umap", params, first,
                                _rest({}, start), cached=True, note=note, path="landmarks")
    fitted = landmark_map(fit_x, count, groups=fit_groups, n_neighbors=params["n_neighbors"],
                          min_dist=params["min_dist"], metric=params["metric"], seed=params["seed"],
                          n_epochs=params["n_epochs"], refine=refine, preview=show_preview and fit_rows is None,
                          snapshots=snapshots, device=device, expand=expand, job=job)
    if cache:
        save_layout(key, fitted.xy[order], {"params": params, "knn": fitted.knn})
    params["n_neighbors_used"] = fitted.n_neighbors
    rows = fitted.landmarks if fit_rows is None else fit_rows[fitted.landmarks]
    return ProjectionResult(fitted.xy if expand is None else expand(fitted.xy), "umap", params,
                            first + fitted.partials, _rest(dict(fitted.timing), start), knn=fitted.knn,
                            note=fitted.note, path="landmarks", landmarks=rows)


def _in_order(stored, order):
    """A layout stored in the rows' canonical order (``layout_cache.canonical_order``), in theirs."""
    if stored is None:
        return None
    xy = np.empty_like(stored)
    xy[order] = stored
    return xy


def _groups_digest(groups) -> str | None:
    """What the landmark sample depends on besides the vectors (the cache key's part for the groups)."""
    if groups is None:
        return None
    import hashlib

    return hashlib.blake2b("\x1f".join(map(str, np.asarray(groups).tolist())).encode(), digest_size=8).hexdigest()


def _rest(timing: dict, start: float) -> dict:
    """``timing`` plus ``"other"``: the seconds since ``start`` that no step claimed."""
    other = time.perf_counter() - start - sum(timing.values())
    return {**timing, "other": max(0.0, other)}


def _reference_rows(reference, n: int):
    if reference is None:
        return None
    ref = np.asarray(reference)
    rows = np.flatnonzero(ref) if ref.dtype == bool else np.unique(ref.astype(np.int64))
    if ref.dtype == bool and len(ref) != n:
        raise ValueError(f"the reference mask has {len(ref)} entries, the vectors {n} rows")
    if len(rows) == 0:
        raise ValueError("the reference selects no rows")
    if rows[0] < 0 or rows[-1] >= n:
        raise ValueError("reference row indices out of range")
    return None if len(rows) == n else rows


def _fill_disconnected(x, xy, metric, device) -> np.ndarray:
    """umap-learn gives NaN to points it disconnected from every other; place them instead."""
    bad = ~np.isfinite(xy).all(axis=1)
    if not bad.any() or bad.all():
        return xy
    xy = xy.copy()
    xy[bad] = place_points(x[~bad], xy[~bad], x[bad], metric=metric, device=device)
    return xy


def refit(vectors, xy, *, n_neighbors: int = 15, min_dist: float = 0.1, metric: str = "cosine",
          seed: int | None = None, n_epochs: int | None = DEFAULT_EPOCHS, device: str | None = None,
          snapshots: int = 10, job=None) -> ProjectionResult:
    """A full UMAP of ``vectors`` that starts from ``xy`` (e.g. a map with points just placed
    by :func:`place_points`), so the picture moves rather than jumps. For a background job."""
    start = time.perf_counter()
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    init = np.ascontiguousarray(xy, dtype=np.float32)
    if init.shape != (len(x), 2):
        raise ValueError(f"xy must be {len(x)} × 2, not {init.shape}")
    params = {"n_neighbors": int(n_neighbors), "min_dist": float(min_dist), "metric": metric,
              "seed": seed, "n_epochs": n_epochs, "init": "given"}
    fitted = fit_umap(x, n_neighbors=n_neighbors, min_dist=min_dist, metric=metric, seed=seed,
                      n_epochs=n_epochs, init=init, device=device, snapshots=snapshots, job=job)
    timing = _rest(dict(fitted.timing), start)
    return ProjectionResult(_fill_disconnected(x, fitted.xy, metric, device), "umap", params, fitted.partials,
                            timing, knn=fitted.knn)


def project_table(table, method: str = "umap", *, reference: str | None = None, job=None, **options):
    """``table`` with ``x`` and ``y`` columns from :func:`project`.

    ``reference``: a modality (``"image"``, ``"audio"``, ``"text"``) to fit the map on; the
    other modalities' rows are placed on it. Other keyword arguments go to :func:`project`.
    """
    return with_xy(table, project_table_result(table, method, reference=reference, job=job, **options).xy)


def project_table_result(table, method: str = "umap", *, reference: str | None = None, job=None,
                         **options) -> ProjectionResult:
    """:func:`project` over a table's vectors, with ``reference`` given as a modality."""
    rows = None
    if reference is not None:
        present = table.modalities
        if reference not in present:
            raise ValueError(f"reference modality {reference!r} is not in the table "
                             f"(it has {', '.join(present) or 'no rows'})")
        rows = table.rows(reference)
    options.setdefault("groups", table.modality)
    result = project(table.vectors, method, reference=rows, job=job, **options)
    if reference is not None:
        result.params["reference"] = reference
    return result


def with_xy(table, xy):
    xy = np.asarray(xy, dtype=np.float64)
    return table.with_column("x", xy[:, 0]).with_column("y", xy[:, 1])
