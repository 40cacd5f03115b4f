"""A map that grows: rows placed on a fit never move the others, and land where place_points puts them."""

import numpy as np
import pytest

from mmstudio.analysis.projection.growing import GrowingMap, grow
from mmstudio.analysis.projection.project import pca_2d, place_points
from mmstudio.core.errors import ItemError
from mmstudio.core.tables.table import EmbeddingTable


def clustered(n, d=32, k=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, d))
    x = centres[rng.integers(0, k, n)] + 0.3 * rng.standard_normal((n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def table(vectors, prefix="s", column=None):
    n = len(vectors)
    columns = {} if column is None else {"size": column}
    return EmbeddingTable(np.array([f"{prefix}{i}" for i in range(n)], object), np.array(["text"] * n, object),
                          np.array([""] * n, object), np.array(["a"] * n, object), vectors, columns)


def test_placed_rows_leave_the_old_ones_alone_and_match_place_points():
    x = clustered(300)
    map_ = GrowingMap()
    first = table(x[:200])
    growth = grow(None, 0, [first])
    np.testing.assert_allclose(growth.preview, pca_2d(x[:200]))          # an empty map starts from a PCA
    map_.start(growth.preview)
    old = map_.xy.copy()
    growth = grow(growth.table, map_.fitted, [table(x[200:250], "t"), table(x[250:], "u")])
    start = map_.place(growth.idx, growth.weights)
    assert start == 200 and len(growth.table) == len(map_) == 300
    np.testing.assert_array_equal(map_.xy[:200], old)                     # exactly where they were
    np.testing.assert_allclose(map_.xy[200:], place_points(x[:200], old, x[200:]), atol=1e-6)
    assert map_.n_placed == 100 and map_.placed_share() == pytest.approx(1 / 3)


def test_a_new_fit_of_the_first_rows_places_the_later_rows_again_on_it():
    x = clustered(260, seed=1)
    map_ = GrowingMap()
    map_.start(pca_2d(x[:200]))
    growth = grow(table(x[:200]), 200, [table(x[200:230], "t")])
    map_.place(growth.idx, growth.weights)
    growth = grow(growth.table, 200, [table(x[230:], "u")])
    map_.place(growth.idx, growth.weights)
    fit = np.random.default_rng(2).standard_normal((230, 2)).astype(np.float32)  # a fit of the first 230 rows
    map_.fitted_layout(fit)
    np.testing.assert_array_equal(map_.xy[:230], fit)
    np.testing.assert_allclose(map_.xy[230:], place_points(x[:200], fit[:200], x[230:]), atol=1e-6)
    assert map_.fitted == 230 and map_.n_placed == 30
    with pytest.raises(ValueError, match="cuts a batch"):
        map_.fitted_layout(np.zeros((245, 2), np.float32))


def test_batches_keep_a_numeric_column_numeric_and_the_final_table_replaces_its_rows_in_place():
    x = clustered(60, seed=3)
    base = table(x[:40])
    # two batches as an encoding sends them: a numeric column that one batch has only blanks of
    a = table(x[40:50], "n", column=[None] * 10)
    b = table(x[50:], "n", column=[str(i) for i in range(10)])
    b.sample_id = np.array([f"n{i}" for i in range(10, 20)], object)
    grown = grow(base, 40, [a, b]).table
    whole = table(x, column=[None] * 50 + [str(i) for i in range(10)])   # how one table of every row reads it
    assert grown.columns["size"].dtype == whole.columns["size"].dtype == np.float64
    np.testing.assert_array_equal(grown.columns["size"], whole.columns["size"])
    final = table(np.concatenate([x[50:], x[40:50]]), "n", column=[str(i) for i in range(10)] + [None] * 10)
    final.sample_id = np.array([f"n{i}" for i in range(10, 20)] + [f"n{i}" for i in range(10)], object)
    final.errors = [ItemError("bad.png", "image", "not an image file")]
    out = grow(grown, 40, [], {"enc": final}, {"enc": [(40, 50), (50, 60)]}).table
    np.testing.assert_array_equal(out.sample_id, grown.sample_id)        # the same rows in the same places
    np.testing.assert_array_equal(out.vectors, grown.vectors)
    assert out.columns["size"].dtype.kind == "f"                         # the final table's column type
    np.testing.assert_array_equal(out.columns["size"][50:], np.arange(10.0))
    assert [e.reason for e in out.errors] == ["not an image file"]


def test_an_encoding_whose_items_all_failed_leaves_no_rows_but_its_errors():
    x = clustered(5, seed=4)
    failed = table(x[:0])
    failed.errors = [ItemError("broken.png", "image", "not an image file")]
    growth = grow(None, 0, [], {"enc": failed}, {})
    assert len(growth.table) == 0 and [e.reason for e in growth.table.errors] == ["not an image file"]
    later = grow(growth.table, 0, [table(x)])                          # rows that come later start the map
    assert len(later.table) == 5 and later.preview.shape == (5, 2) and len(later.table.errors) == 1


def test_the_final_table_replaces_each_caption_row_of_a_sample_by_its_own():
    x = clustered(30, seed=5)
    base = table(x[:20])
    # one sample with ten captions (text rows sharing its id), sent in two batches, then the final table
    # in another order: each row must take the final row of its own caption
    batch = table(x[20:], "c", column=[None] * 10)
    batch.sample_id[:] = "coco1"
    batch.columns["caption_index"] = np.arange(10.0)
    grown = grow(base, 20, [batch.take(np.arange(5)), batch.take(np.arange(5, 10))]).table
    order = np.random.default_rng(0).permutation(10)
    final = batch.take(order).with_column("size", order.astype(float) * 10)
    out = grow(grown, 20, [], {"enc": final}, {"enc": [(20, 25), (25, 30)]}).table
    np.testing.assert_array_equal(out.vectors, grown.vectors)
    np.testing.assert_array_equal(out.columns["caption_index"][20:], np.arange(10.0))
    np.testing.assert_array_equal(out.columns["size"][20:], np.arange(10.0) * 10)   # every row replaced
