"""The pieces of a window that fits: the size rules, the panel strip and the Log's line, the title's
unsaved marker, colours that stay apart and readable, legends and titles that keep off the data,
labels that share a line or a matrix axis without overlapping."""

import numpy as np
import pyqtgraph as pg
import pytest
from geometry import contrast, problems
from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.ui import colors
from mmstudio.ui.window_layout import INSPECTOR_BOUNDS, LIBRARY_BOUNDS, MAP_KEEPS, panel_height, side_widths


# ---------------------------------------------------------------------------- the rules
def test_the_side_docks_take_a_share_of_the_width_within_bounds_and_a_panel_leaves_the_map_room():
    assert side_widths(1400) == (280, 336)                                  # 20 % and 24 %
    assert side_widths(800) == (LIBRARY_BOUNDS[0], INSPECTOR_BOUNDS[0])    # never narrower than readable
    assert side_widths(4000) == (LIBRARY_BOUNDS[1], INSPECTOR_BOUNDS[1])   # nor wider than useful
    assert panel_height(800) == 400                                         # half the room it shares with the map
    assert panel_height(300) == 300 - MAP_KEEPS                             # the map keeps its least height
    assert panel_height(300, minimum=250) == 250                            # a panel's own minimum comes first


# ---------------------------------------------------------------------------- the strip
@pytest.fixture
def window(make_window, qtbot):
    window = make_window(warm=False)   # no UMAP compiling in the background: nothing here draws a UMAP
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.workspace.encoder is not None and not window.runner.running, timeout=300_000)
    return window


def shown(window):
    return [t for t, d in window.strip.docks.items() if not d.isHidden()]


def test_a_panel_is_raised_alone_from_the_strip_and_closed_by_its_tab_again(window, qtbot):
    strip = window.strip
    assert shown(window) == [] and strip.current() is None                 # the map has the height
    map_height = window.view.height()
    strip.buttons["Fusion lab"].click()
    qtbot.waitUntil(lambda: window.view.height() < map_height - 200)
    assert shown(window) == ["Fusion lab"] and strip.buttons["Fusion lab"].isChecked()
    window.docks["Alignment"].show()                                      # raised another way (View menu, a test)
    window.docks["Alignment"].raise_()
    qtbot.waitUntil(lambda: shown(window) == ["Alignment"])
    assert strip.buttons["Alignment"].isChecked() and not strip.buttons["Fusion lab"].isChecked()
    strip.buttons["Alignment"].click()                                    # its tab again: closed
    qtbot.waitUntil(lambda: window.view.height() >= map_height - 2)
    assert shown(window) == [] and not any(b.isChecked() for b in strip.buttons.values())


def test_the_log_is_one_line_in_the_strip_errors_in_red_and_a_click_opens_it_whole(window, qtbot):
    strip = window.strip
    window.log_line("opened 3 samples")
    window.log_line("  a detail of the line above")
    assert strip.last_line.full_text() == "opened 3 samples" and "color" not in strip.last_line.styleSheet()
    window._job_failed("cannot read x.png: not a picture\nTraceback …")
    assert strip.last_line.full_text() == "error: cannot read x.png: not a picture"     # the details line stays in the Log
    assert colors.hex_to_rgb(strip.last_line.styleSheet().split(":")[1].strip()) == (198, 40, 40)
    assert "Traceback" not in window.log.toPlainText()
    qtbot.mouseClick(strip.last_line, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(window) == ["Log"])
    assert "error: cannot read x.png: not a picture" in window.log.toPlainText().splitlines()
    long = "w" * 2000
    window.log_line(long)                                                  # a long line never widens the window
    qtbot.wait(20)
    assert window.width() == 1024 and strip.last_line.toolTip() == long and strip.last_line.text().endswith("…")


def test_a_growing_status_line_leaves_the_docks_and_the_window_as_wide_as_they_were(window, qtbot):
    qtbot.wait(50)
    widths = (window.width(), window.docks["Library"].width(), window.docks["Inspector"].width())
    for text in ("showing the aligner (step 300): 240 held-out items moved towards their partners " * 4,
                 "fusion lab (label): MLP and cross-attention heads, training " * 4):
        window.view.status.setText(text)     # as the aligner's frames and a job's status do while training
        window.job_label.setText(text)
        qtbot.wait(50)
        assert (window.width(), window.docks["Library"].width(), window.docks["Inspector"].width()) == widths


# ---------------------------------------------------------------------------- the title
def test_the_title_names_the_project_and_marks_unsaved_changes(make_window, qtbot, tmp_path):
    from ui_helpers import DEMO, settled

    window = make_window([DEMO], warm=False)
    qtbot.waitUntil(lambda: settled(window), timeout=300_000)
    qtbot.wait(50)
    assert window.windowTitle().startswith("untitled[*] — mmstudio") and window.isWindowModified()  # opened, unsaved
    path = tmp_path / "study.mmstudio"
    assert window.projects.save_to(path)
    assert window.windowTitle().startswith("study[*]") and not window.isWindowModified()
    window.view.links.setChecked(True)
    qtbot.waitUntil(window.isWindowModified, timeout=5_000)                  # a change to what a project keeps
    window.view.links.setChecked(False)
    qtbot.waitUntil(lambda: not window.isWindowModified(), timeout=5_000)    # back as saved
    window.workspace.select([0])
    qtbot.waitUntil(window.isWindowModified, timeout=5_000)


def test_the_export_dialog_counts_one_item_in_the_singular():
    from mmstudio.ui.app import make_app
    from mmstudio.ui.export import TableExportDialog

    make_app()
    assert TableExportDialog(1).selection_only.text() == "only the selection (1 item)"
    assert TableExportDialog(2048).selection_only.text() == "only the selection (2,048 items)"


# ---------------------------------------------------------------------------- colours
def lab(rgb):
    """CIE L*a*b* (D65) of an sRGB colour, the reference formulas."""
    c = np.asarray(rgb, float) / 255
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = c @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_the_neighbour_outline_is_far_from_every_category_and_modality_colour():
    others = [*colors.PALETTE, *colors.MODALITY_COLORS.values(), colors.MISSING]
    nearest = min(np.linalg.norm(lab(colors.NEIGHBOUR_OUTLINE) - lab(c)) for c in others)
    assert nearest > 40      # CIE ΔE76; the old orange outline was 8 from the palette's orange


def test_text_on_a_bar_is_readable_on_every_palette_and_method_colour():
    from mmstudio.ui.fusion.plots import method_color

    backgrounds = [*map(tuple, colors.PALETTE), *colors.MODALITY_COLORS.values(), (255, 255, 255), (250, 250, 150)]
    for rgb in backgrounds:
        assert contrast(colors.text_on(rgb), rgb) >= 4.5, rgb                   # WCAG AA for text
    for name in ("late-prob", "poe", "image-only", "audio-only", "gated"):
        rgba = method_color(name)
        drawn = tuple(c * rgba[3] / 255 + 255 * (1 - rgba[3] / 255) for c in rgba[:3])   # over the white plot
        assert contrast(colors.text_on(rgba), drawn) >= 4.5, name


def test_a_caption_column_is_not_coloured_as_hundreds_of_categories():
    from mmstudio.core.tables.table import EmbeddingTable
    from mmstudio.ui.map.colouring import MAX_CATEGORIES, NEUTRAL, MapColours

    n = 300
    table = EmbeddingTable(np.arange(n).astype(str).astype(object), np.array(["text"] * n, object),
                           np.array([""] * n, object), np.array(["a", "b", "c"] * 100, object), np.zeros((n, 2), np.float32),
                           {"caption": np.array([f"a caption number {i}" for i in range(n)], object),
                            "shape": np.array(["star", "ring"] * 150, object)})
    registry = {}
    rgb, legend = MapColours().colours(table, "caption", registry)
    assert (rgb == NEUTRAL).all() and len(legend) == 1
    assert legend[0][0] == f"caption: 300 values, too many to colour (at most {MAX_CATEGORIES})"
    assert "caption" not in registry                                   # nor written into the project
    rgb, legend = MapColours().colours(table, "shape", registry)      # a real category still is
    assert [name for name, _ in legend] == ["ring", "star"] and len({tuple(c) for c in rgb}) == 2


# ---------------------------------------------------------------------------- legends, titles, ticks
@pytest.fixture
def plot(qtbot):
    from mmstudio.ui.app import make_app
    from mmstudio.ui.widgets.plots import make_plot

    make_app()
    plot = make_plot("a title long enough to be wider than this narrow plot is", "y", "x")
    qtbot.addWidget(plot)
    plot.resize(260, 200)
    plot.show()
    qtbot.waitExposed(plot)
    return plot


def test_a_legend_has_a_background_and_takes_a_corner_without_data_or_goes_above(plot, qtbot):
    from mmstudio.ui.widgets.legend import add_legend

    legend = add_legend(plot)
    x = np.linspace(0, 1, 50)
    plot.plot(x, x, pen="r", name="rising")           # fills the bottom left and the top right
    qtbot.wait(50)
    assert problems(plot) == []
    vb = plot.getPlotItem().vb.sceneBoundingRect()
    box = legend.sceneBoundingRect()
    assert box.center().x() < vb.center().x() and box.center().y() < vb.center().y()   # top left: free
    plot.plot(x, 1 - x, pen="b", name="falling")      # now every corner holds a curve
    qtbot.wait(50)
    assert problems(plot) == []
    assert legend.sceneBoundingRect().bottom() <= plot.getPlotItem().vb.sceneBoundingRect().top() + 1  # above the data


def test_a_legend_above_the_data_stays_put_until_its_entries_change(plot, qtbot, monkeypatch):
    """Placing a legend changes its geometry (its columns, in or out of the band above the data); that
    alone must not place it again: it did on every turn of the event loop, a core kept busy by an idle
    window (the fusion panel's tests took twice the CPU)."""
    from mmstudio.ui.widgets import legend as legend_module

    legend = legend_module.add_legend(plot)
    x = np.linspace(0, 1, 50)
    plot.plot(x, 1 - x, pen="b", name="falling")
    plot.plot(x, x, pen="r", name="rising")           # every corner holds a curve: above the data
    qtbot.wait(100)
    placed = []
    place = legend_module.place
    monkeypatch.setattr(legend_module, "place", lambda *args: (placed.append(args), place(*args)))
    qtbot.wait(300)
    assert placed == []
    assert legend.sceneBoundingRect().bottom() <= plot.getPlotItem().vb.sceneBoundingRect().top() + 1
    plot.plot(x, 0.5 + 0 * x, pen="g", name="flat")   # a new entry: placed again
    qtbot.waitUntil(lambda: len(placed) > 0)


def test_a_long_title_ends_in_an_ellipsis_inside_a_narrow_plot(plot, qtbot):
    qtbot.wait(20)
    label = plot.getPlotItem().titleLabel
    assert label.text.endswith("…") and label.toolTip().startswith("a title long enough")
    assert problems(plot) == []
    plot.resize(900, 200)
    qtbot.waitUntil(lambda: not label.text.endswith("…"))
    assert label.toolTip() == ""


def test_sorted_matrix_labels_keep_within_their_blocks_and_never_overlap():
    from mmstudio.ui.alignment.similarity_matrix import TICK_GAP, fit_ticks

    groups = [(0, 40, "circle"), (40, 44, "cross"), (44, 90, "ring"), (90, 112, "square"), (112, 113, "star"),
              (113, 150, "triangle")]
    width = lambda text: 7 * len(text)    # noqa: E731 (a 7-px-per-letter font)
    ticks = fit_ticks(groups, 1.6, width, 10_000)
    assert [t for _, t in ticks] == ["circle", "ring", "squ.", "triang."]   # shortened; too short a block: none
    for (x, text), (start, end, _) in zip(ticks, [groups[i] for i in (0, 2, 3, 5)]):
        assert x == (start + end) / 2 and width(text) <= (end - start) * 1.6 - TICK_GAP
    spans = sorted((x * 1.6 - width(t) / 2, x * 1.6 + width(t) / 2) for x, t in ticks)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_library_rows_put_the_id_and_the_label_side_by_side_and_elide_them_when_narrow():
    from mmstudio.ui.app import make_app
    from mmstudio.ui.inspector.library import LABEL_SHARE, title_line

    make_app()
    font = QtGui.QFont()
    bold = QtGui.QFont(font)
    bold.setBold(True)
    metrics, bold_metrics = QtGui.QFontMetrics(font), QtGui.QFontMetrics(bold)
    for width in (90, 140, 300):
        room = QtCore.QRect(60, 3, width, 18)
        (id_rect, id_text), (label_rect, label_text) = title_line(room, "scene_00000", "triangle", bold_metrics, metrics)
        assert room.contains(id_rect) and room.contains(label_rect) and not id_rect.intersects(label_rect)
        assert bold_metrics.horizontalAdvance(id_text) <= id_rect.width()
        assert metrics.horizontalAdvance(label_text) <= label_rect.width() <= max(room.width() * LABEL_SHARE,
                                                                                   metrics.horizontalAdvance("triangle"))
        if width == 300:
            assert (id_text, label_text) == ("scene_00000", "triangle")
        else:
            assert id_text.endswith("…") or label_text.endswith("…")


def test_an_elided_line_keeps_its_width_and_shows_its_whole_text_as_a_tooltip(qtbot):
    from mmstudio.ui.widgets.elided import QtElidedLabel

    label = QtElidedLabel("a status that grows " * 20)
    qtbot.addWidget(label)
    label.resize(200, 20)
    label.show()
    assert label.minimumSizeHint().width() < 100 and label.text().endswith("…")
    assert label.toolTip() == "a status that grows " * 20
    assert label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width()
    assert isinstance(label, QtWidgets.QLabel) and pg is not None


def test_screenshot_raises_a_panel_and_one_of_its_tabs_and_names_the_tabs_of_a_wrong_one(tmp_path):
    import subprocess
    import sys

    from ui_helpers import DEMO

    out = tmp_path / "shot.png"
    done = subprocess.run([sys.executable, "-m", "mmstudio", "screenshot", str(out), str(DEMO), "--size", "1024x700",
                           "--panel", "Alignment/Nothing"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 2 and not out.exists()
    assert "--panel Alignment/Nothing: Alignment has no tab 'Nothing'; its tabs: Retrieval, gap and maps, " \
           "Aligner trainer" in done.stderr


def test_a_log_axis_labels_only_as_many_ticks_as_fit(qtbot):
    from mmstudio.ui.app import make_app
    from mmstudio.ui.widgets.plots import log_ticks, make_plot

    make_app()
    plots = []
    for fitted in (False, True):
        plot = make_plot(left="loss (log)", bottom="step")
        plot.setLogMode(y=True)
        if fitted:
            log_ticks(plot)
        plot.plot(np.arange(300), 0.25 + 3.7 * np.exp(-np.arange(300) / 8.0))   # a loss from 3.95 to 0.25
        qtbot.addWidget(plot)
        plot.resize(240, 260)
        plot.show()
        plots.append(plot)
    qtbot.waitExposed(plots[1])
    qtbot.wait(50)
    assert any("tick labels" in line and "overlap" in line for line in problems(plots[0]))   # pyqtgraph's own
    assert problems(plots[1]) == []
    image = QtGui.QImage(4, 4, QtGui.QImage.Format.Format_ARGB32)
    painter = QtGui.QPainter(image)
    drawn = [text for _, _, text in plots[1].getAxis("left").generateDrawSpecs(painter)[2]]
    painter.end()
    assert len(drawn) >= 2 and set(drawn) <= {"0.5", "1", "2"}      # 1, 2, 5 per decade, in the loss's range


def test_confusion_headers_are_shortened_to_their_columns_not_cut(qtbot):
    from mmstudio.ui.app import make_app
    from mmstudio.ui.fusion.plots import QtConfusion

    make_app()
    table = QtConfusion()
    qtbot.addWidget(table)
    table.resize(520, 200)
    table.show()
    names = ["circle", "cross", "ring", "square", "star", "triangle"]
    table.show_matrix(np.eye(6, dtype=int) * 5, names)
    qtbot.wait(20)
    header = table.horizontalHeader()
    assert [table.horizontalHeaderItem(j).text() for j in range(6)] == names       # room for every name
    table.resize(260, 200)
    qtbot.waitUntil(lambda: table.horizontalHeaderItem(5).text() != "triangle")
    for j, name in enumerate(names):
        text = table.horizontalHeaderItem(j).text()
        assert name.startswith(text.rstrip(".")) and header.fontMetrics().horizontalAdvance(text) <= header.sectionSize(j)
        assert table.horizontalHeaderItem(j).toolTip() == f"predicted {name}"
