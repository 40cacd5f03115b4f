"""What the window's comparison draws: each item's neighbourhood change (checked against scikit-learn's
nearest neighbours) and B's map turned to face A's (checked against scipy's Procrustes)."""

import numpy as np
import pytest
from scipy.spatial import procrustes
from sklearn.neighbors import NearestNeighbors

from mmstudio.analysis.alignment.neighbour_change import neighbour_change
from mmstudio.analysis.projection.facing import face
from mmstudio.core.tables.table import EmbeddingTable


def table(vectors, modality, model="m"):
    n = len(vectors)
    return EmbeddingTable([f"s{i % 30}" for i in range(n)], modality, [""] * n, [None] * n, vectors, model=model)


def reference_change(a, b, k=10):
    """1 − |N_a ∩ N_b| / |N_a ∪ N_b| with each row's k nearest other rows by cosine, from scikit-learn."""
    def sets(x):
        found = NearestNeighbors(n_neighbors=k + 1, metric="cosine", algorithm="brute").fit(x).kneighbors(x)[1]
        return [set(row[row != i][:k]) for i, row in enumerate(found)]

    return np.array([1 - len(p & q) / len(p | q) for p, q in zip(sets(a), sets(b))])


def test_neighbourhood_change_is_one_minus_the_jaccard_of_the_nearest_ten_within_each_modality():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((63, 12))
    y = x + 0.4 * rng.standard_normal(x.shape)
    y[:5] = rng.standard_normal((5, 12))                      # five items moved far
    modality = np.array(["image"] * 30 + ["text"] * 30 + ["audio"] * 3, object)
    change = neighbour_change(table(x, modality), table(y, modality, "n"))
    for name in ("image", "text"):
        rows = np.flatnonzero(modality == name)
        np.testing.assert_allclose(change[rows], reference_change(x[rows], y[rows]))
    assert np.isnan(change[modality == "audio"]).all()       # 3 rows: too few to compare, as compare_tables says
    assert change[:5].mean() > change[5:30].mean()            # the moved items changed most
    same = neighbour_change(table(x, modality), table(x @ np.linalg.qr(rng.standard_normal((12, 12)))[0], modality))
    np.testing.assert_allclose(same[modality != "audio"], 0, atol=1e-12)   # a rotation keeps every neighbour


def test_a_map_turned_to_face_another_is_scipy_s_procrustes_fit_and_keeps_its_shape():
    rng = np.random.default_rng(1)
    reference = rng.standard_normal((50, 2))
    angle = 2.0
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ np.diag([1, -1])  # and flipped
    xy = (reference @ turn) * 3.5 + [10, -4] + 0.05 * rng.standard_normal((50, 2))
    faced = face(xy, reference)
    standard, fitted, disparity = procrustes(reference, xy)
    centre, size = reference.mean(axis=0), np.linalg.norm(reference - reference.mean(axis=0))
    np.testing.assert_allclose((faced - centre) / size, fitted, atol=1e-5)
    assert disparity < 1e-3 and np.abs(faced - reference).max() < 0.1
    d = lambda p: np.linalg.norm(p[:, None] - p[None], axis=2)  # noqa: E731
    ratio = d(faced)[np.triu_indices(50, 1)] / d(xy)[np.triu_indices(50, 1)]
    assert ratio == pytest.approx(np.full(len(ratio), ratio[0]), rel=1e-4)   # distances all scaled alike: same shape


def test_facing_ignores_rows_without_a_place_and_leaves_a_flat_map_alone():
    rng = np.random.default_rng(2)
    reference = rng.standard_normal((20, 2))
    xy = reference @ np.array([[0.0, 1.0], [-1.0, 0.0]])
    xy[3] = np.nan
    faced = face(xy, reference)
    np.testing.assert_allclose(np.delete(faced, 3, axis=0), np.delete(reference, 3, axis=0), atol=1e-5)
    assert np.isnan(faced[3]).all()
    flat = np.zeros((20, 2))
    np.testing.assert_array_equal(face(flat, reference), flat)
    with pytest.raises(ValueError):
        face(np.zeros((3, 2)), np.zeros((4, 2)))
