"""`mmstudio --info`'s Qt line, read from the installed packages without importing Qt."""

import sys

import pytest

from mmstudio.encoders import sysinfo


@pytest.mark.parametrize("pyside, python, unsafe", [("6.12.0", (3, 11), True), ("6.11.3", (3, 11), False),
                                                    ("6.12.0", (3, 12), False)])
def test_the_known_leaking_pyside_is_flagged_on_python_before_3_12(monkeypatch, pyside, python, unsafe):
    versions = {"PySide6-Essentials": pyside, "pyqtgraph": "0.14.0"}
    monkeypatch.setattr(sysinfo, "version", lambda dist: versions.get(dist, "not installed"))
    monkeypatch.setattr(sys, "version_info", python)
    line = sysinfo.qt_line()
    assert line.startswith(f"PySide6 {pyside}, pyqtgraph 0.14.0")
    assert ("UNSAFE" in line) == unsafe
