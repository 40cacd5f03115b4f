"""mmstudio: a desktop studio for looking inside multimodal models.

Importing this package is cheap: torch, transformers, umap and Qt are imported only by the
functions that need them.
"""

__version__ = "0.1.0"
