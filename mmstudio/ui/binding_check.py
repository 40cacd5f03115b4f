"""Is the installed Qt binding safe to run the window on?

PySide6 6.12.0 on CPython < 3.12 drops one reference to ``None`` on every call of a Qt method
that returns nothing. ``None`` is a normal, mortal object there, so after enough calls (each
repaint of the map makes dozens) its count reaches zero and the interpreter aborts with
"Fatal Python error: none_dealloc". From Python 3.12 on ``None`` is immortal and the bug is
harmless. Rather than keep a list of bad versions, :func:`none_refcount_drop` measures the
binding that is installed, in a few microseconds, and gives back what it took.
"""

from __future__ import annotations

import sys

PROBE_CALLS = 50


def none_refcount_drop(calls: int = PROBE_CALLS) -> int:
    """How many references to ``None`` ``calls`` void Qt calls lose (0 on a sound binding).
    The references lost are given back, so the probe itself never brings the abort closer."""
    if sys.version_info >= (3, 12):
        return 0  # None is immortal: its count means nothing and cannot reach zero
    from PySide6 import QtCore

    point = QtCore.QPointF()
    before = sys.getrefcount(None)
    for _ in range(calls):
        point.setX(1.0)  # void
    lost = before - sys.getrefcount(None)
    if lost > 0:
        import ctypes

        for _ in range(lost):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
    return max(lost, 0)


def binding_problem() -> str | None:
    """One line saying what is wrong with the installed PySide6 and how to fix it, or None."""
    lost = none_refcount_drop()
    if lost < PROBE_CALLS // 2:
        return None
    import PySide6

    python = ".".join(map(str, sys.version_info[:3]))
    return (f"PySide6 {PySide6.__version__} on Python {python} loses a reference to None on every Qt call "
            f"(an upstream bug), and the window would abort after a few minutes of use. Fix: "
            f"pip install 'PySide6-Essentials<6.12' 'PySide6-Addons<6.12' (or run mmstudio on Python 3.12 or newer).")
