"""The library of samples, the inspector of the selection, attention overlays.

May import: ``ui``, ``ui.widgets``, and the layers below ``ui``.
"""
