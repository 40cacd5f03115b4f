"""The log file: where a traceback goes instead of the user's terminal or a dialog.

An internal error (a bug, not bad input) is written here with the command line, the versions and
the traceback; the user sees one line naming the error and this file. The file lives in the
platform's user log folder (``~/.local/state/mmstudio/log`` on Linux; ``MMSTUDIO_LOG_DIR``
overrides it) and is cut back to its newest half when it grows past :data:`MAX_BYTES`.
Writing the log never raises: a log that cannot be written is named as such instead.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path

FILENAME = "mmstudio.log"
MAX_BYTES = 2 << 20


def log_dir() -> Path:
    override = os.environ.get("MMSTUDIO_LOG_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_log_dir

    return Path(user_log_dir("mmstudio", appauthor=False))


def log_path() -> Path:
    return log_dir() / FILENAME


def write_entry(title: str, text: str) -> Path | str:
    """Append one entry (a header line with the time, the process and ``title``, then ``text``).
    Returns the file's path, or a sentence saying why it could not be written."""
    path = log_path()
    from mmstudio import __version__

    header = (f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()} mmstudio {__version__} "
              f"python {sys.version.split()[0]}: {title}\n")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _trim(path)
        with open(path, "a", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(header + "argv: " + " ".join(sys.argv) + "\n" + text.rstrip("\n") + "\n")
    except OSError as exc:
        return f"the log file {path} could not be written: {exc.strerror or exc}"
    return path


def log_exception(exc: BaseException, title: str = "internal error") -> Path | str:
    """Write ``exc`` with its traceback; returns what :func:`write_entry` returns."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return write_entry(title, text)


def one_line(exc: BaseException, limit: int = 200) -> str:
    """``Type: message`` on one line, cut to ``limit`` characters."""
    message = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= limit else text[:limit - 1] + "…"


def internal_error_line(who: str, exc: BaseException, where: Path | str) -> str:
    """What the user reads: ``WHO: internal error: Type: message (details in LOG)`` (no ``WHO:``
    when ``who`` is empty)."""
    detail = f"details in {where}" if isinstance(where, Path) else where
    return f"{who + ': ' if who else ''}internal error: {one_line(exc)} ({detail})"


def report_internal_error(who: str, exc: BaseException) -> str:
    """Log ``exc`` and return the user's line (see :func:`internal_error_line`)."""
    return internal_error_line(who, exc, log_exception(exc, f"{who or 'mmstudio'}: internal error"))


def install_excepthook(show):
    """Send exceptions nobody caught (a slot of the window, a thread) to the log; ``show(line)``
    tells the user in one line (``internal error: …``). KeyboardInterrupt keeps Python's own handling.
    Returns a function that puts the previous hooks back."""
    def hook(kind, exc, tb):
        if issubclass(kind, KeyboardInterrupt):
            return sys.__excepthook__(kind, exc, tb)
        if exc is None:
            exc = kind()
        if exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        try:
            show(report_internal_error("", exc))
        except Exception:  # the window may be half gone; the log still has it
            pass

    def thread_hook(args):
        if args.exc_type is SystemExit:
            return
        hook(args.exc_type, args.exc_value, args.exc_traceback)

    import threading

    before = sys.excepthook, threading.excepthook
    sys.excepthook = hook
    threading.excepthook = thread_hook

    def restore() -> None:
        sys.excepthook, threading.excepthook = before

    return restore


def _trim(path: Path) -> None:
    """Keep the newest half of a log that grew past MAX_BYTES (whole lines)."""
    try:
        size = path.stat().st_size
    except OSError:
        return
    if size <= MAX_BYTES:
        return
    with open(path, "rb") as fh:
        fh.seek(size - MAX_BYTES // 2)
        tail = fh.read()
    cut = tail.find(b"\n=== ")
    tail = tail[cut + 1:] if cut >= 0 else tail
    from mmstudio.core.atomic import atomic_write_bytes

    atomic_write_bytes(path, tail)
