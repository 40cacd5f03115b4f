"""The Qt behind the window, probed live, for Help > About (``mmstudio --info`` reads the versions
without importing Qt: :func:`mmstudio.encoders.sysinfo.qt_line`)."""

from __future__ import annotations


def qt_versions() -> str:
    """PySide6's and the running Qt's versions, and pyqtgraph's."""
    from importlib import metadata

    import PySide6
    from PySide6 import QtCore

    try:
        pyqtgraph = metadata.version("pyqtgraph")
    except metadata.PackageNotFoundError:
        pyqtgraph = "not installed"
    from mmstudio.ui.binding_check import none_refcount_drop

    line = f"PySide6 {PySide6.__version__} (Qt {QtCore.qVersion()}), pyqtgraph {pyqtgraph}"
    if none_refcount_drop():
        line += " (UNSAFE: loses references to None; the window would abort; install PySide6<6.12)"
    return line
