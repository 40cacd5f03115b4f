"""``mmstudio screenshot``: build the window offscreen, wait until it has settled, save it as a PNG.

A headless run never waits on a person: a modal dialog is closed at once and its text becomes the
error, a failed job ends the run with its message, a window with nothing to show ends it with the
reason from the Log, and Ctrl-C closes the window cleanly before the run stops.
"""

from __future__ import annotations

import gc
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

from mmstudio.ui.guard import guarded

DATA_JOBS = ("demo", "open", "model", "encode-")  # the jobs that can still bring items to show
NOTHING_GRACE = 1.0            # seconds of nothing running and nothing shown before giving up
FORMATS = {".png": "PNG", ".jpg": "JPG", ".jpeg": "JPG", ".bmp": "BMP"}


class ScreenshotError(Exception):
    """The screenshot cannot be taken; ``code`` is the exit code (2: the inputs, 1: the run)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


class _Guard:
    """What ends a headless run early: Ctrl-C (noted by a signal handler installed before Qt is
    imported: a KeyboardInterrupt raised inside an import that PySide6's import hook runs is lost,
    and one raised inside Qt's event handling can crash), a modal dialog (closed, its text kept) and
    a job's failure."""

    def __init__(self):
        self.problem: str | None = None
        self.interrupted = False
        self.app = self.filter = None
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._interrupt)

    def _interrupt(self, *_):
        self.interrupted = True

    def watch_dialogs(self, app) -> None:
        from PySide6 import QtCore, QtWidgets

        outer = self

        class Filter(QtCore.QObject):
            @guarded(False)
            def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
                if event.type() == QtCore.QEvent.Type.Show and isinstance(obj, QtWidgets.QDialog) and obj.isModal():
                    text = obj.text() if isinstance(obj, QtWidgets.QMessageBox) else ""
                    outer.fail(f"{obj.windowTitle() or 'a dialog'}: {text}".strip().rstrip(":"))
                    QtCore.QTimer.singleShot(0, obj.reject)
                return False

        self.app, self.filter = app, Filter()
        app.installEventFilter(self.filter)

    def fail(self, message: str) -> None:
        if self.problem is None:
            self.problem = " ".join(message.split())

    def check(self) -> None:
        if self.interrupted:
            raise KeyboardInterrupt
        if self.problem is not None:
            raise ScreenshotError(self.problem)

    def remove(self) -> None:
        if self.app is not None:
            self.app.removeEventFilter(self.filter)
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        if self.interrupted:
            raise KeyboardInterrupt


def settle(app, window, timeout: float, guard: _Guard | None = None, on_items=None) -> bool:
    """Process events until loading, encoding and projection are done (True), or time runs out.
    With a ``guard``, a failure, Ctrl-C or a window left with nothing to show raise at once.
    ``on_items()`` runs once, as soon as every item is there (before the layout is final)."""
    ws = window.workspace
    deadline = time.monotonic() + timeout
    quiet_since = idle_since = None
    while time.monotonic() < deadline:
        app.processEvents()
        if guard is not None:
            guard.check()
        if on_items is not None and ws.table is not None and len(ws.table) and not _loading(window):
            on_items()
            on_items = None
        busy = window.runner.running  # any job: the status bar would show it
        animating = getattr(window.view, "_animation", None) is not None
        done = not busy and not animating and ws.table is not None and (ws.layout_final or len(ws.table) == 0)
        if done and len(ws.table) == 0 and guard is not None:
            raise ScreenshotError(nothing_to_show(window))
        if done:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 0.5:  # let the last animation finish
                return True
        else:
            quiet_since = None
        if guard is not None and not _loading(window) and (ws.table is None or len(ws.table) == 0):
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > NOTHING_GRACE:
                raise ScreenshotError(nothing_to_show(window))
        else:
            idle_since = None
        time.sleep(0.02)
    return False


def _loading(window) -> bool:
    """Is a job running that may still bring items to show? (The model only matters when there
    are samples to encode.)"""
    ws = window.workspace
    kinds = [j.kind for j in window.runner.running if j.kind.startswith(DATA_JOBS)]
    if not len(ws.dataset):  # tables are shown as they are; the model encodes samples
        kinds = [k for k in kinds if k != "model"]
    return bool(kinds)


def nothing_to_show(window) -> str:
    """Why the window shows no item, from its Log (what failed to open, was skipped or missing)."""
    lines = [line.strip() for line in window.log.toPlainText().splitlines() if line.strip()]
    told = [line for line in lines if not line.startswith(("model ", "UMAP"))]
    shown = "; ".join(told[-4:]) if told else "no samples or embedding tables were found"
    return f"the window has nothing to show ({shown})"


def check_inputs(paths) -> None:
    """Before the window: every path exists; a project file reads, and some of its sources exist."""
    from mmstudio.core.project import SUFFIX, ProjectError, load_project

    for path in paths:
        if not os.path.exists(path):
            raise ScreenshotError(f"{path}: no such file or folder", 2)
        if str(path).endswith(SUFFIX):
            try:
                project, problems = load_project(path)
            except ProjectError as exc:
                raise ScreenshotError(str(exc), 2) from None
            if project.missing_sources and not project.sources:
                gone = ", ".join(project.missing_sources[:3]) + (" …" if len(project.missing_sources) > 3 else "")
                raise ScreenshotError(f"{path}: none of the project's sources exists (missing: {gone})", 2)


# a refused --panel or --select can come while the model still loads (torch importing, under load
# for more than 5 s): the command waits for that job before it exits, so nothing prints at exit
SHUTDOWN_WAIT_MS = 60_000


def screenshot(out, paths=(), *, panel: str | None = None, size=(1400, 860), select: str | None = None,
               query: str | None = None, timeout: float = 600.0) -> Path:
    """Render the window on ``paths`` (default: the demo world) and save it to ``out``.
    Raises :class:`ScreenshotError` (nothing written) or KeyboardInterrupt (window closed first)."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ScreenshotError(f"{out}: {out.suffix or 'no extension'} is not a picture format here; use "
                              + " or ".join(FORMATS), 2)
    check_inputs(paths)
    guard = _Guard()
    try:
        return _shoot(out, paths, guard, panel=panel, size=size, select=select, query=query, timeout=timeout)
    finally:
        guard.remove()  # raises KeyboardInterrupt now if Ctrl-C came at any moment


def _shoot(out: Path, paths, guard: _Guard, *, panel, size, select, query, timeout) -> Path:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore

    from mmstudio.core.logfile import install_excepthook
    from mmstudio.ui.app import build_window, dispose, make_app

    app = make_app()
    guard.watch_dialogs(app)
    restore_hooks = install_excepthook(guard.fail)  # an exception in a slot ends the run, traceback in the log
    settings = QtCore.QSettings(str(Path(tempfile.mkdtemp()) / "screenshot.ini"), QtCore.QSettings.Format.IniFormat)
    window = build_window(paths, settings, warm=False)  # one picture: no maps to come, no UMAP warm-up to wait for
    try:
        window.runner.failed.connect(guard.fail)
        window.resize(*size)
        app.processEvents()
        got = (window.width(), window.height())
        if got != tuple(size):  # the window has a minimum size: the picture would not be what was asked
            raise ScreenshotError(f"--size {size[0]}x{size[1]}: the window cannot take that size (it stays "
                                  f"{got[0]}x{got[1]}: its panels need the room)", 2)
        dock, tab = _panel(window, panel) if panel else (None, None)
        if not settle(app, window, timeout, guard, on_items=lambda w=window: _rows(w, select)):
            raise ScreenshotError(f"the window did not settle within {timeout:g} s ({_running(window)})")
        if select:
            window.workspace.select(_rows(window, select))
        if query:
            window.view.query.setText(query)
            window.workspace.set_query(query)  # a job, like the panel's below: settle again
        if dock is not None:
            dock.show()      # a bottom panel: the strip under the map raises it alone, at its rule's height
            dock.raise_()
            if tab is not None:
                tab[0].setCurrentIndex(tab[1])
        if (query or dock is not None) and not settle(app, window, timeout, guard):
            raise ScreenshotError(f"the window did not settle within {timeout:g} s ({_running(window)})")
        for _ in range(20):
            app.processEvents()
            guard.check()
            time.sleep(0.01)
        guard.check()
        _save(window.grab(), out)
    finally:
        dispose(window, wait_ms=SHUTDOWN_WAIT_MS)
        del window
        gc.collect()  # while Qt is up (see dispose)
        restore_hooks()
    return out


def _panel(window, name: str):
    """The dock of ``name`` ("Alignment", or "Alignment/Aligner trainer" for a tab of it), and the tab
    as (tab widget, index), or None."""
    title, _, tab_name = name.partition("/")
    dock = window.docks.get(title) or next((d for t, d in window.docks.items() if t.lower() == title.lower()), None)
    if dock is None:
        raise ScreenshotError(f"--panel {name}: no such panel; panels: {', '.join(window.docks)}", 2)
    if not tab_name:
        return dock, None
    from PySide6 import QtWidgets

    tabs = [(w, i) for w in dock.widget().findChildren(QtWidgets.QTabWidget) for i in range(w.count())]
    found = next(((w, i) for w, i in tabs if w.tabText(i).lower() == tab_name.lower()), None)
    if found is None:
        names = ", ".join(w.tabText(i) for w, i in tabs) or "none"
        raise ScreenshotError(f"--panel {name}: {title} has no tab {tab_name!r}; its tabs: {names}", 2)
    return dock, found


def _rows(window, select: str | None):
    """The rows of a sample id (or, for a number that is no sample id, that row); checked as soon as
    the items are there, so that a wrong id does not wait for the layout."""
    import numpy as np

    ws = window.workspace
    if not select:
        return np.zeros(0, np.int64)
    rows = np.flatnonzero(ws.table.sample_id == select)
    if len(rows) == 0 and select.isdigit() and int(select) < len(ws.table):
        rows = np.array([int(select)])
    if len(rows) == 0:
        raise ScreenshotError(f"--select {select}: no sample id {select!r} (and no row {select}) among the "
                              f"{len(ws.table):,} items shown", 2)
    return rows


def _running(window) -> str:
    jobs = [f"{j.label}" + (f": {j.message}" if j.message else "") for j in window.runner.running]
    return "still running: " + ", ".join(jobs) if jobs else "the layout never became final"


def _save(image, out: Path) -> None:
    """Write the picture through a temporary file and rename it: ``out`` exists only when whole."""
    from mmstudio.core.atomic import atomic_write

    def write(tmp):
        if not image.save(str(tmp), FORMATS[out.suffix.lower()]):
            raise OSError("Qt could not save the picture")

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, write)
    except OSError as exc:
        raise ScreenshotError(f"cannot write {out}: {exc.strerror or exc}") from None
