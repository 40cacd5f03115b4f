"""What the window says agrees with itself: the library follows the map's selection, a picked
nearest item drops the whole query, the skipped files are counted and logged once, and the
status bar's progress names its job and never goes back within it."""

import threading
import time

import numpy as np
from PySide6 import QtCore
from ui_helpers import settled


def scene_point(view, row: int) -> QtCore.QPoint:
    """Where point ``row`` is drawn, in the map's viewport pixels."""
    return view.plot.mapFromScene(view.viewbox.mapViewToScene(QtCore.QPointF(*map(float, view.cloud.xy[row]))))


def library_selection(window) -> set[str]:
    return {index.data(QtCore.Qt.ItemDataRole.DisplayRole)
            for index in window.library.list.selectionModel().selectedIndexes()}


def test_the_library_highlights_what_is_clicked_on_the_map(demo_window, qtbot):
    view, ws = demo_window.view, demo_window.workspace
    for row in (int(np.flatnonzero(ws.table.modality == m)[3]) for m in ("audio", "image")):
        qtbot.mouseClick(view.plot.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=scene_point(view, row))
        assert ws.selection.tolist() == [row]              # the map's pick stays the one item clicked
        assert library_selection(demo_window) == {ws.table.sample_id[row]}
    ws.select([])
    assert library_selection(demo_window) == set()


def test_picking_a_nearest_item_drops_the_query_text_with_its_star(demo_window, qtbot):
    view, ws, inspector = demo_window.view, demo_window.workspace, demo_window.inspector
    qtbot.keyClicks(view.query, "a small red cross")
    qtbot.keyClick(view.query, QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: inspector.neighbours.count() == 10 and len(view.star.data) == 1, timeout=30_000)
    item = inspector.neighbours.item(0)
    row = item.data(QtCore.Qt.ItemDataRole.UserRole)
    inspector.neighbours.scrollToItem(item)
    qtbot.mouseClick(inspector.neighbours.viewport(), QtCore.Qt.MouseButton.LeftButton,
                     pos=inspector.neighbours.visualItemRect(item).center())
    assert ws.selection.tolist() == [row]
    assert ws.query is None and len(view.star.data) == 0
    assert view.query.text() == ""


def test_skipped_files_are_counted_once_and_logged_once(make_window, qtbot, tmp_path):
    from mmstudio.demo.make import make_world

    folder = tmp_path / "w"
    make_world(folder, n=4, seed=11)
    (folder / "manifest.csv").unlink()                        # the files themselves, scanned
    (folder / "notes.xyz").write_text("not media")            # skipped when the folder is read
    (folder / "data.bin").write_bytes(b"\0\1")                # skipped when the folder is read
    (folder / "broken.png").write_bytes(b"not a picture")     # fails when it is decoded
    window = make_window([folder])
    qtbot.waitUntil(lambda: settled(window), timeout=120_000)
    assert len(window.workspace.table) == 12
    assert "5 samples · 3 skipped" in window.library.counts.text()  # broken.png is a sample of its own
    assert "· 3 skipped" in window.count_label.text()
    errors = [entry for kind, entry in window.library.model.entries if kind == "error"]
    assert sorted(str(e.path).rsplit("/", 1)[-1] for e in errors) == ["broken.png", "data.bin", "notes.xyz"]
    log = window.log.toPlainText()
    for name in ("notes.xyz", "data.bin", "broken.png"):
        assert log.count(name) == 1, log


def _progress_seen(window) -> list[tuple[str, int, int]]:
    seen = []
    bar = window.progress
    bar.valueChanged.connect(lambda value: seen.append((bar.format(), value, bar.maximum())))
    return seen


def _going_back(seen) -> list:
    """(words, earlier fraction, later fraction) wherever the bar went back under the same words."""
    last, back = {}, []
    for words, value, maximum in seen:
        if maximum <= 0 or value < 0:
            continue                                          # busy, or reset between jobs
        fraction = value / maximum
        if fraction < last.get(words, 0.0):
            back.append((words, last[words], fraction))
        last[words] = max(fraction, last.get(words, 0.0))
    return back


def _fraction(bar) -> float:
    return bar.value() / bar.maximum() if bar.maximum() > 0 else 0.0


def test_the_progress_bar_names_its_job_and_never_goes_back_within_it(make_window, qtbot):
    window = make_window()
    qtbot.waitUntil(lambda: window.workspace.encoder is not None and not window.runner.running, timeout=300_000)
    seen = _progress_seen(window)
    release = threading.Event()

    def counting(upto: int, hold: threading.Event | None = None):
        def work(job):
            for i in range(upto + 1):
                job.progress(i, 100)
                time.sleep(0.003)
            if hold is not None:
                hold.wait(30)
        return work

    window.runner.start("first", counting(97, release), label="encode 40 samples")
    qtbot.waitUntil(lambda: _fraction(window.progress) == 0.97, timeout=30_000)
    window.runner.start("second", counting(43), label="UMAP")      # reports while the first one still runs
    qtbot.waitUntil(lambda: "second" not in {j.kind for j in window.runner.running}, timeout=30_000)
    assert window.progress.format() == "encode 40 samples: %p%" and _fraction(window.progress) == 0.97
    release.set()
    qtbot.waitUntil(lambda: not window.runner.running, timeout=30_000)
    window.runner.start("third", counting(43), label="UMAP")       # follows the first one
    qtbot.waitUntil(lambda: not window.runner.running, timeout=30_000)
    assert not _going_back(seen), _going_back(seen)
    words = [w for w, _, m in seen if m]
    assert words[0] == "encode 40 samples: %p%" and words[-1] == "UMAP: %p%"
    assert ("UMAP: %p%", 0.43) in {(w, v / m) for w, v, m in seen if m}


def test_the_progress_of_opening_a_folder_goes_forward_job_by_job(make_window, qtbot, tmp_path):
    from mmstudio.demo.make import make_world

    make_world(tmp_path / "w", n=30, seed=12)
    window = make_window()
    qtbot.waitUntil(lambda: window.workspace.encoder is not None and not window.runner.running, timeout=300_000)
    seen, started = _progress_seen(window), []
    window.runner.started.connect(started.append)
    window.open_paths([tmp_path / "w"])
    qtbot.waitUntil(lambda: settled(window) and len(window.workspace.table) == 90, timeout=300_000)
    assert not _going_back(seen), _going_back(seen)
    named = {w.rsplit(":", 1)[0].split(", step")[0] for w, _, m in seen if m}
    assert "encode 30 samples" in named, named
    assert named <= {j.label for j in started}, (named, {j.label for j in started})  # every bar named its job
