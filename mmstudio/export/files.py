"""Writing export files: whole or not at all, with the permissions a new file normally gets.

:func:`mmstudio.core.table_files._atomic` writes through a temporary file (``mkstemp``: mode 0600)
and renames it; an export is meant to be shared, so the result gets ``0666`` less the umask, as
``open()`` would have given it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

_lock = threading.Lock()


def atomic_write(path, write) -> Path:
    """``write(tmp_path)`` then rename onto ``path``; the file is readable as a plain new file would be."""
    from mmstudio.core.table_files import _atomic

    path = Path(path)
    _atomic(path, write)
    return plain_mode(path)


def plain_mode(path) -> Path:
    with _lock:  # the umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    os.chmod(path, 0o666 & ~mask)
    return Path(path)
