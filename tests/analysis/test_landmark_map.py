"""The landmark map: a million rows mapped on small dimensions, the landmark sample, the switch from the
exact path, and its trustworthiness against a UMAP of every row (both computed here)."""

import numpy as np
import pytest

from mmstudio.__main__ import main
from mmstudio.analysis.projection import landmark_map as lmap
from mmstudio.analysis.projection import project as projection
from mmstudio.analysis.projection.cells import assign, kmeans
from mmstudio.analysis.projection.landmarks import choose_landmarks, far_from_centre
from mmstudio.analysis.projection.project import project
from mmstudio.core.jobs import Cancelled, Job
from mmstudio.core.tables.table import EmbeddingTable


class RecordingJob(Job):
    def __init__(self, cancel_after_placing=None):
        super().__init__()
        self.partials = []
        self.cancel_after_placing = cancel_after_placing

    def partial(self, result):
        super().partial(result)
        self.partials.append(result)
        if self.cancel_after_placing is not None and result.method == "placing" \
                and result.epoch >= self.cancel_after_placing:
            self.cancel()  # as a user pressing Stop while the rows are placed


def blobs(n, d, k, seed, spread=0.15):
    """n unit vectors around k random directions; returns (vectors, labels)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, d)).astype(np.float32)
    labels = rng.integers(0, k, n)
    x = np.empty((n, d), np.float32)
    for s in range(0, n, 250_000):
        part = labels[s:s + 250_000]
        x[s:s + len(part)] = centres[part] + spread * np.sqrt(d) * rng.standard_normal((len(part), d), np.float32) / 4
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, labels


@pytest.fixture(scope="module")
def million():
    """1,000,000 × 8 rows in 12 clusters, mapped on 1,500 landmarks (seeded), and what the job saw."""
    x, labels = blobs(1_000_000, 8, 12, seed=0)
    job = RecordingJob()
    fit = lmap.landmark_map(x, 1500, n_epochs=60, seed=0, snapshots=2, job=job)
    return x, labels, fit, job


def test_a_million_rows_are_all_placed_and_the_landmarks_keep_their_own_umap(million):
    import umap

    from mmstudio.analysis.projection.knn import exact_knn

    x, _, fit, job = million
    assert fit.xy.shape == (len(x), 2) and fit.xy.dtype == np.float32 and np.isfinite(fit.xy).all()
    assert len(fit.landmarks) == 1500 and len(np.unique(fit.landmarks)) == 1500
    assert fit.note == "landmark map: 1,500 landmarks, the rest placed"
    # the landmarks sit where umap-learn's own fit of them (same neighbours, same seed) puts them
    own = x[fit.landmarks]
    knn = exact_knn(own, 15)
    alone = umap.UMAP(n_neighbors=15, metric="cosine", random_state=0, n_epochs=60, init=lmap.LANDMARK_INIT,
                      precomputed_knn=knn).fit_transform(own)
    np.testing.assert_allclose(fit.xy[fit.landmarks], alone, atol=1e-4)
    # the job saw the PCA first, then the landmark layout, then the rows placed block by block
    methods = [p.method for p in job.partials]
    assert methods[0] == "pca" and methods[-1] == "placing" and "landmarks" in methods
    placing = [p for p in job.partials if p.method == "placing"]
    assert [p.epoch for p in placing] == sorted(p.epoch for p in placing) and placing[-1].epoch == len(x) - 1500
    np.testing.assert_array_equal(placing[-1].xy, fit.xy)
    landmark_layout = [p for p in job.partials if p.method == "landmarks"][-1]
    np.testing.assert_array_equal(landmark_layout.xy[fit.landmarks], fit.xy[fit.landmarks])


def test_placed_rows_sit_at_the_weighted_mean_of_their_nearest_landmarks(million):
    from sklearn.neighbors import NearestNeighbors

    x, labels, fit, _ = million
    rest = np.setdiff1d(np.arange(len(x)), fit.landmarks)
    sample = np.random.default_rng(1).choice(rest, 3000, replace=False)
    # the reference: scikit-learn's 15 nearest landmarks (8 dimensions: the reduced space keeps them all)
    dist, idx = NearestNeighbors(n_neighbors=15, metric="cosine", algorithm="brute").fit(
        x[fit.landmarks]).kneighbors(x[sample])
    w = np.exp(-(dist - dist[:, :1]) / lmap.PLACE_TEMPERATURE)
    w /= w.sum(axis=1, keepdims=True)
    expected = np.einsum("mk,mkc->mc", w, fit.xy[fit.landmarks][idx])
    extent = np.ptp(fit.xy, axis=0).max()
    close = np.linalg.norm(fit.xy[sample] - expected, axis=1) < 1e-4 * extent
    assert close.mean() > 0.999   # (a near tie between the 15th and 16th landmark may differ by rounding)
    # and so each lands among its own cluster's landmarks
    centres = np.stack([np.median(fit.xy[fit.landmarks][labels[fit.landmarks] == c], axis=0) for c in range(12)])
    nearest = np.linalg.norm(fit.xy[sample][:, None] - centres[None], axis=2).argmin(axis=1)
    assert (nearest == labels[sample]).mean() > 0.99


def test_cancelling_while_rows_are_placed_leaves_the_landmark_map_and_the_rows_placed_so_far(million):
    x = million[0][:200_000]
    job = RecordingJob(cancel_after_placing=1)
    with pytest.raises(Cancelled):
        lmap.landmark_map(x, 1000, n_epochs=20, seed=0, snapshots=0, job=job)
    last = job.latest_partial
    assert last.method == "placing" and last.epoch == lmap.PLACE_ROWS and last.n_epochs == len(x) - 1000
    assert last.xy.shape == (len(x), 2) and np.isfinite(last.xy).all()
    assert sum(p.method == "placing" for p in job.partials) == 1   # it stopped after that block


def test_the_landmarks_cover_every_modality_and_every_cluster_even_tiny_ones():
    rng = np.random.default_rng(3)
    x, labels = blobs(20_000, 16, 30, seed=3)
    tiny = rng.standard_normal(16).astype(np.float32) * 4   # a cluster of 6 rows, away from the others
    x[:6] = tiny + 0.1 * rng.standard_normal((6, 16)).astype(np.float32)
    labels[:6] = 30
    modality = np.where(rng.random(20_000) < 0.5, "image", "text").astype(object)
    modality[[100, 5000, 15000]] = "audio"                  # 3 rows of a rare modality
    centroids = kmeans(x, 400 // 64, seed=0)
    cells, d2 = assign(x, centroids, distances=True)
    far = far_from_centre(cells, d2)
    assert set(np.flatnonzero(far)) == set(range(6))      # the tiny cluster shares a cell, far from its centre
    for seed in range(5):
        picked = choose_landmarks(cells, 400, modality, far=far, seed=seed)
        assert len(picked) == 400 and len(np.unique(picked)) == 400
        assert set(labels[picked]) == set(range(31)) and set(modality[picked]) == {"image", "text", "audio"}
    # what samples without those strata miss: a uniform one, and one stratified by cell alone
    uniform = np.random.default_rng(0).choice(20_000, 400, replace=False)
    assert 30 not in set(labels[uniform]) and "audio" not in set(modality[uniform])
    by_cell = [choose_landmarks(cells, 400, seed=seed) for seed in range(5)]
    assert sum(30 in set(labels[p]) for p in by_cell) <= 2 and sum("audio" in set(modality[p]) for p in by_cell) <= 2
    picked = choose_landmarks(cells, 400, modality, far=far, seed=0)
    # the rest goes in proportion: each cluster's share of the landmarks is near its share of the rows
    share = np.bincount(labels[picked], minlength=31)[:30] / 400
    assert np.abs(share - np.bincount(labels, minlength=31)[:30] / 20_000).max() < 0.02


def test_trustworthiness_of_the_landmark_map_is_near_a_umap_of_every_row():
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import NearestNeighbors

    x, _ = blobs(4000, 96, 15, seed=7, spread=0.3)   # more dimensions than the reduced space keeps
    exact = project(x, seed=0, n_epochs=100, cache=False, landmarks=None)
    landmarks = project(x, seed=0, n_epochs=100, cache=False, landmarks=800)
    assert exact.path == "exact" and landmarks.path == "landmarks" and len(landmarks.landmarks) == 800
    t_exact = trustworthiness(x, exact.xy, n_neighbors=15, metric="cosine")
    t_landmarks = trustworthiness(x, landmarks.xy, n_neighbors=15, metric="cosine")
    t_pca = trustworthiness(x, projection.pca_2d(x), n_neighbors=15, metric="cosine")
    assert t_landmarks >= t_exact - 0.02            # the target's tolerance at 100,000 rows
    assert t_landmarks - t_pca > 0.5 * (t_exact - t_pca)   # and far from the PCA preview it starts from
    # the candidates found in the reduced space, re-ranked in the original one: most rows sit exactly where
    # their 15 nearest landmarks in the original space (scikit-learn's) put them, the others close by (a
    # 15th neighbour missed among the candidates moves a row a little)
    own = landmarks.landmarks
    rest = np.setdiff1d(np.arange(len(x)), own)
    dist, idx = NearestNeighbors(n_neighbors=15, metric="cosine", algorithm="brute").fit(x[own]).kneighbors(x[rest])
    w = np.exp(-(dist - dist[:, :1]) / lmap.PLACE_TEMPERATURE)
    w /= w.sum(axis=1, keepdims=True)
    expected = np.einsum("mk,mkc->mc", w, landmarks.xy[own][idx])
    extent = np.ptp(landmarks.xy, axis=0).max()
    off = np.linalg.norm(landmarks.xy[rest] - expected, axis=1) / extent
    assert np.median(off) < 1e-4 and np.percentile(off, 99) < 0.01


def test_project_switches_to_landmarks_at_the_threshold_and_says_so(monkeypatch, tmp_path, capsys):
    assert projection.LANDMARK_MIN_ROWS > projection.landmark_count(projection.LANDMARK_MIN_ROWS) >= 5_000
    assert [projection.landmark_count(n) for n in (100, 100_000, 150_000, 10**6)] == [100, 5_000, 7_500, 10_000]
    assert projection.landmarks_for(projection.LANDMARK_MIN_ROWS - 1) == 0
    monkeypatch.setattr(projection, "LANDMARK_MIN_ROWS", 600)
    monkeypatch.setattr(projection, "landmark_count", lambda n: n // 4)
    x, _ = blobs(600, 16, 5, seed=2)
    below = project(x[:599], n_epochs=20, cache=False, seed=0)
    at = project(x, n_epochs=20, cache=False, seed=0)
    assert below.path == "exact" and below.landmarks is None and below.note == ""
    assert at.path == "landmarks" and len(at.landmarks) == 150 and at.note == "landmark map: 150 landmarks, the rest placed"
    assert project(x, n_epochs=20, cache=False, seed=0, landmarks=None).path == "exact"
    with pytest.raises(ValueError, match="at least 10 landmarks"):
        project(x, landmarks=3)
    ids = np.array([f"r{i}" for i in range(600)], dtype=object)
    table = EmbeddingTable(ids, np.full(600, "image", dtype=object), ids, np.full(600, None, dtype=object), x)
    table.write(tmp_path / "t.npz")
    assert main(["project", str(tmp_path / "t.npz"), "--out", str(tmp_path / "o.npz"), "--epochs", "20",
                 "--no-cache", "--landmarks", "120"]) == 0
    assert "landmark map: 120 landmarks, the rest placed" in capsys.readouterr().err
    assert main(["project", str(tmp_path / "t.npz"), "--out", str(tmp_path / "o.npz"), "--landmarks", "5"]) == 2
    assert "10 or more" in capsys.readouterr().err


def test_the_refinement_pass_moves_only_the_placed_rows():
    x, _ = blobs(3000, 24, 6, seed=9)
    plain = lmap.landmark_map(x, 500, n_epochs=30, seed=0, snapshots=0, preview=False)
    job = RecordingJob()
    refined = lmap.landmark_map(x, 500, n_epochs=30, seed=0, snapshots=0, preview=False, refine=True, job=job)
    np.testing.assert_array_equal(refined.landmarks, plain.landmarks)
    np.testing.assert_array_equal(refined.xy[refined.landmarks], plain.xy[plain.landmarks])
    rest = np.setdiff1d(np.arange(len(x)), plain.landmarks)
    assert np.isfinite(refined.xy).all() and not np.allclose(refined.xy[rest], plain.xy[rest])
    assert refined.refined and refined.note.endswith("placed and refined")
    assert job.partials[-1].method == "refining" and job.partials[-1].epoch == job.partials[-1].n_epochs == 10
