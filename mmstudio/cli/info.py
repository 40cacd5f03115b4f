"""``mmstudio --info``: versions, devices and the cache, so a bug report says everything at once."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

from mmstudio import __version__


def add_arguments(parser) -> None:
    pass


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _qt() -> str:
    try:
        from mmstudio.ui.versions import qt_versions

        return qt_versions()
    except Exception as exc:  # a broken Qt must not hide the rest of the report
        return f"unavailable ({exc})"


def lines() -> list[tuple[str, str]]:
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
        ("transformers", _version("transformers")),
        ("umap-learn", _version("umap-learn")),
        ("qt", _qt()),
        ("devices", "; ".join(f"{d.name}: {d.description}" for d in devices)),
        ("would use", f"{chosen} ({pick_precision(chosen)})"),
        ("cache", f"{folder} ({human_size(folder_size(folder))}{entries})"),
    ]


def run(args) -> int:
    for key, value in lines():
        print(f"{key:<13} {value}")
    return 0
