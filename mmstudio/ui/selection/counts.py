"""The selection's counts: how many of its items are of each modality and each label, as bars, with
how many the whole table holds beside each ("12 of 40")."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.ui import colors
from mmstudio.ui.guard import guarded

LABEL_ROWS = 10   # labels drawn; the rest are summed on one line


@dataclass
class Counts:
    """One histogram: (value, count in the selection, count in the table), largest first, and the rest."""

    title: str
    rows: list[tuple[str, int, int]]
    rest_values: int = 0       # values not drawn
    rest_items: int = 0        # their items


def column_counts(table, column: str, rows=None) -> Counter:
    """How many of ``rows`` (None: every row) hold each value of the text column ``column`` ("—": none)."""
    from mmstudio.core.tables.categories import value_counts

    return value_counts(table, column, rows)


def counts(title: str, selected: Counter, whole: Counter, limit: int | None = None) -> Counts:
    """The selection's counts of each value (most frequent first, then by name); ``whole``: the table's
    counts of the same values."""
    ranked = sorted(selected.items(), key=lambda p: (-p[1], p[0]))
    shown, rest = (ranked, []) if limit is None else (ranked[:limit], ranked[limit:])
    return Counts(title, [(name, k, whole.get(name, 0)) for name, k in shown], len(rest), sum(k for _, k in rest))


def table_counts(table) -> dict[str, Counter]:
    """How many rows of the whole table hold each modality and each label."""
    return {key: column_counts(table, key) for key in ("modality", "label")}


class QtCounts(QtWidgets.QWidget):
    """Horizontal bars, one block per histogram."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.blocks: list[Counts] = []
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)

    def set_counts(self, blocks: list[Counts]) -> None:
        self.blocks = blocks
        self.setFixedHeight(self._height())
        self.update()

    def _lines(self) -> int:
        return sum(1 + len(b.rows) + (1 if b.rest_values else 0) for b in self.blocks)

    def _height(self) -> int:
        return self._lines() * self._step() + 4

    def _step(self) -> int:
        return self.fontMetrics().height() + 4

    @guarded(None)
    def paintEvent(self, event) -> None:
        painter = QtGui.QPainter(self)
        metrics, step = self.fontMetrics(), self._step()
        width = self.width()
        rows = [row for block in self.blocks for row in block.rows]
        name_w = min(max(60, int(width * 0.35)), max([metrics.horizontalAdvance(n) for n, _, _ in rows] or [0]) + 16)
        count_w = max([metrics.horizontalAdvance(f"{k:,} of {w:,}") for _, k, w in rows] or [0]) + 8
        bar_w = max(10, width - name_w - count_w - 12)
        text = self.palette().color(QtGui.QPalette.ColorRole.WindowText)
        y = 2
        bold = QtGui.QFont(self.font())
        bold.setBold(True)
        for block in self.blocks:
            painter.setFont(bold)
            painter.setPen(text)
            painter.drawText(QtCore.QRect(2, y, width - 4, step), int(QtCore.Qt.AlignmentFlag.AlignVCenter),
                             block.title)
            painter.setFont(self.font())
            y += step
            top = max([k for _, k, _ in block.rows] or [1])
            for name, k, whole in block.rows:
                colour = colors.MODALITY_COLORS.get(name, (120, 144, 176))
                painter.setPen(text)
                painter.drawText(QtCore.QRect(6, y, name_w - 10, step), int(QtCore.Qt.AlignmentFlag.AlignVCenter),
                                 metrics.elidedText(name, QtCore.Qt.TextElideMode.ElideRight, name_w - 10))
                painter.fillRect(QtCore.QRect(name_w, y + 3, max(1, round(bar_w * k / top)), step - 6),
                                 QtGui.QColor(*colour))
                painter.drawText(QtCore.QRect(name_w + bar_w + 6, y, count_w, step),
                                 int(QtCore.Qt.AlignmentFlag.AlignVCenter), f"{k:,} of {whole:,}")
                y += step
            if block.rest_values:
                painter.setPen(QtGui.QColor(128, 128, 128))
                painter.drawText(QtCore.QRect(6, y, width - 8, step), int(QtCore.Qt.AlignmentFlag.AlignVCenter),
                                 f"… {block.rest_values:,} more values ({block.rest_items:,} items)")
                y += step
        painter.end()
