"""Python methods that Qt's C++ calls (``paint``, ``data``, ``showEvent``…) never let an exception out.

When such an override raises, shiboken 6.11 stores the error for later; for an exception raised
from C code (numpy's ``IndexError`` from a fancy index, a broadcast ``ValueError``) that path
dereferences a bad pointer and the process dies with a segfault, the traceback never printed.
:func:`guarded` catches the exception in Python, hands it to ``sys.excepthook`` (the app's hook
logs it and shows one line; pytest-qt's makes the test fail) and returns a harmless default.
"""

from __future__ import annotations

import functools
import sys


def guarded(default=None):
    """Decorate a Qt virtual override: an exception goes to ``sys.excepthook``; Qt gets ``default``
    (called, when it is callable, so each call gets a fresh ``QSize()``/``QRectF()``)."""
    def wrap(method):
        @functools.wraps(method)
        def call(*args, **kwargs):
            try:
                return method(*args, **kwargs)
            except Exception:  # noqa: BLE001 - Qt's C++ must never see it (see the module's doc)
                exc_type, exc, tb = sys.exc_info()
                try:
                    sys.excepthook(exc_type, exc, tb)
                except Exception:  # noqa: BLE001 - a hook that fails must not bring the crash back
                    pass
                finally:
                    del tb
                return default() if callable(default) else default
        return call
    return wrap
