"""What this machine runs mmstudio with: versions, devices and the cache, as (key, value) lines for
``mmstudio --info`` and the window's Help > About (so a bug report says everything at once).

Qt is not imported here: its line is read from the installed packages' metadata, with the known
bad pair flagged; the window passes its own line (:func:`mmstudio.ui.versions.qt_versions`, which
probes the running binding).
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata

from mmstudio import __version__

# PySide6 builds that lose a reference to None on every void Qt call, on Python < 3.12 (Step 8)
LEAKY_PYSIDE6 = ("6.12.0",)


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def qt_line() -> str:
    """PySide6's and pyqtgraph's installed versions (no Qt import), flagged when the pair is known bad."""
    pyside = next((v for v in (version("PySide6-Essentials"), version("PySide6")) if v != "not installed"),
                  "not installed")
    line = f"PySide6 {pyside}, pyqtgraph {version('pyqtgraph')}"
    if pyside in LEAKY_PYSIDE6 and sys.version_info < (3, 12):
        line += " (UNSAFE: loses references to None; the window would abort; install PySide6<6.12)"
    return line


def lines(qt: str | None = None) -> list[tuple[str, str]]:
    import torch

    from mmstudio.core.cache import EmbeddingCache
    from mmstudio.core.paths import cache_dir, folder_size, human_size
    from mmstudio.encoders.device import available_devices, pick_device, pick_precision

    cuda = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA"
    devices = available_devices()
    chosen = pick_device("auto")
    folder = cache_dir()
    entries = ""
    if (folder / EmbeddingCache.FILENAME).exists():
        cache = EmbeddingCache(folder)
        entries = f", {cache.count()} embeddings" if cache.available else f", unusable ({cache.problem})"
        cache.close()
    return [
        ("mmstudio", __version__),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("platform", platform.platform()),
        ("torch", f"{torch.__version__} ({cuda}, {torch.get_num_threads()} CPU threads)"),
        ("transformers", version("transformers")),
        ("umap-learn", version("umap-learn")),
        ("qt", qt if qt is not None else qt_line()),
        ("devices", "; ".join(f"{d.name}: {d.description}" for d in devices)),
        ("would use", f"{chosen} ({pick_precision(chosen)})"),
        ("cache", f"{folder} ({human_size(folder_size(folder))}{entries})"),
    ]
