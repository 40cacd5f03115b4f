"""Atomic file writes: a crash (or a kill) during a save never leaves a half-written file.

The bytes go to a temporary file in the target's own folder (so the rename stays on one file
system), are flushed and fsync'ed, and then ``os.replace`` swaps the file in under the target's
name in one step; the folder is fsync'ed afterwards where the OS allows, so the rename itself
survives a power cut. Until the rename a reader sees the previous file, whole; after it, the new one.

The file gets the permissions it would have had if written in place: an existing file's own,
a new file ``0666`` less the umask (``rw-r--r--`` under the usual umask), never the ``0600``
``mkstemp`` gives its temporary file. Every writer of a user's file goes through here:
projects, embedding tables (:mod:`mmstudio.core.tables.files`) and exports.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

CHUNK = 1 << 16
_umask_lock = threading.Lock()
_umask: list[int] = []


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path. On any failure the old file stays as it was."""

    def write(tmp):
        with open(tmp, "wb") as f:
            view = memoryview(data)
            for start in range(0, len(view), CHUNK):
                _write_chunk(f, view[start:start + CHUNK])

    return atomic_write(path, write)


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> Path:
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write(path, write) -> Path:
    """``write(tmp_path)`` fills a temporary file beside ``path``; it is then fsync'ed, given the
    permissions :func:`mode_for` says and renamed onto ``path``. On any failure (or Ctrl-C) the
    temporary file is removed and ``path`` stays as it was. Returns the path."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        _fsync_file(tmp)
        os.chmod(tmp, mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)
    return path


def _write_chunk(f, chunk) -> None:
    """One write of the loop above (a seam the tests use to write slowly and be killed midway)."""
    f.write(chunk)


def _fsync_file(path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def mode_for(path) -> int:
    """Keep an existing file's permissions; a new file gets ``0666`` less the umask, as ``open()`` gives it."""
    try:
        return Path(path).stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~umask()


def umask() -> int:
    """The process's umask (read once; it can only be read by setting it, so under a lock)."""
    with _umask_lock:
        if not _umask:
            mask = os.umask(0o022)
            os.umask(mask)
            _umask.append(mask)
        return _umask[0]


def fsync_folder(folder) -> None:
    """Make a rename inside ``folder`` durable; a no-op where folders cannot be opened (Windows)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- folders
@contextmanager
def staged_folder(target):
    """Build a folder's files in a hidden temporary sibling of ``target`` (yielded); when the block
    ends normally, move them into ``target`` (made when missing); when it raises, or Ctrl-C stops
    it, remove the sibling. ``target`` is never left half-written: it holds the files it had
    before, or every new one. Files of ``target`` that the block did not write are kept."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield scratch
        with deferred_interrupt():
            _publish(scratch, target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _publish(scratch: Path, target: Path) -> None:
    os.chmod(scratch, _new_folder_mode())
    if not target.exists():
        os.rename(scratch, target)
    else:
        for entry in sorted(scratch.iterdir()):
            destination = target / entry.name
            if destination.is_dir() and not destination.is_symlink():
                shutil.rmtree(destination)
            os.replace(entry, destination)
        scratch.rmdir()
    fsync_folder(target.parent)


def _new_folder_mode() -> int:
    return 0o777 & ~umask()


@contextmanager
def deferred_interrupt():
    """Hold a Ctrl-C that arrives inside the block until it ends (a few renames that belong
    together), then hand it to the handler that was in place. Outside the main thread a no-op."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield
        return
    caught = []
    signal.signal(signal.SIGINT, lambda *_: caught.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        previous(signal.SIGINT, None)
