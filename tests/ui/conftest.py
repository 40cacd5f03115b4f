"""A window per test, on its own settings file, torn down with its jobs stopped. A window test fails
on an exception inside a Qt callback, a Qt warning, a Python warning (but those in ``WARNINGS_ALLOWED``),
and a window or a thread it left behind."""

import gc
import os
import re
import threading
import time
import traceback

import pytest
from ui_helpers import DEMO, settled

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


# Qt messages that say nothing about mmstudio: the offscreen platform plugin's notes on window calls
# it cannot honour (raise, size hints), and a headless machine's missing audio/fonts setup.
QT_NOISE = [r"^This plugin does not support ", r"^QFont::fromString", r"^qt\.multimedia", r"^Could not find a font"]


# Python warnings a window test may see: each names what it is and why it is not mmstudio's to fix
WARNINGS_ALLOWED = [
    "ignore::DeprecationWarning:pyqtgraph.*",               # pyqtgraph on a newer numpy/Qt
    "ignore:.*is deprecated.*:DeprecationWarning:ray.*",     # Ray's own configuration, in the Ray tests' process
    "ignore::pytest.PytestUnraisableExceptionWarning",      # reported by the fixture below as Qt errors instead
    "ignore:Tensorflow not installed:ImportWarning",         # umap-learn's import: ParametricUMAP is not used
]


def pytest_collection_modifyitems(items):
    """Warnings are errors in the window tests, except those listed in ``WARNINGS_ALLOWED``."""
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            for rule in ["error", *WARNINGS_ALLOWED]:
                item.add_marker(pytest.mark.filterwarnings(rule))


THREADS_ALLOWED = {"tqdm_monitor"}  # tqdm's one monitor thread, started by the first progress bar, kept for all


@pytest.fixture(autouse=True)
def fail_on_leftovers():
    """A test that leaves a visible window or a running Python thread behind fails (after 10 s of grace:
    a job's thread finishing its last step is not a leak)."""
    from PySide6 import QtWidgets

    app = QtWidgets.QApplication.instance()
    windows_before = {id(w) for w in app.topLevelWidgets()} if app is not None else set()
    threads_before = set(threading.enumerate())
    yield
    app = QtWidgets.QApplication.instance()
    deadline = time.monotonic() + 10
    while True:
        if app is not None:
            app.processEvents()
        windows = [w for w in (app.topLevelWidgets() if app is not None else [])
                   if w.isVisible() and id(w) not in windows_before]
        threads = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()
                   and not isinstance(t, threading._DummyThread) and t.name not in THREADS_ALLOWED]
        if not (windows or threads) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    left = [f"window {type(w).__name__} {w.windowTitle()!r}" for w in windows] + [f"thread {t.name}" for t in threads]
    if left:
        pytest.fail("left behind: " + ", ".join(left), pytrace=False)


@pytest.fixture(autouse=True)
def fail_on_qt_errors(qtbot, qtlog):
    """Every window test fails when a Python exception is raised inside a Qt callback (a slot, a
    timer, a virtual such as paint() or metric(): PySide6 prints those to stderr and carries on)
    or when Qt warns (``qWarning``: "QObject::connect: …", "QPainter::begin: …"), except the
    platform noise in ``QT_NOISE``."""
    with qtbot.capture_exceptions() as exceptions:
        yield
    problems = ["".join(traceback.format_exception(*info)) for info in exceptions]
    problems += [f"Qt {record.type_name}: {record.message}" for record in qtlog.records
                 if record.type_name in ("QtWarningMsg", "QtCriticalMsg", "QtFatalMsg")
                 and not any(re.search(pattern, record.message) for pattern in QT_NOISE)]
    if problems:
        pytest.fail("raised or warned inside Qt:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def _ui_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("ui-cache")


@pytest.fixture(autouse=True)
def isolated_cache(_ui_cache, monkeypatch):
    """The window tests share one cache folder (still never the user's): each test opens the
    same demo, and re-encoding it and re-fitting its map for every test cost ~8 s apiece. Tests
    that need a cold cache use a world of their own (a new seed: new files, new vectors)."""
    monkeypatch.setenv("MMSTUDIO_CACHE_DIR", str(_ui_cache))
    monkeypatch.setenv("MMSTUDIO_LOG_DIR", str(_ui_cache / "log"))  # nor the user's log file
    return _ui_cache


@pytest.fixture
def make_window(qtbot, tmp_path):
    from PySide6 import QtCore

    from mmstudio.ui.app import build_window, make_app

    make_app()
    windows = []

    def make(paths=(), demo=False, warm=True):
        """``warm=False``: no UMAP warm-up in the background (its compiling takes a core for a minute)."""
        settings = QtCore.QSettings(str(tmp_path / f"settings{len(windows)}.ini"), QtCore.QSettings.Format.IniFormat)
        settings.setValue("open_demo", "true" if demo else "false")
        window = build_window(paths, settings, warm=warm)
        qtbot.addWidget(window)
        window.resize(1200, 800)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.runner.cancel_all()
        window.runner.wait(30000)
        window.close()


@pytest.fixture(scope="session", autouse=True)
def _free_qt_objects_while_qt_is_up():
    """After the last window test, collect what is left while the QApplication still exists:
    left to the interpreter's final collection, PySide6 6.12 can abort the process at exit
    ("none_dealloc"/"bool_dealloc"; see mmstudio.ui.app.dispose)."""
    yield
    from PySide6 import QtWidgets

    app = QtWidgets.QApplication.instance()
    if app is not None:
        for _ in range(3):
            app.processEvents()
            gc.collect()
    gc.freeze()  # and keep the interpreter's last collection away from what Qt still holds


@pytest.fixture
def demo_window(make_window, qtbot):
    window = make_window([DEMO])
    qtbot.waitUntil(lambda: settled(window) or "error:" in window.log.toPlainText(), timeout=300_000)
    assert "error:" not in window.log.toPlainText(), window.log.toPlainText()
    time.sleep(0.05)
    return window


@pytest.fixture
def principles_panel(qtbot):
    """The principles panel on a small synthetic table (image and audio rows with ``shape`` and ``xor``
    columns) handed to it as its demo table, so nothing is rendered or embedded."""
    from ui_helpers import small_table

    from mmstudio.ui.app import make_app
    from mmstudio.ui.principles.panel import QtPrinciplesPanel
    from mmstudio.ui.workers import QtRunner
    from mmstudio.ui.workspace import Workspace

    make_app()
    runner = QtRunner(threads=2)
    panel = QtPrinciplesPanel(Workspace(runner))
    panel.demo_table = small_table()
    qtbot.addWidget(panel)
    yield panel
    runner.cancel_all()
    runner.wait(30000)
