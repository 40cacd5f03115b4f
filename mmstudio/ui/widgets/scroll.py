"""Words that may need more height than a panel has: a column that scrolls up and down, never sideways."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


def vertical_scroll(*widgets: QtWidgets.QWidget, margins=(0, 0, 0, 0)) -> QtWidgets.QScrollArea:
    """``widgets`` one above the other, as wide as the area, scrolled when they are taller than it."""
    inner = QtWidgets.QWidget()
    column = QtWidgets.QVBoxLayout(inner)
    column.setContentsMargins(*margins)
    for widget in widgets:
        column.addWidget(widget)
    column.addStretch(1)
    area = QtWidgets.QScrollArea()
    area.setWidget(inner)
    area.setWidgetResizable(True)
    area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area
