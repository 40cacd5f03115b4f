"""Where mmstudio keeps its cache, settings and log (``MMSTUDIO_CACHE_DIR`` and ``MMSTUDIO_LOG_DIR``
override the cache and the log folder)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    override = os.environ.get("MMSTUDIO_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("mmstudio", appauthor=False))


def log_dir() -> Path:
    override = os.environ.get("MMSTUDIO_LOG_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_log_dir

    return Path(user_log_dir("mmstudio", appauthor=False))


def folder_size(folder: Path) -> int:
    """Total bytes of the files below ``folder`` (0 when it does not exist)."""
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def leaves_folder(text: str) -> bool:
    """Whether a path written inside a manifest or project reaches outside that file's folder:
    an absolute path, one starting with ``~``, or one climbing above the folder with ``..``."""
    if text.startswith("~") or os.path.isabs(text):
        return True
    norm = os.path.normpath(text)
    return norm == os.pardir or norm.startswith(os.pardir + os.sep)
