"""The attention picture, drawn to fit whatever space it is given: an image beside its overlay with a colour
bar, or a sound's spectrogram (time and frequency axes, the whole clip, the model's window marked)
with the attention over time and a colour bar.

Where each part goes is computed by :meth:`QtAttentionCanvas.parts` from the widget's size; paint
draws those rectangles, and the tests read them (nothing may fall outside the widget)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.analysis.attention.contrast import Scale, tick_label
from mmstudio.export.colormaps import lut
from mmstudio.export.spectrogram import Spectrogram, hz_label, seconds_label
from mmstudio.ui.guard import guarded

GAP = 6          # between the pieces, px
BAR = 12         # the colour bar's width, px
TICK = 3
LABEL_GAP = 4    # between a tick and its label
STRIP = 12       # the attention strip above a spectrogram, px
MAX_TILE = 420   # an image tile is never drawn larger


@dataclass
class Parts:
    """Where each piece of the picture is drawn (widget coordinates) and the labels drawn beside it."""

    tiles: dict[str, QtCore.QRectF] = field(default_factory=dict)   # original, overlay / spectrogram, strip
    bar: QtCore.QRectF | None = None
    bar_labels: list[tuple[str, float, QtCore.QRectF]] = field(default_factory=list)   # (text, place 0–1 on the bar, box)
    time_labels: list[tuple[str, float, QtCore.QRectF]] = field(default_factory=list)  # (text, seconds, box)
    hz_labels: list[tuple[str, float, QtCore.QRectF]] = field(default_factory=list)    # (text, Hz, box)
    window: QtCore.QRectF | None = None          # the span the model saw, over the strip and the spectrogram
    titles: list[tuple[str, QtCore.QRectF]] = field(default_factory=list)              # "Hz", "model saw …"

    def text_rects(self) -> list[QtCore.QRectF]:
        """Every label's box."""
        return [box for *_, box in (*self.bar_labels, *self.time_labels, *self.hz_labels, *self.titles)]


class QtAttentionCanvas(QtWidgets.QWidget):
    doubleClicked = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.kind: str | None = None          # "image" or "audio"
        self.original: QtGui.QImage | None = None
        self.overlay: QtGui.QImage | None = None
        self.spec: Spectrogram | None = None
        self.spec_image: QtGui.QImage | None = None
        self.curve: np.ndarray | None = None  # the map's place on the colour map per time step (0–1)
        self.times: np.ndarray | None = None
        self.heard: tuple[float, float] | None = None   # seconds the model saw
        self.scale: Scale | None = None
        self.colormap = "inferno"
        self.play_at: float | None = None      # seconds, while the sound plays
        font = QtGui.QFont(self.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.85))
        self.setFont(font)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)

    # ------------------------------------------------------------------ what is drawn
    def show_image(self, original: QtGui.QImage, overlay: QtGui.QImage, scale: Scale, colormap: str) -> None:
        self.kind, self.original, self.overlay, self.scale, self.colormap = "image", original, overlay, scale, colormap
        self.spec = self.spec_image = self.curve = self.times = self.heard = None
        self._changed()

    def show_sound(self, spec: Spectrogram, curve: np.ndarray, times: np.ndarray, window: tuple[float, float],
                   scale: Scale, colormap: str) -> None:
        from PIL import Image

        from mmstudio.ui.thumbnail_loader import qimage

        self.kind, self.spec, self.scale, self.colormap = "audio", spec, scale, colormap
        self.spec_image = qimage(Image.fromarray(spec.grey()))
        self.curve, self.times, self.heard = np.asarray(curve, np.float32), np.asarray(times, np.float64), window
        self.original = self.overlay = None
        self.play_at = None
        self._changed()

    def clear(self) -> None:
        self.kind = None
        self._changed()

    def set_cursor(self, seconds: float | None) -> None:
        self.play_at = seconds
        self.update()

    def _changed(self) -> None:
        self.update()

    @guarded(None)
    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.kind is not None:
            self.doubleClicked.emit()

    # ------------------------------------------------------------------ size
    @guarded(QtCore.QSize)
    def sizeHint(self) -> QtCore.QSize:  # noqa: N802
        return QtCore.QSize(300, 120)  # modest: the pane's scroll area sizes by hints; the canvas then takes the rest

    @guarded(QtCore.QSize)
    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802
        return QtCore.QSize(160, 110)   # a spectrogram with its axes stays readable

    def _aspect(self) -> float:
        if self.original is None or self.original.height() == 0:
            return 1.0
        return self.original.width() / self.original.height()

    def _line(self) -> int:
        return self.fontMetrics().height()

    def _bar_width(self) -> int:
        """The colour bar and its labels."""
        if self.scale is None:
            return BAR + GAP
        widest = max((self.fontMetrics().horizontalAdvance(tick_label(v)) for v, _ in self.scale.ticks(12)), default=0)
        return BAR + TICK + LABEL_GAP + widest

    # ------------------------------------------------------------------ layout
    def parts(self) -> Parts:
        """Where everything goes at the widget's present size."""
        if self.kind == "image":
            return self._image_parts(self.width(), self.height())
        if self.kind == "audio":
            return self._sound_parts(self.width(), self.height())
        return Parts()

    def _bar_parts(self, parts: Parts, left: float, top: float, height: float) -> None:
        line = self._line()
        parts.bar = QtCore.QRectF(left, top, BAR, height)
        most = max(2, int(height // (line * 1.5)) + 1)
        metrics = self.fontMetrics()
        for value, place in self.scale.ticks(most):
            text = tick_label(value)
            y = top + height * (1 - place)
            box = QtCore.QRectF(left + BAR + TICK + LABEL_GAP, y - line / 2, metrics.horizontalAdvance(text), line)
            box.moveTop(min(max(box.top(), top - line / 2), top + height - line / 2))
            parts.bar_labels.append((text, place, box))

    def _image_parts(self, width: int, height: int) -> Parts:
        parts = Parts()
        line = self._line()
        bar = self._bar_width()
        aspect = self._aspect()
        room_w, room_h = width - bar - 2 * GAP, height - line  # half a label above and below the bar
        side = min((room_w - GAP) / 2, room_h * aspect, MAX_TILE)          # side by side: tile width
        stacked = min(room_w, (room_h - GAP) / 2 * aspect, MAX_TILE)       # one above the other
        tile_w = max(max(side, stacked), 8.0)
        tile_h = tile_w / aspect
        if stacked > side:
            total_w = tile_w + GAP + bar
            left = (width - total_w) / 2
            top = (height - (2 * tile_h + GAP)) / 2
            parts.tiles["original"] = QtCore.QRectF(left, top, tile_w, tile_h)
            parts.tiles["overlay"] = QtCore.QRectF(left, top + tile_h + GAP, tile_w, tile_h)
        else:
            total_w = 2 * tile_w + 2 * GAP + bar
            left = (width - total_w) / 2
            top = (height - tile_h) / 2
            parts.tiles["original"] = QtCore.QRectF(left, top, tile_w, tile_h)
            parts.tiles["overlay"] = QtCore.QRectF(left + tile_w + GAP, top, tile_w, tile_h)
        overlay = parts.tiles["overlay"]
        self._bar_parts(parts, overlay.right() + GAP, overlay.top(), overlay.height())
        return parts

    def _sound_parts(self, width: int, height: int) -> Parts:
        parts = Parts()
        line = self._line()
        metrics = self.fontMetrics()
        spec = self.spec
        left_w = max(metrics.horizontalAdvance(hz_label(hz)) for hz in (*spec.hz_ticks(8), 1000.0)) + TICK + LABEL_GAP
        bar = self._bar_width()
        strip = QtCore.QRectF(left_w, max(line - STRIP, 0) / 2, width - left_w - bar - 2 * GAP, STRIP)
        area = QtCore.QRectF(left_w, strip.bottom() + GAP, strip.width(),
                             height - (strip.bottom() + GAP) - line - TICK - 2)
        parts.tiles["strip"], parts.tiles["spectrogram"] = strip, area
        parts.titles.append(("Hz", QtCore.QRectF(0, strip.center().y() - line / 2, metrics.horizontalAdvance("Hz"), line)))
        most_hz = max(2, int(area.height() // (line * 1.5)) + 1)
        for hz in spec.hz_ticks(most_hz):
            y = area.bottom() - float(spec.y_of(hz)) * area.height()
            text = hz_label(hz)
            box = QtCore.QRectF(left_w - TICK - LABEL_GAP - metrics.horizontalAdvance(text), y - line / 2,
                                metrics.horizontalAdvance(text), line)
            box.moveBottom(min(box.bottom(), area.bottom()))   # clear of the time labels
            parts.hz_labels.append((text, hz, box))
        for t in self._time_ticks(area.width()):
            text = seconds_label(t) + (" s" if t == 0 else "")
            x = area.left() + float(spec.x_of(t)) * area.width()
            w = metrics.horizontalAdvance(text)
            left = x - 1 if t == 0 else min(x - w / 2, width - w)   # "0 s" starts at its tick, clear of the Hz labels
            box = QtCore.QRectF(left, area.bottom() + TICK + 1, w, line)
            parts.time_labels.append((text, t, box))
        if self.heard is not None:
            x0, x1 = (area.left() + float(spec.x_of(t)) * area.width() for t in self.heard)
            parts.window = QtCore.QRectF(x0, strip.top(), max(x1 - x0, 1.0), area.bottom() - strip.top())
            label = self._window_label()  # in the strip beside the window, where it has room
            w = metrics.horizontalAdvance(label)
            if strip.right() - x1 >= w + 2 * GAP:
                parts.titles.append((label, QtCore.QRectF(x1 + GAP, strip.center().y() - line / 2, w, line)))
        self._bar_parts(parts, strip.right() + GAP, area.top(), area.height())
        return parts

    def _time_ticks(self, width: float) -> list[float]:
        """As many round times as fit under the spectrogram without their labels touching."""
        metrics, spec = self.fontMetrics(), self.spec
        for most in range(12, 1, -1):
            ticks = spec.time_ticks(most)
            if len(ticks) < 2:
                return ticks
            room = width * float(spec.x_of(ticks[1] - ticks[0]))
            if room >= max(metrics.horizontalAdvance(seconds_label(t) + " s") for t in ticks) + 8:
                return ticks
        return spec.time_ticks(2)

    def _window_label(self) -> str:
        start, end = self.heard
        return f"◀ the model heard {seconds_label(start)}–{seconds_label(end)} s"

    # ------------------------------------------------------------------ painting
    @guarded(None)
    def paintEvent(self, event) -> None:  # noqa: N802
        if self.kind is None or self.scale is None:
            return
        parts = self.parts()
        painter = QtGui.QPainter(self)
        try:
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
            palette_text = self.palette().color(QtGui.QPalette.ColorRole.WindowText)
            if self.kind == "image":
                for name, image in (("original", self.original), ("overlay", self.overlay)):
                    rect = parts.tiles[name]
                    upscale = rect.width() >= image.width() * 2
                    painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, not upscale)
                    painter.drawImage(rect, image)
            else:
                self._paint_sound(painter, parts, palette_text)
            self._paint_bar(painter, parts, palette_text)
        finally:
            painter.end()

    def _paint_bar(self, painter, parts: Parts, colour) -> None:
        table = lut(self.colormap)[::-1]
        bar = QtGui.QImage(np.ascontiguousarray(np.repeat(table[:, None, :], 1, axis=1)).tobytes(), 1, 256, 3,
                           QtGui.QImage.Format.Format_RGB888).copy()
        painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(parts.bar, bar)
        painter.setPen(colour)
        for text, place, box in parts.bar_labels:
            y = parts.bar.bottom() - place * parts.bar.height()
            painter.drawLine(QtCore.QPointF(parts.bar.right(), y), QtCore.QPointF(parts.bar.right() + TICK, y))
            painter.drawText(box, int(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter), text)

    def _paint_sound(self, painter, parts: Parts, colour) -> None:
        spec, area, strip = self.spec, parts.tiles["spectrogram"], parts.tiles["strip"]
        painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(area, self.spec_image)
        window = parts.window
        if window is not None:  # what the model did not hear, dimmed
            shade = QtGui.QColor(0, 0, 0, 150)
            painter.fillRect(QtCore.QRectF(window.right(), area.top(), area.right() - window.right(), area.height()), shade)
            painter.fillRect(QtCore.QRectF(area.left(), area.top(), window.left() - area.left(), area.height()), shade)
        heard = strip if window is None else QtCore.QRectF(window.left(), strip.top(), window.width(), strip.height())
        painter.fillRect(heard, QtGui.QColor(60, 60, 60))
        xs = area.left() + spec.x_of(self.times) * area.width()
        inside = (xs >= area.left()) & (xs <= area.right())
        if inside.sum() >= 1:
            table = lut(self.colormap)
            columns = np.arange(int(strip.left()), int(np.ceil(strip.right())))
            lo, hi = (xs[inside].min(), xs[inside].max()) if window is None else (window.left(), window.right())
            values = np.interp(columns + 0.5, xs[inside], self.curve[inside])
            for x, v in zip(columns, values):
                if lo - 0.5 <= x <= hi + 0.5:
                    c = table[int(round(float(v) * 255))]
                    painter.fillRect(QtCore.QRectF(float(x), strip.top(), 1.0, strip.height()), QtGui.QColor(*map(int, c)))
            path = QtGui.QPainterPath()
            for i, (x, v) in enumerate(zip(xs[inside], self.curve[inside])):
                point = QtCore.QPointF(float(x), area.bottom() - float(v) * area.height())
                path.lineTo(point) if i else path.moveTo(point)
            painter.setPen(QtGui.QPen(QtGui.QColor(255, 200, 40), 1.5))
            painter.drawPath(path)
        align_left = int(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter)
        if window is not None:
            painter.setPen(QtGui.QPen(QtGui.QColor(80, 200, 255), 1.5))
            painter.drawRect(window)
        painter.setPen(colour)
        for text, box in parts.titles:
            painter.drawText(box, align_left, text)
        for text, hz, box in parts.hz_labels:
            y = area.bottom() - float(spec.y_of(hz)) * area.height()
            painter.drawLine(QtCore.QPointF(area.left() - TICK, y), QtCore.QPointF(area.left(), y))
            painter.drawText(box, int(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter), text)
        for text, t, box in parts.time_labels:
            x = area.left() + float(spec.x_of(t)) * area.width()
            painter.drawLine(QtCore.QPointF(x, area.bottom()), QtCore.QPointF(x, area.bottom() + TICK))
            painter.drawText(box, int(QtCore.Qt.AlignmentFlag.AlignCenter), text)
        if self.play_at is not None:
            x = area.left() + float(spec.x_of(self.play_at)) * area.width()
            painter.setPen(QtGui.QPen(QtGui.QColor(80, 200, 255), 2))
            painter.drawLine(QtCore.QPointF(x, strip.top()), QtCore.QPointF(x, area.bottom()))
