"""Ctrl-C that never lands inside an import.

A KeyboardInterrupt raised while Python imports a module can do worse than stop the command:
raised inside torch's import (C++ calling Python through pybind11) it aborts the process
("terminate called after throwing … KeyboardInterrupt"); raised inside an import that PySide6's
import hook runs, it is swallowed; raised while a class is created, Python wraps it in a
RuntimeError. So the handler installed here raises KeyboardInterrupt as Python's own does, except
while an import runs: then it sends the signal again a moment later, until the import is over.
"""

from __future__ import annotations

import os
import signal
import threading

RETRY_SECONDS = 0.05


def install() -> None:
    """Use :func:`handler` for SIGINT (main thread only, as Python requires)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)


def handler(signum, frame) -> None:
    if in_import(frame):
        timer = threading.Timer(RETRY_SECONDS, os.kill, (os.getpid(), signal.SIGINT))
        timer.daemon = True
        timer.start()
        return
    raise KeyboardInterrupt


def in_import(frame) -> bool:
    """Is ``frame`` (or a caller of it) running an import?"""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False
