"""File > Compare With in the window: the open table (A) beside a second table or a second model's
embedding of the same items (B) — two maps linked by selection and hover, coloured by each item's
neighbourhood change, and the Compare panel with the numbers of `mmstudio compare`."""

import json
import shutil

import numpy as np
import pytest
from PySide6 import QtCore, QtTest
from selection_data import paired_table
from ui_helpers import DEMO, drag_on_map, settled

from mmstudio.__main__ import main
from mmstudio.analysis.alignment.compare import compare_tables
from mmstudio.analysis.alignment.compare_stats import neighbour_jaccard
from mmstudio.core.tables.filtering import FilterSpec
from mmstudio.core.tables.table import EmbeddingTable
from mmstudio.core.values import num
from mmstudio.ui import colors
from mmstudio.ui.compare.window import CHANGE, CHANGE_TITLE

N = 40
MOVED = 12   # the first MOVED samples' pictures point elsewhere in B
KEPT = 35    # B holds the first KEPT samples only, its rows shuffled


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """A: 40 samples with a picture and a caption; B: the first 35 of them, rows shuffled, the first 12 pictures'
    vectors random."""
    folder = tmp_path_factory.mktemp("compare")
    a = paired_table(n=N, modalities=("image", "text"))
    vectors = a.vectors.copy()
    moved = np.flatnonzero(a.modality == "image")[:MOVED]
    noise = np.random.default_rng(7).standard_normal((MOVED, a.dim))
    vectors[moved] = noise / np.linalg.norm(noise, axis=1, keepdims=True)
    b = EmbeddingTable(a.sample_id, a.modality, a.path, a.label, vectors, dict(a.columns), model="moved")
    kept = np.flatnonzero(np.isin(a.sample_id, [f"s{i:03d}" for i in range(KEPT)]))
    a.write(folder / "a.parquet")
    b.take(np.random.default_rng(3).permutation(kept)).write(folder / "b.parquet")
    a.take(np.flatnonzero(np.isin(a.sample_id, [f"s{i:03d}" for i in range(5)]))).write(folder / "few.parquet")
    return folder


@pytest.fixture
def window(make_window, tables, qtbot):
    window = make_window(warm=False)
    window.workspace.projection["method"] = "pca"
    window.open_paths([str(tables / "a.parquet")])
    qtbot.waitUntil(lambda: settled(window) and len(window.workspace.table) == 2 * N, timeout=120_000)
    return window


def open_compare(window, qtbot, path):
    compare = window.compare
    with qtbot.waitSignals([compare.laidOut, compare.changeReady], timeout=120_000):
        compare.open_table(str(path))
    qtbot.waitUntil(lambda: len(compare.second.cloud.rgb) == len(compare.current.rows_a)
                    and compare.view.color_by.currentText() == CHANGE, timeout=10_000)
    qtbot.wait(20)   # B's colours follow A's at the next turn of the event loop
    return compare


def pixel(map_, x, y):
    return map_.plot.mapFromScene(map_.viewbox.mapViewToScene(QtCore.QPointF(float(x), float(y))))


def expected_change(ws_table, b):
    """Per row of the window's table: 1 − Jaccard of its 10 nearest of its modality in A and in B (the file),
    among the items both hold; NaN for those B lacks."""
    out = np.full(len(ws_table), np.nan)
    in_b = {key: i for i, key in enumerate(zip(b.sample_id.tolist(), b.modality.tolist()))}
    for modality in ("image", "text"):
        rows = [r for r in ws_table.rows(modality) if (ws_table.sample_id[r], modality) in in_b]
        partners = [in_b[(ws_table.sample_id[r], modality)] for r in rows]
        jaccard, _ = neighbour_jaccard(ws_table.vectors[rows], b.vectors[partners])
        out[rows] = 1 - jaccard
    return out


def test_two_linked_maps_coloured_by_neighbourhood_change(window, tables, qtbot, make_window):
    ws, view = window.workspace, window.view
    window.show()
    compare = open_compare(window, qtbot, tables / "b.parquet")
    second, c = compare.second, compare.current
    in_b = np.isin(ws.table.sample_id, [f"s{i:03d}" for i in range(KEPT)])
    assert compare.splitter.count() == 2 and len(second.cloud.xy) == 2 * KEPT and c.rows_a.tolist() == np.flatnonzero(in_b).tolist()
    assert f"{KEPT} samples ({2 * KEPT} rows) of {N} in A are in B" in window.log.toPlainText()

    # the colouring: 1 − Jaccard of each item's neighbours, in A's map and on its partner in B's
    expected = expected_change(ws.table, EmbeddingTable.read(tables / "b.parquet"))
    np.testing.assert_allclose(compare.change_values(len(ws.table)), expected)
    assert np.isnan(expected).tolist() == (~in_b).tolist()
    lut = colors.colormap_lut("viridis")
    np.testing.assert_array_equal(view.cloud.rgb[in_b], lut[np.rint(expected[in_b] * 255).astype(int)])
    assert {tuple(rgb) for rgb in view.cloud.rgb[~in_b].tolist()} == {colors.MISSING}   # B lacks them: grey
    np.testing.assert_array_equal(second.cloud.rgb, view.cloud.rgb[c.rows_a])
    for bar, blank in ((view.colour_bar, 2 * (N - KEPT)), (second.colour_bar, 0)):
        assert bar.isVisible() and (bar.scale.key, bar.scale.lo, bar.scale.hi, bar.scale.missing) == (CHANGE_TITLE, 0, 1, blank)
    for map_ in (view, second):   # and no point hides under it, also once the map is panned and "A" pressed
        for press_a in (False, True):
            if press_a:
                map_.viewbox.translateBy(x=-0.4 * map_.viewbox.viewRange()[0][1], y=0.3)
                map_.plot.getPlotItem().autoBtn.clicked.emit(None)
            bar = map_.colour_bar.sceneBoundingRect()
            assert not any(bar.contains(map_.viewbox.mapViewToScene(QtCore.QPointF(*p))) for p in map_.cloud.xy.tolist())
            inside = map_.viewbox.viewRect()
            assert all(inside.contains(QtCore.QPointF(*p)) for p in map_.cloud.xy.tolist())
    moved = np.isin(ws.table.sample_id, [f"s{i:03d}" for i in range(MOVED)]) & (ws.table.modality == "image")
    pictures = (ws.table.modality == "image") & in_b
    assert expected[moved].mean() > expected[pictures & ~moved].mean() + 0.2   # the moved pictures stand out
    assert np.all(expected[(ws.table.modality == "text") & in_b] == 0)         # the captions did not move

    # A → B: a selection in A is emphasised on the same items in B
    circles = np.flatnonzero(ws.table.label == "circle")   # some of them not in B
    ws.select(circles)
    qtbot.wait(20)
    assert np.flatnonzero(second.cloud.emphasis == 2).tolist() == np.flatnonzero(np.isin(c.rows_a, circles)).tolist()

    # B → A: a box dragged over B's map selects those items in A
    view.mode.setCurrentText("Box select")
    assert second.viewbox.mode == "box"
    xy = second.cloud.xy
    lo, hi = np.percentile(xy, 20, axis=0), np.percentile(xy, 70, axis=0)
    boxes = []
    second.viewbox.selected.connect(lambda polygon, add: boxes.append(polygon))
    drag_on_map(second, qtbot, [(lo[0], lo[1]), (hi[0], hi[1])])
    (x0, y0), (x1, y1) = boxes[0].min(axis=0), boxes[0].max(axis=0)   # the box drawn, as the mouse's pixels gave it
    assert np.allclose([x0, y0, x1, y1], [lo[0], lo[1], hi[0], hi[1]], atol=0.05 * np.ptp(xy))
    inside = np.flatnonzero((xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1))
    assert len(inside) > 3
    assert ws.selection.tolist() == sorted(c.rows_a[inside].tolist())
    assert np.flatnonzero(view.cloud.emphasis == 2).tolist() == sorted(c.rows_a[inside].tolist())

    # hover: the item under the mouse in one map is ringed in the other
    j = int(np.argmin(np.linalg.norm(xy - np.median(xy, axis=0), axis=1)))
    QtTest.QTest.mouseMove(second.plot.viewport(), pixel(second, *xy[j]))
    qtbot.waitUntil(lambda: len(compare.a_ring.data) == 1, timeout=5_000)
    row = int(c.rows_a[j])
    assert (compare.a_ring.data["x"][0], compare.a_ring.data["y"][0]) == pytest.approx(tuple(view.cloud.xy[row]))
    corner = second.viewbox.sceneBoundingRect().bottomLeft() + QtCore.QPointF(3, -3)   # no point there
    qtbot.wait(25)   # pyqtgraph drops a mouse move that comes within 10 ms of the last one
    QtTest.QTest.mouseMove(second.plot.viewport(), second.plot.mapFromScene(corner))
    qtbot.waitUntil(lambda: len(compare.a_ring.data) == 0, timeout=5_000)
    shifted = c.rows_a[c.rows_a != np.arange(len(c.rows_a))]   # A's rows whose place in B's map is another number
    other = int(shifted[np.argmin(np.linalg.norm(view.cloud.xy[shifted] - np.median(view.cloud.xy, axis=0), axis=1))])
    qtbot.wait(50)
    QtTest.QTest.mouseMove(view.plot.viewport(), pixel(view, *view.cloud.xy[other]))
    qtbot.waitUntil(lambda: len(second.partner.data) == 1, timeout=5_000)
    position = compare.partner_of(other)
    assert (second.partner.data["x"][0], second.partner.data["y"][0]) == pytest.approx(tuple(xy[position]))

    # a project remembers the comparison: it opens again once the project's map is there
    project = tables / "study.mmstudio"
    assert window.projects.save_to(project)
    other = make_window(warm=False)
    other.open_paths([str(project)])
    qtbot.waitUntil(lambda: other.compare.current is not None and bool(other.compare.how), timeout=120_000)
    assert other.compare.current.path == str(tables / "b.parquet") and other.compare.splitter.count() == 2

    # closing gives the single map back
    second.close_button.click()
    assert compare.current is None and compare.splitter is None and view.plot.parent() is view and view.plot.isVisible()
    assert view.layout().indexOf(view.plot) >= 0
    assert view.color_by.currentText() == "modality" and view.color_by.findText(CHANGE) < 0
    assert not view.colour_bar.isVisible()
    assert window.log.toPlainText().splitlines()[-1] == "closed the comparison"


def test_too_few_matches_is_one_line_then_the_compare_panel_shows_mmstudio_compare_s_numbers(window, tables, qtbot,
                                                                                              capsys):
    from geometry import problems

    ws, view = window.workspace, window.view
    window.show()
    # too few samples in both tables: one line in the Log, and nothing else changes
    ws.select([1, 2, 3])
    view.color_by.setCurrentText("label")
    for name, expected in (("few.parquet", f"compare: the table {tables / 'few.parquet'}: 5 samples match by sample "
                            "id and modality (A has 40, B has 5); comparing needs at least 10"),
                           ("missing.parquet", f"compare: cannot compare with {tables / 'missing.parquet'}: ")):
        before = window.log.toPlainText()
        window.compare.open_table(str(tables / name))
        qtbot.waitUntil(lambda: window.log.toPlainText() != before and not window.runner.running, timeout=60_000)
        line, = window.log.toPlainText()[len(before):].strip().splitlines()
        assert line.startswith(expected) and "Traceback" not in line
        assert window.strip.last_line.full_text() == line
        assert window.compare.current is None and window.compare.splitter is None and view.plot.parent() is view
        assert ws.selection.tolist() == [1, 2, 3] and view.color_by.currentText() == "label"

    compare = open_compare(window, qtbot, tables / "b.parquet")
    panel = window.panels["Compare"]
    with qtbot.waitSignal(panel.reportReady, timeout=120_000):
        window.strip.open("Compare")
    capsys.readouterr()
    assert main(["compare", str(tables / "a.parquet"), str(tables / "b.parquet"), "--json"]) == 0
    assert panel.report == json.loads(capsys.readouterr().out)
    assert "all rows of A" in panel.status.full_text()

    image = next(m for m in panel.report["modalities"] if m["modality"] == "image")
    headers = [panel.spaces.horizontalHeaderItem(j).text() for j in range(panel.spaces.columnCount())]
    column = headers.index(f"image ({KEPT})")
    names = [panel.spaces.item(i, 0).text() for i in range(panel.spaces.rowCount())]
    assert panel.spaces.item(names.index("linear CKA A vs B"), column).text() == num(image["cka"]["value"])
    assert panel.spaces.item(names.index("neighbours kept (mean Jaccard)"), column).text() == \
        num(image["neighbours"]["mean_jaccard"])
    forward = panel.report["pairs"][0]["retrieval"][0]
    lines = {panel.retrieval.item(i, 0).text(): i for i in range(panel.retrieval.rowCount())}
    i = lines[f"{forward['query']} → {forward['gallery']} R@1"]
    assert [panel.retrieval.item(i, j).text() for j in (1, 2)] == [num(forward["A"]["R@1"]), num(forward["B"]["R@1"])]
    d = forward["difference"]["R@1"]
    assert panel.retrieval.item(i, 3).text() == f"{d['value']:+.3f} [{d['low']:.3f}, {d['high']:.3f}]"

    # the most changed items: a click selects one in both maps
    first = panel.changed_list.item(0)
    worst = image["neighbours"]["most_changed"][0]
    assert first.text() == f"image {worst['sample_id']} · Jaccard {worst['jaccard']:.2f}"
    panel.changed_list.itemClicked.emit(first)
    row = int(np.flatnonzero((ws.table.sample_id == worst["sample_id"]) & (ws.table.modality == "image"))[0])
    assert ws.selection.tolist() == [row]
    qtbot.wait(20)
    assert np.flatnonzero(compare.second.cloud.emphasis == 2).tolist() == [compare.partner_of(row)]

    # with a filter on, A's matching rows are compared, and the panel says so
    with qtbot.waitSignal(panel.reportReady, timeout=120_000):
        ws.row_filter.set_spec(FilterSpec(labels=frozenset({"circle", "square"})))
    rows = np.flatnonzero(np.isin(ws.table.label, ["circle", "square"]))
    assert f"filtered: {len(rows)} of {2 * N} rows of A" in panel.status.full_text()
    assert panel.report == compare_tables(ws.table.take(rows), EmbeddingTable.read(tables / "b.parquet"))
    qtbot.wait(20)   # B hides the items the filter hides in A
    shown = compare.second.cloud.visible
    assert shown.tolist() == np.isin(compare.current.rows_a, rows).tolist() and 0 < shown.sum() < len(shown)

    # at 1024×700 and 1920×1080 the two maps and both of the panel's tabs show nothing clipped (but for the filter bar's
    # caption box, 2 px short at this width on a table opened from disk, comparison or not, as on main)
    for size in ((1024, 700), (1920, 1080)):
        window.resize(*size)
        window._default_sizes()
        qtbot.wait(100)
        for i in range(panel.tabs.count()):
            panel.tabs.setCurrentIndex(i)
            qtbot.wait(50)
            found = [line for line in problems(window) if "toolbar-filter" not in line]
            assert not found, f"{size}:\n" + "\n".join(found)
        assert min(compare.second.plot.width(), window.view.plot.width()) >= 150


def test_a_second_model_runs_on_the_open_items_with_progress_and_is_cached(make_window, qtbot, tmp_path, monkeypatch):
    import tiny_models

    from mmstudio.encoders import embed

    clip = tiny_models.build_tiny_clip(tmp_path / "tiny-clip")
    calls = []
    original = embed._encode
    monkeypatch.setattr(embed, "_encode", lambda encoder, modality, *rest: (calls.append((encoder.name, modality)),
                                                                              original(encoder, modality, *rest))[1])
    world = tmp_path / "world"   # 12 of the demo's scenes: a picture, a sound and a caption each
    world.mkdir()
    lines = (DEMO / "manifest.csv").read_text(encoding="utf-8").splitlines()
    (world / "manifest.csv").write_text("\n".join(lines[:13]) + "\n", encoding="utf-8")
    for line in lines[1:13]:
        for name in line.split(",")[1:4]:
            shutil.copy(DEMO / name, world / name)
    window = make_window(warm=False)
    ws = window.workspace
    ws.projection["method"] = "pca"
    window.open_paths([str(world / "manifest.csv")])
    qtbot.waitUntil(lambda: settled(window) and len(ws.table) == 36, timeout=300_000)
    compare = window.compare
    progress = []

    def watch(job):
        if job.kind == "compare-open":
            job.signals.progressed.connect(lambda done, total: progress.append((done, total)))
            job.signals.progressed.connect(lambda *_: progress.append(window.progress.format()))

    window.runner.started.connect(watch)
    calls.clear()
    with qtbot.waitSignal(compare.laidOut, timeout=300_000):
        compare.open_model(str(clip))
    c = compare.current
    assert c.model == str(clip) and c.table_b.dim == 16 and c.counts["samples"] == 12
    assert sorted(set(c.matched_a.modality.tolist())) == ["image", "text"] and len(c.rows_a) == 24
    numbers = [p for p in progress if isinstance(p, tuple)]
    assert numbers and numbers[-1] == (24, 24) and {t for _, t in numbers} == {24}   # CLIP embeds the pictures and captions
    assert any(isinstance(p, str) and p.startswith("compare: embed 12 samples with") for p in progress)
    assert {m for _, m in calls} == {"image", "text"}   # the model ran

    compare.close()
    calls.clear()
    progress.clear()
    with qtbot.waitSignal(compare.laidOut, timeout=120_000):
        compare.open_model(str(clip))
    assert calls == []                                # the second time, every vector came from the cache
    np.testing.assert_array_equal(compare.current.table_b.vectors, c.table_b.vectors)
    assert [p for p in progress if isinstance(p, tuple)][-1] == (24, 24)
