"""The window as a user meets it (pytest-qt, offscreen)."""

import time

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from ui_helpers import DEMO, drag_on_map, settled


def test_demo_opens_with_every_item_as_a_point(demo_window):
    ws = demo_window.workspace
    assert len(ws.dataset) == 24
    assert len(ws.table) == 72 and len(demo_window.view.cloud.xy) == 72
    assert set(ws.table.modality) == {"image", "audio", "text"}
    assert "24 samples · 72 items" in demo_window.count_label.text()
    assert demo_window.library.model.rowCount() == 24


def drop(window, paths):
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(p)) for p in paths])
    event = QtGui.QDropEvent(QtCore.QPointF(50, 50), QtCore.Qt.DropAction.CopyAction, mime,
                             QtCore.Qt.MouseButton.NoButton, QtCore.Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_dropping_files_a_folder_and_a_manifest_adds_items_and_bad_files_show_why(make_window, qtbot, tmp_path):
    from mmstudio.demo.make import make_world

    make_world(tmp_path / "world", n=4, seed=8)
    loose = tmp_path / "loose"
    loose.mkdir()
    for suffix in (".png", ".txt"):
        (loose / f"extra{suffix}").write_bytes((tmp_path / "world" / f"scene_00000{suffix}").read_bytes())
    (loose / "broken.png").write_bytes(b"not a picture")
    window = make_window()
    drop(window, [loose / "extra.png", loose / "extra.txt", loose / "broken.png"])
    qtbot.waitUntil(lambda: settled(window) and window.workspace.table is not None, timeout=120_000)
    assert len(window.workspace.table) == 2
    drop(window, [tmp_path / "world"])                       # a folder with a manifest
    qtbot.waitUntil(lambda: settled(window) and len(window.workspace.table) == 14, timeout=120_000)
    drop(window, [tmp_path / "world" / "manifest.csv"])      # the manifest itself
    qtbot.waitUntil(lambda: settled(window) and len(window.workspace.table) == 26, timeout=120_000)
    library = window.library.model
    errors = [entry for kind, entry in library.entries if kind == "error"]
    assert any("broken.png" in str(e.path) and "not an image file" in e.reason for e in errors)
    assert "skipped" in window.count_label.text()


def test_hover_on_a_point_shows_its_tooltip(demo_window, qtbot):
    view = demo_window.view
    row = int(np.flatnonzero(demo_window.workspace.table.modality == "text")[0])
    x, y = (float(v) for v in view.cloud.xy[row])
    scene_pos = view.viewbox.mapViewToScene(QtCore.QPointF(x, y))
    view._hover(scene_pos)
    assert view.hovered is not None
    shown = demo_window.workspace.table.sample_id[view.hovered]
    text = QtWidgets.QToolTip.text()
    assert shown in text and demo_window.workspace.table.label[view.hovered] in text


def empty_spot(view) -> QtCore.QPoint:
    """A place on the map (viewport pixels) with no point near enough to hover."""
    size = view.plot.viewport().size()
    return next(QtCore.QPoint(x, y) for x in range(10, size.width() - 10, 15) for y in range(10, size.height() - 10, 15)
                if view._row_at(view.plot.mapToScene(QtCore.QPoint(x, y))) is None)


def test_a_point_tooltip_stays_while_the_mouse_rests_on_it(demo_window, qtbot):
    """Real mouse moves onto a point, then the mouse rests: Qt's own tooltip event comes after
    ~0.7 s, and the point's tooltip must outlive it (it vanished 0.7–1.0 s after the mouse stopped)."""
    from PySide6 import QtTest

    view, table = demo_window.view, demo_window.workspace.table
    demo_window.activateWindow()
    qtbot.waitActive(demo_window)
    row = int(np.flatnonzero(table.modality == "image")[0])
    target = view.plot.mapFromScene(view.viewbox.mapViewToScene(QtCore.QPointF(*map(float, view.cloud.xy[row]))))
    viewport = view.plot.viewport()
    for dx in (-40, -30, -20, -10, -4, -2, 0):
        QtTest.QTest.mouseMove(viewport, target + QtCore.QPoint(dx, 0))
        qtbot.wait(20)
    qtbot.waitUntil(QtWidgets.QToolTip.isVisible, timeout=2000)
    shown = view.hovered
    qtbot.wait(2000)
    assert QtWidgets.QToolTip.isVisible(), "the tooltip vanished while the mouse rested on the point"
    assert table.sample_id[shown] in QtWidgets.QToolTip.text()
    QtTest.QTest.mouseMove(viewport, empty_spot(view))  # off the point: it hides
    qtbot.waitUntil(lambda: not QtWidgets.QToolTip.isVisible(), timeout=2000)


def test_a_point_tooltip_comes_back_when_the_mouse_returns_at_once(demo_window, qtbot):
    """Off a point and straight back on it: Qt was still hiding the tip (for 300 ms) and kept doing
    so, as the text asked for had not changed."""
    view = demo_window.view
    row = int(np.flatnonzero(demo_window.workspace.table.modality == "text")[0])
    on_point = view.viewbox.mapViewToScene(QtCore.QPointF(*map(float, view.cloud.xy[row])))
    view._hover(on_point)
    assert QtWidgets.QToolTip.isVisible()
    view._hover(view.plot.mapToScene(empty_spot(view)))
    view._hover(on_point)
    qtbot.wait(600)
    assert QtWidgets.QToolTip.isVisible() and view.hovered == row


def around_a_point(view):
    """A radius around a point of the map that falls between two of its neighbours, far from both."""
    xy = view.cloud.xy
    centre = xy[0]  # around a point of the map: the middle of a UMAP can be empty
    distance = np.sort(np.linalg.norm(xy - centre, axis=1))
    gap = int(np.argmax(np.diff(distance[:20])[8:])) + 8
    return centre, float(distance[gap] + distance[gap + 1]) / 2


def test_lasso_selects_the_points_inside(demo_window, qtbot):
    view, ws = demo_window.view, demo_window.workspace
    xy = view.cloud.xy
    centre, radius = around_a_point(view)
    view.viewbox.setRange(xRange=(float(centre[0] - 3 * radius), float(centre[0] + 3 * radius)),
                          yRange=(float(centre[1] - 3 * radius), float(centre[1] + 3 * radius)), padding=0)
    angles = np.linspace(0, 2 * np.pi, 40)
    polygon = centre + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    view.mode.setCurrentText("Lasso")
    drag_on_map(view, qtbot, polygon)
    inside = np.flatnonzero(np.linalg.norm(xy - centre, axis=1) < radius * 0.97)
    assert set(inside) <= set(ws.selection.tolist())
    assert 0 < len(ws.selection) < len(xy)
    outside = np.flatnonzero(np.linalg.norm(xy - centre, axis=1) > radius * 1.03)
    assert not set(outside) & set(ws.selection.tolist())


def test_a_box_drag_selects_the_points_inside_and_shift_adds(demo_window, qtbot):
    view, ws = demo_window.view, demo_window.workspace
    xy = view.cloud.xy
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    view.viewbox.setRange(xRange=(float(lo[0]), float(hi[0])), yRange=(float(lo[1]), float(hi[1])), padding=0.1)
    view.mode.setCurrentText("Box select")
    tol = 0.01 * float((hi - lo).max())

    def box(a, b):  # (points surely inside, points that may be inside: a pixel's rounding on the edge)
        sure = np.flatnonzero(((xy > a + tol) & (xy < b - tol)).all(axis=1))
        maybe = np.flatnonzero(((xy > a - tol) & (xy < b + tol)).all(axis=1))
        return set(sure.tolist()), set(maybe.tolist())

    span = hi - lo
    # boxes around points of this layout (a fixed quantile box may hold none): one around the point
    # nearest the middle, one around the point farthest from it, shift-added
    middle = xy[np.argmin(((xy - np.median(xy, axis=0)) ** 2).sum(axis=1))]
    far = xy[np.argmax(((xy - middle) ** 2).sum(axis=1))]
    a, b = middle - 0.15 * span, middle + 0.15 * span
    drag_on_map(view, qtbot, [a, (a + b) / 2, b])
    sure, maybe = box(a, b)
    assert sure and sure <= set(ws.selection.tolist()) <= maybe
    c, d = far - 0.05 * span, far + 0.05 * span
    drag_on_map(view, qtbot, [c, (c + d) / 2, d], QtCore.Qt.KeyboardModifier.ShiftModifier)
    sure2, maybe2 = box(c, d)
    assert sure2 - maybe and sure | sure2 <= set(ws.selection.tolist()) <= maybe | maybe2


def test_a_query_highlights_and_lists_its_neighbours(demo_window, qtbot):
    """Typed in the query box and Enter pressed: the text is embedded in a job (not on the GUI
    thread), then the star and the nearest items show."""
    import threading

    from PySide6.QtTest import QTest

    ws = demo_window.workspace
    encoder, threads = ws.encoder, []
    embed = encoder.embed

    def recording(modality, items, **options):
        threads.append(threading.get_ident())
        return embed(modality, items, **options)

    encoder.embed = recording
    try:
        demo_window.view.query.setText("a small red cross")
        QTest.keyClick(demo_window.view.query, QtCore.Qt.Key.Key_Return)
        assert ws.query is None                      # Enter returned before the text was embedded
        qtbot.waitUntil(lambda: ws.query is not None, timeout=60_000)
    finally:
        del encoder.embed
    assert threads and threading.get_ident() not in threads
    rows = ws.query_rows
    assert len(rows) == 10
    cols = ws.table.columns
    red_cross = [cols["obj1_shape"][r] == "cross" and cols["obj1_color"][r] == "red" for r in rows]
    assert sum(red_cross[:5]) >= 4, red_cross  # the closest items show (or sound, or name) a red cross
    assert demo_window.inspector.neighbours.count() == 10
    emphasised = np.flatnonzero(demo_window.view.cloud.emphasis > 0)
    assert set(rows.tolist()) <= set(emphasised.tolist())
    assert len(demo_window.view.star.data) == 1


def test_cancel_stops_an_encoding_job(make_window, qtbot, tmp_path):
    from mmstudio.demo.make import make_world

    window = make_window()
    qtbot.waitUntil(lambda: window.workspace.encoder is not None, timeout=120_000)
    make_world(tmp_path / "big", n=150, seed=1)
    window.open_paths([tmp_path / "big"])
    qtbot.waitUntil(lambda: any(j.kind.startswith("encode") for j in window.runner.running), timeout=60_000)
    window.cancel.click()
    qtbot.waitUntil(lambda: not any(j.kind.startswith("encode") for j in window.runner.running), timeout=60_000)
    assert window.workspace.table is None or len(window.workspace.table) < 450


def _tick_gaps(qtbot, until, timeout_ms: int) -> list[float]:
    """Gaps between the ticks of a 10 ms timer on the GUI thread until ``until()`` holds."""
    gaps, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QtCore.QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    qtbot.waitUntil(until, timeout=timeout_ms)
    timer.stop()
    return sorted(gaps[5:], reverse=True)


def test_the_event_loop_stays_responsive_while_encoding_and_projecting(make_window, qtbot, tmp_path):
    """Measured once the model is loaded and UMAP warmed up: importing torch and numba's first
    compilation hold the GIL in long native calls (see the Step 5 notes).

    The machine is shared: the OS alone can leave the process unscheduled for a while. So the
    same loop is first timed while two threads keep the cores busy without holding the GIL
    (what encoding does when it behaves), and the window may add at most 100 ms to the worst
    gap seen then; two hiccups are forgiven, a freeze (0.5 s more) is not."""
    import threading

    import numpy as np

    from mmstudio.demo.make import make_world

    make_world(tmp_path / "w", n=120, seed=2)
    window = make_window()
    qtbot.waitUntil(lambda: window.workspace.encoder is not None and not window.runner.running, timeout=300_000)

    stop, a = threading.Event(), np.random.default_rng(0).standard_normal((300, 300))

    def busy():
        while not stop.is_set():
            a @ a  # BLAS releases the GIL

    threads = [threading.Thread(target=busy) for _ in range(2)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    control = _tick_gaps(qtbot, lambda: time.perf_counter() - began > 2.0, 10_000)
    stop.set()
    for thread in threads:
        thread.join()

    window.open_paths([tmp_path / "w"])
    work = _tick_gaps(qtbot, lambda: settled(window) and len(window.workspace.table) == 360, 300_000)
    assert len(work) > 20
    noise = control[0]
    assert work[2] <= 0.1 + noise and work[0] <= 0.5 + noise, (
        f"longest gaps {[round(g, 3) for g in work[:5]]} s; the idle loop under load: {noise:.3f} s")


def test_screenshot_writes_a_non_blank_png_of_the_window_size(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "shot.png"
    done = subprocess.run([sys.executable, "-m", "mmstudio", "screenshot", str(out), str(DEMO), "--size", "1000x700",
                           "--select", "scene_00003"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    from PIL import Image

    with Image.open(out) as im:
        assert im.size == (1000, 700)
        pixels = np.asarray(im.convert("RGB"))
    assert pixels.std() > 20 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 500
