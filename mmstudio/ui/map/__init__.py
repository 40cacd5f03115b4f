"""The embedding map: the view and its point cloud item, the feed that places added rows on it and its
colouring (colours, tooltips and thumbnails are shared with the inspector: ``ui.colors``,
``ui.tooltips``, ``ui.thumbnails``).

May import: ``ui``, ``ui.widgets``, and the layers below ``ui``.
"""
