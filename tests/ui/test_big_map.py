"""The map at hundreds of thousands of rows: picking, lassos, drawing, colouring, filtering and selecting give
what a reference implementation gives, and work per distinct value or per drawn point — never a Python call
per row (counted with strings that count their comparisons, hashes and str() calls) — so that a million rows
stay interactive (benchmarks/stalls_big.py measures the gaps)."""

import numpy as np
import pytest
from tracked import Counting, tracked

N = 200_000


def cloud_of(n: int, seed: int = 0):
    from mmstudio.ui.map.point_cloud import PointCloudItem

    rng = np.random.default_rng(seed)
    xy = rng.normal(size=(n, 2)).astype(np.float32)
    xy[rng.random(n) < 0.01] = np.nan                          # rows not placed yet
    cloud = PointCloudItem()
    cloud.set_points(xy, rng.integers(0, 255, (n, 3)).astype(np.uint8), rng.integers(0, 3, n))
    visible = rng.random(n) > 0.3
    cloud.set_visible(visible)
    return cloud, xy, visible


def test_picking_finds_the_nearest_visible_point_that_a_kd_tree_finds(qtbot):
    from scipy.spatial import cKDTree

    from mmstudio.ui.map import point_cloud

    cloud, xy, visible = cloud_of(point_cloud.TREE_POINTS + 50_000)
    shown = np.flatnonzero(visible & np.isfinite(xy).all(axis=1))
    tree = cKDTree(xy[shown])
    rng = np.random.default_rng(1)
    probes = [(x, y, float(rng.choice([0.002, 0.01, 0.05]))) for x, y in rng.normal(size=(300, 2)) * 1.5]
    expected = [(lambda d, i: int(shown[i]) if np.isfinite(d) else None)(*tree.query([x, y], k=1,
                                                                                    distance_upper_bound=r))
                for x, y, r in probes]
    assert [cloud.nearest(x, y, r) for x, y, r in probes] == expected   # while its own tree is built
    qtbot.waitUntil(lambda: cloud._tree is not None, timeout=30_000)    # on a thread
    assert [cloud.nearest(x, y, r) for x, y, r in probes] == expected   # through it
    cloud.set_visible(np.zeros(len(xy), bool) | (np.arange(len(xy)) % 997 == 0))   # the nearest ones hidden
    sparse = np.flatnonzero(cloud.visible & np.isfinite(xy).all(axis=1))
    d, i = cKDTree(xy[sparse]).query([0.0, 0.0], k=1, distance_upper_bound=0.3)
    assert np.isfinite(d) and cloud.nearest(0.0, 0.0, 0.3) == int(sparse[i])


def test_a_lasso_selects_the_points_qt_finds_inside_its_polygon(qtbot):
    from PySide6 import QtCore, QtGui

    cloud, xy, visible = cloud_of(N, seed=2)
    angles = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    radii = 1 + 0.5 * np.sin(5 * angles)                       # a star-shaped lasso, concave
    polygon = np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])
    found = cloud.in_polygon(polygon)
    qt = QtGui.QPolygonF([QtCore.QPointF(float(a), float(b)) for a, b in polygon])
    probe = np.flatnonzero(visible & np.isfinite(xy).all(axis=1))[::25]
    inside = [int(r) for r in probe if qt.containsPoint(QtCore.QPointF(float(xy[r, 0]), float(xy[r, 1])),
                                                         QtCore.Qt.FillRule.OddEvenFill)]
    assert np.intersect1d(found, probe).tolist() == inside and len(inside) > 1000
    assert not np.isin(found, np.flatnonzero(~visible)).any()


def paint(cloud, image):
    from PySide6 import QtGui

    painter = QtGui.QPainter(image)
    painter.scale(100, 100)
    painter.translate(3, 2)
    cloud.paint(painter, None, None)
    painter.end()


def test_a_frame_is_computed_again_only_when_the_points_or_the_view_change(qtbot, monkeypatch):
    from PySide6 import QtGui

    from mmstudio.ui.map import point_cloud

    cloud, xy, _ = cloud_of(N, seed=3)
    computed = []
    monkeypatch.setattr(point_cloud, "compute", lambda *args: (computed.append(1), frames.compute(*args))[1])

    def picture():
        image = QtGui.QImage(600, 400, QtGui.QImage.Format.Format_ARGB32)
        image.fill(0)
        paint(cloud, image)
        return image

    from mmstudio.ui.map import frames

    first = picture()
    assert cloud.last_mode == "raster" and len(computed) == 1 and cloud.last_drawn > 100_000
    again = picture()                                          # a tooltip or a box over the map: the same frame
    assert len(computed) == 1 and again == first
    cloud.set_emphasis(selected=np.arange(0, N, 7))           # 28,572 selected: dots over the same frame
    emphasised = picture()
    assert len(computed) == 1 and emphasised != first
    cloud.set_colors(np.zeros((N, 3), np.uint8))               # new colours: a new frame
    picture()
    assert len(computed) == 2


def test_a_large_clouds_frames_are_computed_off_the_gui_thread_and_follow_the_view(qtbot, monkeypatch):
    import threading

    import pyqtgraph as pg

    from mmstudio.ui.map import frames, point_cloud

    threads = []
    monkeypatch.setattr(point_cloud, "compute", lambda *args: (threads.append(threading.get_ident()),
                                                                frames.compute(*args))[1])
    monkeypatch.setattr(frames, "compute", lambda *args, _c=frames.compute: (threads.append(threading.get_ident()),
                                                                             _c(*args))[1])
    cloud, xy, visible = cloud_of(frames.ASYNC_POINTS + 50_000, seed=6)
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.resize(500, 400)
    plot.addItem(cloud)
    plot.show()
    qtbot.waitUntil(lambda: cloud._frame is not None and cloud.last_mode == "raster", timeout=30_000)
    assert threads and threading.get_ident() not in threads    # every frame came from another thread
    shown = cloud._frame.view
    plot.getViewBox().setRange(xRange=(-0.5, 0.5), yRange=(-0.5, 0.5), padding=0)   # zoom in: a new frame
    qtbot.waitUntil(lambda: cloud._frame.view != shown and not cloud._renderer.busy()
                    and cloud.last_drawn == cloud._frame.drawn, timeout=30_000)   # computed, then painted
    assert threading.get_ident() not in threads
    assert 0 < cloud.last_drawn < np.sum(visible)


def big_table(n: int, dim: int = 8, seed: int = 0):
    from mmstudio.core.tables.table import EmbeddingTable

    rng = np.random.default_rng(seed)
    sample = np.arange(n) // 3
    labels = [f"class {k}" for k in range(12)]
    label = np.array(labels + [None], object)[rng.integers(0, 13, n // 3 + 1)][sample]
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return EmbeddingTable(tracked([f"s{k}" for k in sample]), tracked(np.array(["image", "audio", "text"])[
        np.arange(n) % 3].tolist()), tracked([""] * n), tracked(label.tolist()), vectors,
        {"score": rng.normal(size=n), "split": tracked(np.array(["train", "test"])[sample % 2].tolist())})


def test_colouring_two_hundred_thousand_rows_by_label_matches_the_per_value_rule_without_a_call_per_row(qtbot):
    from mmstudio.core.tables.categories import prepare
    from mmstudio.ui import colors
    from mmstudio.ui.map.colouring import MapColours

    table = big_table(N)
    prepare(table)                                             # what the job that brings the rows does
    registry = {}
    with Counting() as count:
        rgb, legend = MapColours().colours(table, "label", registry)
    assert count.calls < 200                                   # per label (13), not per row
    reference, reference_legend = colors.categorical([None if v is None else str(v) for v in table.label], {})
    np.testing.assert_array_equal(rgb, reference)
    assert legend == reference_legend[:len(legend)]


def test_a_large_selections_nearest_items_come_from_a_job_and_equal_a_full_sort(qtbot, monkeypatch):
    from mmstudio.analysis.alignment.neighbours import top_k
    from mmstudio.ui import workspace as workspace_module
    from mmstudio.ui.app import make_app
    from mmstudio.ui.workers import QtRunner

    make_app()
    rng = np.random.default_rng(4)
    scores = rng.integers(0, 50, 5000).astype(np.float32)       # many ties
    idx = np.sort(rng.choice(5000, 3000, replace=False))
    for k in (1, 5, 40, 3000, 4000):
        np.testing.assert_array_equal(top_k(scores, idx, k), idx[np.argsort(-scores[idx], kind="stable")[:k]])

    table = big_table(30_000, dim=16, seed=5)
    monkeypatch.setattr(workspace_module, "NEIGHBOURS_AT_ONCE", 1000)
    runner = QtRunner(threads=2)
    ws = workspace_module.Workspace(runner)
    ws.table = table
    rows = np.flatnonzero(table.modality == "image")[:50]
    with qtbot.waitSignal(ws.neighboursChanged, timeout=60_000):
        ws.select(rows)
        assert len(ws.selection_neighbours) == 0 and "neighbours" in runner.latest   # not on the GUI thread
    sims = table.vectors @ table.vectors[rows].mean(axis=0)
    expected = [i for m in ("audio", "text") for i in
                np.flatnonzero(table.modality == m)[np.argsort(-sims[table.modality == m], kind="stable")[:5]]]
    assert ws.selection_neighbours.tolist() == expected
    runner.cancel_all()
    runner.wait(30000)


@pytest.mark.parametrize("n", [N])
def test_a_large_table_in_the_window_is_coloured_filtered_and_selected_by_codes(make_window, qtbot, n):
    from mmstudio.ui import colors

    window = make_window(warm=False)
    ws, view, bar = window.workspace, window.view, window.filter_bar
    ws.projection["method"] = "pca"                           # its own fit: PCA, in a second
    table = big_table(n)
    ws._table_opened("big.parquet", table)                    # as File > Open does once the file is read
    qtbot.waitUntil(lambda: ws.layout_final and ws.table is not None and len(view.cloud.xy) == n
                    and not [j for j in window.runner.running if j.kind != "model"], timeout=120_000)
    label = np.array([None if v is None else str(v) for v in table.label], object)
    with Counting() as count:
        view.color_by.setCurrentText("label")
        bar._edit(labels=frozenset({"class 3", "—"}))
        qtbot.waitUntil(lambda: ws.row_filter.mask is not None, timeout=60_000)
        bar._fill_labels()
        window.app_rows = view.cloud.in_polygon(np.array([[-5, -5], [5, -5], [5, 0], [-5, 0]], float))
        ws.select(window.app_rows)
        qtbot.waitUntil(lambda: len(ws.selection_neighbours) > 0, timeout=60_000)
    assert count.calls < 2000                                 # per label and a few names shown, not per row
    shown = np.equal(label, "class 3") | np.equal(label, None)
    np.testing.assert_array_equal(view.cloud.visible, shown)
    reference, _ = colors.categorical(label, dict(ws.category_colours["label"]))
    np.testing.assert_array_equal(view.cloud.rgb, reference)
    counted = {bar.labels.list.item(i).data(256): bar.labels.list.item(i).text() for i in range(bar.labels.list.count())}
    assert counted["class 3"] == f"class 3  ({int(np.sum(label == 'class 3')):,})"
    assert counted["—"] == f"—  ({int(np.sum(np.equal(label, None))):,})"          # rows without a label
    selected = window.app_rows
    assert len(selected) and np.all(view.cloud.visible[selected]) and np.all(view.cloud.xy[selected, 1] <= 0)
    text = window.inspector.details.text()
    modality = {m: int(np.sum(table.modality[selected] == m)) for m in ("image", "audio", "text")}
    assert f"<b>{len(selected):,} items selected</b> ({len(np.unique(table.sample_id[selected].astype(str))):,} " \
           f"samples)" in text
    assert all(f"{m} {k:,}" in text for m, k in modality.items())


def test_the_library_lists_three_hundred_thousand_samples_without_an_object_per_sample(qtbot):
    import tracemalloc

    from mmstudio.core.dataset import Dataset, Sample
    from mmstudio.ui.inspector.library import EntryRole, LibraryModel

    dataset = Dataset([Sample(f"s{i}") for i in range(300_000)])
    model = LibraryModel()
    tracemalloc.start()
    model.reset(dataset.samples, [])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # a tuple per sample (~64 bytes), an id array and an id → row dict were ~45 MB; the arrays of rows ~5 MB
    assert peak < 12 * 2**20, f"{peak / 2**20:.1f} MiB"
    assert model.rowCount() == 300_000
    index = model.index(123_456)
    assert model.data(index) == "s123456" and model.data(index, EntryRole) == ("sample", dataset.samples[123_456])
    assert model.row_of["s299999"] == 299_999                # made when a selection is followed
