"""A window per test, on its own settings file, torn down with its jobs stopped."""

import gc
import os
import re
import time
import traceback

import pytest

from ui_helpers import DEMO, settled

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


# Qt messages that say nothing about mmstudio: the offscreen platform plugin's notes on window calls
# it cannot honour (raise, size hints), and a headless machine's missing audio/fonts setup.
QT_NOISE = [r"^This plugin does not support ", r"^QFont::fromString", r"^qt\.multimedia", r"^Could not find a font"]


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

    def make(paths=(), demo=False):
        settings = QtCore.QSettings(str(tmp_path / f"settings{len(windows)}.ini"), QtCore.QSettings.Format.IniFormat)
        settings.setValue("open_demo", "true" if demo else "false")
        window = build_window(paths, settings)
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
    qtbot.waitUntil(lambda: settled(window), timeout=300_000)
    time.sleep(0.05)
    return window
