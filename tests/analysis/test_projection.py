"""Projection: what a user gets, against scikit-learn and plain umap-learn on the same data."""

import numpy as np
import pytest

from mmstudio.__main__ import main
from mmstudio.analysis.projection import project as projection
from mmstudio.analysis.projection.knn import exact_knn
from mmstudio.analysis.projection.layout_cache import layouts_dir
from mmstudio.analysis.projection.project import Layout, pca_2d, place_points, project, project_table, refit
from mmstudio.core.jobs import Cancelled, Job
from mmstudio.core.tables.table import EmbeddingTable


def clustered(n, d=64, k=10, spread=1.0, seed=0):
    """n unit vectors in k Gaussian clusters around random directions; returns (vectors, labels)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(0, k, n)
    x = centres[labels] + spread * rng.standard_normal((n, d)) / np.sqrt(d)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


class RecordingJob(Job):
    def __init__(self, cancel_at_epoch=None):
        super().__init__()
        self.partials = []
        self.cancel_at_epoch = cancel_at_epoch

    def partial(self, result):
        super().partial(result)
        self.partials.append(result)

    def progress(self, done, total=None):
        super().progress(done, total)
        if self.cancel_at_epoch is not None and self.message.startswith("UMAP") and done >= self.cancel_at_epoch:
            self.cancel()  # as a user pressing Stop while the epochs run


@pytest.fixture(scope="module")
def data():
    return clustered(1500)


@pytest.fixture(scope="module")
def fast_map(data):
    """The fast path (exact kNN + umap-learn's layout, 200 epochs), seeded; with the job's reports."""
    job = RecordingJob()
    result = project(data[0], seed=0, cache=False, job=job)
    return result, job


def test_fast_layout_is_as_trustworthy_as_plain_umap(data, fast_map):
    import umap
    from sklearn.manifold import trustworthiness

    x, _ = data
    plain = umap.UMAP(metric="cosine", random_state=0).fit_transform(x)
    result, _ = fast_map
    assert result.method == "umap" and result.knn.startswith("exact")
    assert result.xy.shape == (len(x), 2) and result.xy.dtype == np.float32 and np.isfinite(result.xy).all()
    ours = trustworthiness(x, result.xy, n_neighbors=15, metric="cosine")
    theirs = trustworthiness(x, plain, n_neighbors=15, metric="cosine")
    assert ours > 0.9
    assert abs(ours - theirs) <= 0.01


def test_fit_reports_pca_first_then_partial_layouts_and_progress(data, fast_map):
    result, job = fast_map
    assert isinstance(job.partials[0], Layout) and job.partials[0].method == "pca"
    np.testing.assert_allclose(job.partials[0].xy, pca_2d(data[0]), atol=1e-5)
    epochs = [p.epoch for p in job.partials[1:]]
    assert all(p.method == "umap" and p.xy.shape == (len(data[0]), 2) for p in job.partials[1:])
    assert epochs == sorted(epochs) and epochs[0] == 0 and epochs[-1] == 200 and len(epochs) >= 10
    np.testing.assert_array_equal(job.partials[-1].xy, result.xy)
    assert (job.done, job.total) == (200, 200)
    assert [p.epoch for p in result.partials] == [0] + epochs


def test_a_fixed_seed_gives_the_same_map(data, fast_map):
    again = project(data[0], seed=0, cache=False, snapshots=0)
    np.testing.assert_array_equal(again.xy, fast_map[0].xy)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_exact_knn_equals_scikit_learn(metric):
    from sklearn.neighbors import NearestNeighbors

    x, _ = clustered(700, d=32, seed=1)
    x[5] = x[4]  # an exact duplicate: the row itself must still come first
    queries = clustered(50, d=32, seed=2)[0]
    reference = NearestNeighbors(n_neighbors=12, metric=metric, algorithm="brute").fit(x)
    for q, block_mb in [(None, 0.05), (queries, 256)]:  # 0.05 MB: many small chunks
        ref_d, ref_i = reference.kneighbors(x if q is None else q)
        idx, dist = exact_knn(x, 12, metric, queries=q, block_mb=block_mb)
        assert idx.dtype == np.int64 and dist.dtype == np.float32 and idx.shape == (len(ref_i), 12)
        np.testing.assert_allclose(dist, ref_d, atol=2e-5)
        differ = idx != ref_i  # only where the duplicate pair ties, in either order
        assert set(idx[differ].tolist()) <= {4, 5} and set(ref_i[differ].tolist()) <= {4, 5}
        if q is None:
            np.testing.assert_array_equal(idx[:, 0], np.arange(len(x)))


def test_pca_matches_scikit_learn_up_to_sign():
    from sklearn.decomposition import PCA
    from threadpoolctl import threadpool_limits

    for n, d in [(400, 20), (9000, 512)]:  # the second takes the float32 Gram-matrix path
        x = np.random.default_rng(n).standard_normal((n, d)).astype(np.float32) * np.linspace(3, 1, d, dtype=np.float32)
        ours = pca_2d(x)
        with threadpool_limits(1):  # LAPACK's threads only fight on a busy 2-core machine
            theirs = PCA(n_components=2, svd_solver="full").fit_transform(x)
        signs = np.sign(np.sum(ours * theirs, axis=0))
        np.testing.assert_allclose(ours * signs, theirs, atol=2e-3 * np.abs(theirs).max())


def _tqdm_lock_is_free():
    import threading

    from tqdm import tqdm

    got = []

    def take_and_give_back():  # from another thread, as the next job's progress bar would
        locks = tqdm.get_lock().locks
        taken = [lock.acquire(timeout=5) for lock in locks]
        got.append(all(taken))
        for lock, ok in zip(locks[::-1], taken[::-1]):
            if ok:
                lock.release()

    thread = threading.Thread(target=take_and_give_back)
    thread.start()
    thread.join()
    assert got == [True]


def test_cancelling_stops_a_long_fit_promptly():
    x, _ = clustered(2000, d=32, seed=3)
    job = RecordingJob(cancel_at_epoch=3)
    with pytest.raises(Cancelled):
        project(x, n_epochs=100_000, cache=False, job=job)  # would run for many minutes
    assert job.total == 100_000 and job.done <= 4
    _tqdm_lock_is_free()  # a cancelled fit must not leave tqdm's write lock held (it stalls every later UMAP)
    early = RecordingJob()
    early.cancel()
    with pytest.raises(Cancelled):
        project(x, cache=False, job=early)
    assert not [p for p in early.partials if p.method == "umap"]


def test_layout_cache_returns_the_layout_without_refitting_and_recomputes_a_damaged_file(data, monkeypatch):
    fits = []
    real_fit = projection.fit_umap

    def counting_fit(*args, **kwargs):
        fits.append(1)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(projection, "fit_umap", counting_fit)
    x = data[0][:600]
    first = project(x, seed=1, n_epochs=50)
    second = project(x, seed=1, n_epochs=50)
    assert len(fits) == 1 and second.cached and not first.cached
    np.testing.assert_array_equal(first.xy, second.xy)
    project(x, seed=1, n_epochs=60)  # other parameters: another fit
    assert len(fits) == 2
    files = sorted(layouts_dir().glob("*.npz"))
    assert len(files) == 2
    for f in files:
        f.write_bytes(b"PK\x03\x04 this is not a layout")
    third = project(x, seed=1, n_epochs=50)
    assert len(fits) == 3 and not third.cached
    np.testing.assert_array_equal(third.xy, first.xy)
    assert project(x, seed=1, n_epochs=50).cached and len(fits) == 3
    project(x, seed=1, n_epochs=50, cache=False)
    assert len(fits) == 4
    # the same rows in another order (a project reopened, some items found in the embedding cache first):
    # the same layout, each row where it was
    shuffled = np.random.default_rng(3).permutation(len(x))
    again = project(x[shuffled], seed=1, n_epochs=50)
    assert again.cached and len(fits) == 4
    np.testing.assert_array_equal(again.xy, first.xy[shuffled])


def test_added_points_land_near_their_neighbours(data, fast_map):
    x, labels = data
    xy = fast_map[0].xy
    rng = np.random.default_rng(7)
    pick = rng.choice(len(x), 100, replace=False)
    new = x[pick] + 0.02 * rng.standard_normal((100, x.shape[1])).astype(np.float32)
    new /= np.linalg.norm(new, axis=1, keepdims=True)
    placed = place_points(x, xy, new)
    assert placed.shape == (100, 2) and placed.dtype == np.float32
    extent = np.ptp(xy, axis=0).max()
    assert np.median(np.linalg.norm(placed - xy[pick], axis=1)) < 0.05 * extent
    # each lands inside its own cluster: nearer its cluster's centre than any other cluster's
    centres = np.stack([np.median(xy[labels == c], axis=0) for c in range(labels.max() + 1)])
    nearest = np.linalg.norm(placed[:, None] - centres[None], axis=2).argmin(axis=1)
    assert (nearest == labels[pick]).mean() >= 0.95
    on_top = place_points(x, xy, x[pick[:5]])  # copies of map points land on them
    np.testing.assert_allclose(on_top, xy[pick[:5]], atol=1e-3 * extent)


def test_refit_starts_from_the_map_with_the_added_points(data, fast_map):
    from sklearn.manifold import trustworthiness

    x = data[0]
    new = clustered(60, seed=11)[0]
    xy = np.concatenate([fast_map[0].xy, place_points(x, fast_map[0].xy, new)])
    both = np.concatenate([x, new])
    job = RecordingJob()
    result = refit(both, xy, seed=0, n_epochs=40, job=job)
    assert result.xy.shape == (len(both), 2) and np.isfinite(result.xy).all()
    start = job.partials[0]
    assert start.epoch == 0
    for axis in range(2):  # epoch 0 is the given map, only rescaled
        assert np.corrcoef(start.xy[:, axis], xy[:, axis])[0, 1] > 0.9999
    assert trustworthiness(both, result.xy, n_neighbors=15, metric="cosine") > 0.9


def paired_table(n=300, seed=4):
    """Images in clusters; each caption near its image (a noisy copy), shifted by a modality gap."""
    x, labels = clustered(n, d=48, k=6, seed=seed)
    rng = np.random.default_rng(seed)
    gap = rng.standard_normal(48).astype(np.float32) * 0.02
    text = x + gap + 0.05 * rng.standard_normal(x.shape).astype(np.float32) / np.sqrt(48)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    ids = [f"s{i:03d}" for i in range(n)]
    return EmbeddingTable(np.array(ids * 2, dtype=object), np.array(["image"] * n + ["text"] * n, dtype=object),
                          np.array([f"{m}/{i}" for m in ("image", "text") for i in ids], dtype=object),
                          np.array([str(v) for v in labels] * 2, dtype=object), np.concatenate([x, text]))


def test_reference_modality_fits_on_it_and_places_the_others():
    table = paired_table()
    job = RecordingJob()
    out = project_table(table, reference="image", seed=2, n_epochs=100, cache=False, job=job)
    xy = np.stack([out.columns["x"], out.columns["y"]], axis=1)
    images, texts = table.rows("image"), table.rows("text")
    alone = project(table.vectors[images], seed=2, n_epochs=100, cache=False).xy
    np.testing.assert_allclose(xy[images], alone, atol=1e-5)  # the map is the images' own map
    extent = np.ptp(xy[images], axis=0).max()
    assert np.median(np.linalg.norm(xy[texts] - xy[images], axis=1)) < 0.05 * extent  # captions by their images
    assert all(p.xy.shape == (len(table), 2) for p in job.partials)  # partials show every row
    with pytest.raises(ValueError, match="audio"):
        project_table(table, reference="audio")


def test_project_table_adds_x_and_y(data):
    table = paired_table(60)
    out = project_table(table, "pca")
    assert set(out.columns) >= {"x", "y"} and len(out) == len(table)
    np.testing.assert_allclose(np.stack([out.columns["x"], out.columns["y"]], 1), pca_2d(table.vectors), atol=1e-6)
    tiny = project(table.vectors[:5])  # too few points for UMAP: PCA, and it says so
    assert tiny.method == "pca" and "PCA" in tiny.note
    euclidean = project(table.vectors, metric="euclidean", seed=0, n_epochs=30, cache=False)
    assert euclidean.xy.shape == (len(table), 2) and np.isfinite(euclidean.xy).all()
    assert set(euclidean.timing) >= {"knn", "graph", "layout"}
    assert sum(euclidean.timing.values()) > 0


def test_exact_knn_is_used_up_to_the_measured_size_then_umaps_own_descent():
    from mmstudio.analysis.projection import umap_fit

    assert umap_fit.choose_knn(4_000, "cpu") == "exact"
    assert umap_fit.choose_knn(1_000_000, "cpu") == "nn-descent"
    assert umap_fit.choose_knn(1_000_000, "cuda") == "exact"  # a GPU does the exact kNN at any size
    assert umap_fit.EXACT_KNN_MAX_ROWS_WARM <= umap_fit.exact_knn_max_rows() <= umap_fit.EXACT_KNN_MAX_ROWS_COLD


def test_cli_writes_x_and_y_and_refuses_bad_input(tmp_path, capsys):
    table = paired_table(150)
    src = tmp_path / "in.parquet"
    table.write(src)
    out = tmp_path / "out.parquet"
    assert main(["project", str(src), "--out", str(out), "--seed", "3", "--epochs", "60", "--neighbors", "10"]) == 0
    err = capsys.readouterr().err
    assert "projected 300 rows (umap, kNN exact" in err
    written = EmbeddingTable.read(out)
    assert {"x", "y"} <= set(written.columns) and np.isfinite(written.columns["x"]).all()
    np.testing.assert_array_equal(written.vectors, table.vectors)
    again = tmp_path / "again.npz"
    assert main(["project", str(src), "--out", str(again), "--seed", "3", "--epochs", "60", "--neighbors", "10"]) == 0
    assert "from the cache" in capsys.readouterr().err
    np.testing.assert_array_equal(EmbeddingTable.read(again).columns["x"], written.columns["x"])
    assert main(["project", str(src), "--out", str(out), "--method", "pca", "--reference", "text"]) == 0
    for args, message in [
        ([str(tmp_path / "missing.parquet")], "cannot read"),
        ([str(src), "--neighbors", "1"], "--neighbors"),
        ([str(src), "--min-dist", "2"], "--min-dist"),
        ([str(src), "--reference", "audio"], "reference modality 'audio' is not in the table"),
        ([str(tmp_path / "in.csv")], ".parquet or .npz"),
    ]:
        assert main(["project", *args, "--out", str(out)]) == 2, args
        assert message in capsys.readouterr().err
