"""The map's colour bar: the scale of a numeric "Colour by" (its colour map from the column's minimum at
the bottom to its maximum at the top, with round ticks between), and the grey of rows without a
value with their count. It sits in the map's top-right corner, where the legend of categories goes."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.analysis.attention.contrast import tick_label
from mmstudio.ui import colors
from mmstudio.ui.guard import guarded

BAR_WIDTH, BAR_HEIGHT, MIN_BAR_HEIGHT, PAD = 14, 150, 40, 6


def ticks(lo: float, hi: float, most: int = 5) -> list[float]:
    """The ends, and round values (1, 2 or 5 × 10^k apart) between them not too close to the ends."""
    if not hi > lo:
        return [lo]
    if most <= 2:
        return [lo, hi]
    wanted = (hi - lo) / (most - 1)
    exponent = math.floor(math.log10(wanted))
    step = min(m * 10.0 ** e for e in (exponent, exponent + 1) for m in (1, 2, 5) if m * 10.0 ** e >= wanted)
    margin = 0.12 * (hi - lo)
    inner = [k * step for k in range(math.ceil(lo / step), math.floor(hi / step) + 1)
             if lo + margin < k * step < hi - margin]
    return [lo, *inner, hi]


class ColourBarItem(pg.GraphicsWidgetAnchor, pg.GraphicsWidget):
    def __init__(self, offset=(-10, 10)):
        pg.GraphicsWidget.__init__(self)
        pg.GraphicsWidgetAnchor.__init__(self)
        self.offset = offset
        self.scale = None
        self.labels: list[tuple[float, str]] = []   # (value, text) beside the bar, lowest first
        self.missing_text = ""
        self.bar_height = BAR_HEIGHT       # shorter on a short map, so that the whole bar stays in sight
        self._image: QtGui.QImage | None = None
        self.setVisible(False)

    def setParentItem(self, parent):
        result = pg.GraphicsWidget.setParentItem(self, parent)
        self.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=self.offset)
        if hasattr(parent, "sigResized"):
            parent.sigResized.connect(self._fit)
        return result

    def _fit(self, *_) -> None:
        """Lay the bar out again for the map's height (called as the map is resized)."""
        scale, self.scale = self.scale, None
        self.show_scale(scale)

    def show_scale(self, scale) -> None:
        """Draw ``scale`` (a :class:`~mmstudio.ui.map.colouring.Scale`), or hide the bar (None)."""
        if scale == self.scale:
            return
        self.scale = scale
        if scale is None:
            self.labels, self.missing_text = [], ""
            self.setVisible(False)
            return
        metrics = QtGui.QFontMetrics(self.font())
        line = metrics.height()
        room = self.parentItem().height() if self.parentItem() is not None else 0
        extra = line + 6 + line // 2 + (line + 4 if scale.missing else 0) + 2 * PAD + abs(self.offset[1]) + 4
        self.bar_height = int(min(BAR_HEIGHT, max(MIN_BAR_HEIGHT, room - extra))) if room > 0 else BAR_HEIGHT
        marks = ticks(scale.lo, scale.hi, 5 if self.bar_height >= 100 else 3 if self.bar_height >= 60 else 2)
        # the ends in four digits (the column's own min and max), the ticks between in three
        self.labels = [(v, f"{v:.4g}" if i in (0, len(marks) - 1) else tick_label(v)) for i, v in enumerate(marks)]
        self.missing_text = f"no value ({scale.missing:,})" if scale.missing else ""
        lut = colors.colormap_lut(scale.colormap)[::-1].copy()      # the top row is the maximum
        self._image = QtGui.QImage(lut.tobytes(), 1, 256, 3, QtGui.QImage.Format.Format_RGB888).copy()
        title = QtGui.QFont(self.font())
        title.setBold(True)
        width = max([metrics.horizontalAdvance(t) for _, t in self.labels] + [0])
        width = max(BAR_WIDTH + 6 + width, QtGui.QFontMetrics(title).horizontalAdvance(scale.key),
                    BAR_WIDTH + 6 + metrics.horizontalAdvance(self.missing_text))
        height = line + 6 + self.bar_height + line // 2 + (line + 4 if scale.missing else 0)
        self.setGeometry(QtCore.QRectF(0, 0, min(width, 220) + 2 * PAD, height + 2 * PAD))
        self.setVisible(True)
        self.update()

    def bar_rect(self) -> QtCore.QRectF:
        line = QtGui.QFontMetrics(self.font()).height()
        return QtCore.QRectF(PAD, PAD + line + 6, BAR_WIDTH, self.bar_height)

    @guarded(None)
    def paint(self, painter: QtGui.QPainter, *args) -> None:
        if self.scale is None:
            return
        palette = QtWidgets.QApplication.palette()
        background = palette.color(QtGui.QPalette.ColorRole.Window)
        background.setAlpha(225)
        text = palette.color(QtGui.QPalette.ColorRole.WindowText)
        painter.setPen(pg.mkPen(150, 150, 150))
        painter.setBrush(background)
        painter.drawRoundedRect(self.rect(), 4, 4)
        metrics = QtGui.QFontMetrics(self.font())
        title = QtGui.QFont(self.font())
        title.setBold(True)
        painter.setFont(title)
        painter.setPen(text)
        painter.drawText(QtCore.QRectF(PAD, PAD, self.rect().width() - 2 * PAD, metrics.height()),
                         QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter,
                         QtGui.QFontMetrics(title).elidedText(self.scale.key, QtCore.Qt.TextElideMode.ElideRight,
                                                              int(self.rect().width() - 2 * PAD)))
        painter.setFont(self.font())
        bar = self.bar_rect()
        painter.drawImage(bar, self._image)
        painter.setPen(pg.mkPen(120, 120, 120))
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        painter.drawRect(bar)
        lo, hi = self.scale.lo, self.scale.hi
        painter.setPen(text)
        for value, label in self.labels:
            y = bar.bottom() - (0.5 if hi <= lo else (value - lo) / (hi - lo)) * bar.height()
            painter.drawLine(QtCore.QPointF(bar.right(), y), QtCore.QPointF(bar.right() + 3, y))
            painter.drawText(QtCore.QRectF(bar.right() + 6, y - metrics.height() / 2, 200, metrics.height()),
                             QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter, label)
        if self.missing_text:
            swatch = QtCore.QRectF(PAD, bar.bottom() + metrics.height() // 2 + 4, BAR_WIDTH, metrics.height() - 2)
            painter.setBrush(QtGui.QColor(*colors.MISSING))
            painter.setPen(pg.mkPen(120, 120, 120))
            painter.drawRect(swatch)
            painter.setPen(text)
            painter.drawText(QtCore.QRectF(swatch.right() + 6, swatch.top() - 1, 200, metrics.height()),
                             QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter, self.missing_text)
