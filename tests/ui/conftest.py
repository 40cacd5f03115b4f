"""A window per test, on its own settings file, torn down with its jobs stopped."""

import os
import time

import pytest

from ui_helpers import DEMO, settled

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


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


@pytest.fixture
def demo_window(make_window, qtbot):
    window = make_window([DEMO])
    qtbot.waitUntil(lambda: settled(window), timeout=300_000)
    time.sleep(0.05)
    return window
