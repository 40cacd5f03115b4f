"""The Fusion lab panel: controls and plots.

May import: ``ui``, ``ui.widgets``, and the layers below ``ui``.
"""
