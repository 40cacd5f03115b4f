"""mmstudio: a desktop studio for looking inside multimodal models.

Importing this package is cheap: torch, transformers, umap and Qt are imported only by the
functions that need them. The Python API (``mmstudio.embed``, ``project``, ``align``, ``compare``,
``fuse``, ``train_aligner``, ``show``, ``read_table``; :mod:`mmstudio.api`) is loaded on first use.
"""

__version__ = "0.1.0"

API = ("embed", "project", "align", "compare", "fuse", "train_aligner", "show", "read_table")


def __getattr__(name: str):
    if name in API:
        import importlib

        return getattr(importlib.import_module("mmstudio.api"), name)
    raise AttributeError(f"module 'mmstudio' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(API))
