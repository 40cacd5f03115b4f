"""Atomic file writes: a crash (or a kill) during a save never leaves a half-written file.

The bytes go to a temporary file in the target's own folder (so the rename stays on one file
system), are flushed and fsync'ed, and then ``os.replace`` swaps the file in under the target's
name in one step; the folder is fsync'ed afterwards where the OS allows, so the rename itself
survives a power cut. Until the rename a reader sees the previous file, whole; after it, the new one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

CHUNK = 1 << 16


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path. On any failure the old file stays as it was."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            view = memoryview(data)
            for start in range(0, len(view), CHUNK):
                _write_chunk(f, view[start:start + CHUNK])
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)
    return path


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> Path:
    return atomic_write_bytes(path, text.encode(encoding))


def _write_chunk(f, chunk) -> None:
    """One write of the loop above (a seam the tests use to write slowly and be killed midway)."""
    f.write(chunk)


def _mode_for(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual rw-r--r-- (mkstemp makes 0600)."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o644


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
