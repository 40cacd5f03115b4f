"""Ctrl-C that lands where Python code can stop cleanly.

A KeyboardInterrupt raised in Python code that a C extension called can do worse than stop the
command: inside torch's import (C++ calling Python through pybind11) it aborts the process
("terminate called after throwing … KeyboardInterrupt"); inside an import run by PySide6's import
hook it is swallowed; inside torch code that safetensors' Rust calls it becomes a ValueError;
while a class is created, Python wraps it in a RuntimeError. So the handler installed here raises
KeyboardInterrupt, as Python's own does, only where the program was running mmstudio's own code
or the standard library, outside any import; anywhere else it sends the signal again a moment
later, until it lands there — or, after :data:`GIVE_UP` seconds, raises wherever it is.
"""

from __future__ import annotations

import os
import signal
import sysconfig
import threading
import time

RETRY_SECONDS = 0.05
GIVE_UP = 3.0
_OWN = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # the mmstudio package
_STDLIB = os.path.abspath(sysconfig.get_paths()["stdlib"])
_pending: list[float] = []   # when the Ctrl-C being held arrived


def install() -> None:
    """Use :func:`handler` for SIGINT (main thread only, as Python requires)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)


def handler(signum, frame) -> None:
    waited = time.monotonic() - _pending[0] if _pending else 0.0
    if safe_to_stop(frame) or waited > GIVE_UP:
        _pending.clear()
        raise KeyboardInterrupt
    if not _pending:
        _pending.append(time.monotonic())
    timer = threading.Timer(RETRY_SECONDS, os.kill, (os.getpid(), signal.SIGINT))
    timer.daemon = True
    timer.start()


def safe_to_stop(frame) -> bool:
    """Was the program in mmstudio's code or the standard library (not in a third-party package,
    which a C extension may have called), and outside any import?"""
    if frame is None or in_import(frame):
        return False
    name = frame.f_code.co_filename
    if name.startswith("<frozen "):   # os, posixpath…: the standard library, frozen into Python
        return True
    name = os.path.abspath(name)
    if "site-packages" in name or "dist-packages" in name:
        return False
    return name.startswith((_OWN + os.sep, _STDLIB + os.sep))


def in_import(frame) -> bool:
    """Is ``frame`` (or a caller of it) running an import?"""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False
