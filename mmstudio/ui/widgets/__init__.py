"""Controls shared by the window's panels: one value slider, one plot factory.

May import: ``ui`` (nothing of the panels), and the layers below ``ui``.
"""
