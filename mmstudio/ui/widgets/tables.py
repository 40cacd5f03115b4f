"""Tables that show every column: the width a table needs, for its column of a splitter."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


def whole_width(table: QtWidgets.QTableView) -> int:
    """The width that shows every column of ``table`` (its sections, header, frame and scroll bar)."""
    header = table.verticalHeader()
    width = sum(table.horizontalHeader().sectionSize(j) for j in range(table.model().columnCount()))
    width += (header.sizeHint().width() if header.isVisible() else 0) + 2 * table.frameWidth()
    if table.verticalScrollBarPolicy() != QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff:
        width += table.verticalScrollBar().sizeHint().width()   # room for it, should the rows need it
    return width + 2
