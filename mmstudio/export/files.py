"""Writing export files: whole or not at all, with the permissions a new file normally gets.

One writer for every file mmstudio makes: :func:`mmstudio.core.atomic.atomic_write` (a
temporary file beside the target, fsync'ed, renamed; a new file gets ``0666`` less the umask,
an existing one keeps its own permissions).
"""

from __future__ import annotations

from pathlib import Path

from mmstudio.core.atomic import atomic_write as _atomic_write


def atomic_write(path, write) -> Path:
    """``write(tmp_path)`` then rename onto ``path``; the file is readable as a plain new file would be."""
    return _atomic_write(path, write)
