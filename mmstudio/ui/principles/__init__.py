"""The Principles panel: one page per principle.

May import: ``ui``, ``ui.widgets``, and the layers below ``ui``.
"""
