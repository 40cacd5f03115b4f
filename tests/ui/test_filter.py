"""One filter for the whole window: the filter bar's criteria decide which points the map draws and lets
the mouse pick, which samples the library lists and which rows the panels compute on; numeric colours."""

import csv
import shutil

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore
from ui_helpers import DEMO, settled

from mmstudio.analysis.attention.contrast import tick_label
from mmstudio.ui import colors

BROKEN = "scene_00005"          # its picture is not a picture: the sample has a problem
UNMEASURED = ("scene_00003", "scene_00017")   # no brightness


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The demo world with one broken image and a numeric column measured from the pictures (mean grey
    level, blank for two scenes)."""
    folder = tmp_path_factory.mktemp("filter-world")
    for path in DEMO.iterdir():
        shutil.copy(path, folder / path.name)
    rows = list(csv.DictReader(open(DEMO / "manifest.csv", encoding="utf-8")))
    for row in rows:
        grey = np.asarray(Image.open(DEMO / row["image"]).convert("L"), np.float64).mean()
        row["brightness"] = "" if row["id"] in UNMEASURED else f"{grey:.3f}"
    with open(folder / "manifest.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (folder / f"{BROKEN}.png").write_bytes(b"this is not a picture")
    return folder


@pytest.fixture
def window(make_window, world, qtbot):
    window = make_window()
    window.workspace.projection["method"] = "pca"   # spares the CPU; the filter does not care
    window.open_paths([str(world / "manifest.csv")])
    qtbot.waitUntil(lambda: settled(window) and len(window.workspace.table) == 71, timeout=300_000)
    return window


def apply(window, qtbot, change):
    """Change the filter through the bar (``change(bar)``) and wait for the mask it leads to."""
    rf = window.workspace.row_filter
    change(window.filter_bar)
    qtbot.waitUntil(lambda: not rf.spec.active or (rf.index is not None and rf.index.table is window.workspace.table
                                                   and rf.mask is not None), timeout=60_000)


def tick_only(choices, menu, values):
    menu.aboutToShow.emit()            # what opening the menu does: the table's values, with counts
    choices._tick_all(False)
    for value in values:
        choices.item(value).setCheckState(QtCore.Qt.CheckState.Checked)


def listed_samples(window):
    model = window.library.model
    return [entry.id for kind, entry in (model.entry(r) for r in range(model.rowCount())) if kind == "sample"]


def captions(world):
    return {row["id"]: open(world / row["text"], encoding="utf-8").read()
            for row in csv.DictReader(open(world / "manifest.csv", encoding="utf-8"))}


def test_a_label_filter_drives_the_map_the_library_and_the_alignment_panel_and_clear_restores_all(window, qtbot):
    ws, view = window.workspace, window.view
    table = ws.table
    window.show()
    panel = window.panels["Alignment"]
    apply(window, qtbot, lambda bar: tick_only(bar.labels, bar.label_menu, ["star", "ring"]))
    with qtbot.waitSignal(panel.reportReady, timeout=120_000):
        window.strip.open("Alignment")               # the panel computes when its tab comes forward
    wanted = np.isin(table.label.astype(str), ["star", "ring"])
    assert 0 < wanted.sum() < len(table)
    np.testing.assert_array_equal(view.cloud.visible, wanted)          # the map draws those points only
    assert view.status.text().startswith(f"{wanted.sum()} of 71 points shown (filtered) · ")
    view._select_polygon(np.array([[-1e3, -1e3], [1e3, -1e3], [1e3, 1e3], [-1e3, 1e3]]), False)
    np.testing.assert_array_equal(ws.selection, np.flatnonzero(wanted))    # a lasso round everything picks them only
    hidden = int(np.flatnonzero(~wanted)[0])
    assert view.cloud.nearest(*view.cloud.xy[hidden], radius=1e-9) is None   # nor can the mouse pick a hidden one
    ids = sorted(set(table.sample_id[wanted].tolist()))
    assert listed_samples(window) == ids                                 # the library lists their samples
    assert window.library.counts.text() == f"filtered: {len(ids)} of 24 samples · 1 skipped"
    assert panel.report["rows"] == wanted.sum()                          # the panel computes on them
    assert f"filtered: {wanted.sum()} of 71 rows" in panel.status.text()
    having = {m: set(table.sample_id[wanted & (table.modality == m)].tolist()) for m in ("image", "audio", "text")}
    got = {(r["query"], r["gallery"]): r["n"] for p in panel.pairs.values() for r in p.report["retrieval"]}
    assert got and all(n == len(having[a] & having[b]) for (a, b), n in got.items())   # the filtered pairs
    for data in panel.pairs.values():                                   # its rows are the window's rows
        assert wanted[data.rows_a].all() and wanted[data.rows_b].all()
        assert (table.sample_id[data.rows_a] == table.sample_id[data.rows_b]).all()
    assert window.filter_bar.count.text() == f"{wanted.sum()} of 71 rows"

    with qtbot.waitSignal(panel.reportReady, timeout=120_000):
        window.filter_bar.clear_button.click()
        assert panel.status.text() == "computing the alignment of 71 items…"   # all of them again
    assert view.cloud.visible.all() and not ws.row_filter.active
    assert len(listed_samples(window)) == 24 and window.library.counts.text() == "24 samples · 1 skipped"
    assert panel.report["rows"] == 71 and "filtered" not in panel.status.text()
    assert window.filter_bar.label_button.text() == "Label" and window.filter_bar.count.text() == ""


def test_a_numeric_range_and_a_caption_word_filter_rows_as_their_values_say(window, world, qtbot):
    ws, view = window.workspace, window.view
    table = ws.table
    brightness = table.columns["brightness"]
    cut = float(np.nanmedian(brightness))

    def narrow(bar):
        bar.range_menu.aboutToShow.emit()
        low, high, lo, hi, _ = bar.ranges.rows["brightness"]
        assert (lo, hi) == (np.nanmin(brightness), np.nanmax(brightness))   # the column's own range is offered
        low.setValue(cut)

    apply(window, qtbot, narrow)
    np.testing.assert_array_equal(view.cloud.visible, brightness >= cut - 1e-3)   # blanks fail a range
    assert not view.cloud.visible[np.isin(table.sample_id, UNMEASURED)].any()
    assert window.filter_bar.range_button.text() == "Numbers (1)"
    apply(window, qtbot, lambda bar: bar.clear())
    assert view.cloud.visible.all()

    said = captions(world)
    red = {sid for sid, text in said.items() if "red" in text.lower()}
    assert 0 < len(red) < 24
    apply(window, qtbot, lambda bar: bar.set_contains("ReD"))
    np.testing.assert_array_equal(view.cloud.visible, np.isin(table.sample_id, sorted(red)))   # whole samples
    assert listed_samples(window) == sorted(red - {BROKEN}) + sorted(red & {BROKEN})
    apply(window, qtbot, lambda bar: bar.whole.setChecked(False))
    np.testing.assert_array_equal(view.cloud.visible, np.isin(table.sample_id, sorted(red)) & (table.modality == "text"))


def test_the_problem_filter_shows_the_samples_whose_items_failed_and_the_library_lists_the_failure(window, qtbot):
    ws, view = window.workspace, window.view
    table = ws.table
    assert BROKEN in {e.sample_id for e in ws.problems()}
    apply(window, qtbot, lambda bar: bar.problem_actions["only"].trigger())
    np.testing.assert_array_equal(view.cloud.visible, table.sample_id == BROKEN)
    assert sorted(table.modality[view.cloud.visible].tolist()) == ["audio", "text"]   # its picture is not a row
    model = window.library.model
    shown = [model.entry(r) for r in range(model.rowCount())]
    assert [kind for kind, _ in shown] == ["sample", "error"] and shown[0][1].id == BROKEN
    assert "not an image" in shown[1][1].reason or shown[1][1].path.endswith(f"{BROKEN}.png")
    apply(window, qtbot, lambda bar: bar.problem_actions["none"].trigger())
    np.testing.assert_array_equal(view.cloud.visible, table.sample_id != BROKEN)
    assert window.filter_bar.problem_button.text() == "No problems"


def test_a_numeric_column_colours_along_viridis_with_a_colour_bar_of_its_range(window, qtbot):
    import pyqtgraph as pg

    view, table = window.view, window.workspace.table
    view.color_by.setCurrentText("brightness")
    values = table.columns["brightness"]
    lo, hi = np.nanmin(values), np.nanmax(values)
    finite = np.isfinite(values)
    reference = pg.colormap.get("viridis").map((values[finite] - lo) / (hi - lo), mode="byte")[:, :3]
    assert np.abs(view.cloud.rgb[finite].astype(int) - reference.astype(int)).max() <= 2   # 256 steps of it
    assert (view.cloud.rgb[~finite] == colors.MISSING).all() and (~finite).sum() == 6
    bar = view.colour_bar
    assert bar.isVisible() and (bar.scale.lo, bar.scale.hi) == (lo, hi)
    assert bar.labels[0] == (lo, f"{lo:.4g}") and bar.labels[-1] == (hi, f"{hi:.4g}")
    assert all(lo < v < hi and text == tick_label(v) for v, text in bar.labels[1:-1])
    assert bar.missing_text == "no value (6)"
    qtbot.waitUntil(lambda: not view._legend_items)   # the legend is redrawn on the next turn of the event loop
    # matplotlib's viridis at 0, ½ and 1 (#440154, #21918c, #fde725)
    ends = colors.continuous(np.array([0.0, 0.5, 1.0]))[0].astype(int)
    assert np.abs(ends - [[68, 1, 84], [33, 145, 140], [253, 231, 37]]).max() <= 1

    view.color_by.setCurrentText("objects")          # two values: categories with the keyed colours
    qtbot.waitUntil(lambda: [item.text for _, item in view.legend.items] == ["2", "1"])   # the next turn
    assert not bar.isVisible()
    registry = window.workspace.category_colours["objects"]
    assert tuple(view.cloud.rgb[0]) == colors.hex_to_rgb(registry["2"])


def test_a_named_subset_filters_the_map_and_the_library_and_follows_its_members(window, qtbot):
    """A subset saved from a selection (the Selection panel's subsets) is a filter criterion: the map draws
    its members only and the library lists their samples; removing the subset drops the criterion."""
    ws, view = window.workspace, window.view
    table = ws.table
    members = [(table.sample_id[r], table.modality[r]) for r in np.flatnonzero(table.modality == "image")[:5]]
    ws.subsets.add("five pictures", members, "#1f77b4")
    bar = window.filter_bar
    bar.subset_menu.aboutToShow.emit()
    names = [a.text() for a in bar.subset_menu.actions()]
    assert "five pictures" in names
    apply(window, qtbot, lambda bar: next(a for a in bar.subset_menu.actions() if a.text() == "five pictures").trigger())
    wanted = np.zeros(len(table), bool)
    wanted[ws.subset_rows("five pictures")] = True
    assert wanted.sum() == 5
    np.testing.assert_array_equal(view.cloud.visible, wanted)
    assert sorted(listed_samples(window)) == sorted(s for s, _ in members)
    ws.subsets.remove("five pictures")
    qtbot.waitUntil(lambda: ws.row_filter.spec.subset is None and view.cloud.visible.all(), timeout=30_000)
