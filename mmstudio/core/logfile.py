"""The log file: what went wrong, in full, where a user's eyes are not.

A user reads one line naming the reason (in the window's Log, on the terminal); the traceback
behind it goes to ``mmstudio.log`` in the user log folder (``platformdirs.user_log_dir``, or
``MMSTUDIO_LOG_DIR``), rotated at 1 MB with three old files kept. Safe to call from any thread.
"""

from __future__ import annotations

import logging
import logging.handlers
import threading
import traceback
from pathlib import Path

from mmstudio.core.paths import log_dir

FILE_NAME = "mmstudio.log"
MAX_BYTES = 1_000_000
BACKUPS = 3
_lock = threading.Lock()


def log_path() -> Path:
    return log_dir() / FILE_NAME


def logger() -> logging.Logger:
    """The ``mmstudio`` logger, writing to :func:`log_path` (re-pointed when the folder changes)."""
    log = logging.getLogger("mmstudio")
    path = log_path()
    with _lock:
        current = [h for h in log.handlers if isinstance(h, logging.handlers.RotatingFileHandler)]
        if not any(Path(h.baseFilename) == path for h in current):
            for handler in current:
                log.removeHandler(handler)
                handler.close()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                               encoding="utf-8", delay=True)
            except OSError:  # no writable log folder: the one-line reasons still reach the user
                return log
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s: %(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.INFO)
            log.propagate = False
    return log


def log_exception(what: str, exc: BaseException) -> str:
    """Write ``what`` and the traceback of ``exc`` to the log file; return the one line a user reads:
    ``what: reason``. mmstudio's own errors are their message; others keep their type in front
    (``KeyError: 'x'`` says more than ``'x'``)."""
    message = (str(exc).strip().splitlines() or [""])[0]
    own = type(exc).__module__.startswith("mmstudio")
    reason = message if own and message else f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    line = f"{what}: {reason}" if what else reason
    try:  # the traceback as text: a record that keeps it alive would keep its frames (and all they hold)
        detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
        logger().error("%s\n%s", line, detail)
    except Exception:  # noqa: BLE001 - a log that cannot be written must not hide the reason
        pass
    return line


# ---------------------------------------------------------------------- the safety net
def one_line(exc: BaseException, limit: int = 200) -> str:
    """``Type: message`` on one line, cut to ``limit`` characters."""
    message = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= limit else text[:limit - 1] + "…"


def report_internal_error(who: str, exc: BaseException) -> str:
    """Log a bug (``exc`` with its traceback and the command line) and return what the user reads:
    ``WHO: internal error: Type: message (details in LOG)`` (no ``WHO:`` when ``who`` is empty)."""
    import sys

    line = f"{who + ': ' if who else ''}internal error: {one_line(exc)}"
    logging.raiseExceptions = False  # a log file that cannot be opened must not print a traceback itself
    try:
        log = logger()
        # without its file the record would reach logging's last resort: the traceback on stderr
        written = any(isinstance(h, logging.handlers.RotatingFileHandler) for h in log.handlers)
        if written:
            detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
            log.error("%s\nargv: %s\n%s", line, " ".join(sys.argv), detail)
    except Exception:  # noqa: BLE001 - a log that cannot be written must not hide the reason
        written = False
    path = log_path()
    return f"{line} ({f'details in {path}' if written and path.is_file() else f'the log file {path} could not be written'})"


def install_excepthook(show):
    """Send exceptions nobody caught (a slot of the window, a thread) to the log; ``show(line)``
    tells the user in one line (``internal error: … (details in LOG)``). KeyboardInterrupt keeps
    Python's own handling. Returns a function that puts the previous hooks back."""
    import sys

    def hook(kind, exc, tb):
        if issubclass(kind, KeyboardInterrupt):
            return sys.__excepthook__(kind, exc, tb)
        if exc is None:
            exc = kind()
        if exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        try:
            show(report_internal_error("", exc))
        except Exception:  # noqa: BLE001 - the window may be half gone; the log still has it
            pass

    def thread_hook(args):
        if args.exc_type is not SystemExit:
            hook(args.exc_type, args.exc_value, args.exc_traceback)

    before = sys.excepthook, threading.excepthook
    sys.excepthook = hook
    threading.excepthook = thread_hook

    def restore() -> None:
        sys.excepthook, threading.excepthook = before

    return restore
