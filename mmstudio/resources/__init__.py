"""Data files, not code: the built-in model's weights and config (``builtin/``) and demo media to drag
into the window (``demo/``). Found through ``importlib.resources.files("mmstudio.resources")``.
"""
