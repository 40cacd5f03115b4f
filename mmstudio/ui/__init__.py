"""The window (PySide6 + pyqtgraph): the only package that imports Qt. One subpackage per part of the
window: ``map`` (the embedding view), ``inspector`` (library, inspector, attention, thumbnails),
``alignment``, ``fusion``, ``principles`` (the panels), ``widgets`` (shared controls).

May import: ``analysis``, ``export``, ``demo``, ``encoders``, ``core``; never ``cli``.
"""
