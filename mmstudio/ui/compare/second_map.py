"""The second map of a comparison (B), beside the window's map (A): the matched items laid out by B's
vectors, drawn by the same point cloud, selection box and colour bar as the map, with a title row.

It holds no table: the comparison (``window.py``) gives it the points, the colours and the visibility
of their partners in A, and turns its picks and hovers into A's rows.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.ui.guard import guarded
from mmstudio.ui.map.colour_bar import ColourBarItem
from mmstudio.ui.map.framing import auto_button_frames, frame_clear_of_bar
from mmstudio.ui.map.point_cloud import PointCloudItem
from mmstudio.ui.map.view import SelectViewBox
from mmstudio.ui.thumbnail_loader import shared as shared_thumbnails
from mmstudio.ui.widgets.elided import QtElidedLabel

PARTNER_PEN = (255, 140, 0)   # the ring around the item hovered in the other map
PICK_PIXELS = 7.0


def titled(title: str, widget: QtWidgets.QWidget, button: QtWidgets.QAbstractButton | None = None):
    """``widget`` under a one-line bold title (and a button at its right); returns (column, title label)."""
    column = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(column)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    row = QtWidgets.QHBoxLayout()
    row.setContentsMargins(6, 2, 4, 2)
    label = QtElidedLabel(title)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    row.addWidget(label, 1)
    if button is not None:
        row.addWidget(button)
    layout.addLayout(row)
    layout.addWidget(widget, 1)
    return column, label


def partner_ring() -> pg.ScatterPlotItem:
    ring = pg.ScatterPlotItem(symbol="o", size=24, brush=None, pen=pg.mkPen(*PARTNER_PEN, width=3))
    ring.setZValue(1e8)
    return ring


class QtSecondMap(QtWidgets.QWidget):
    picked = QtCore.Signal(object, bool)   # positions among the matched items, and whether they add (Shift)
    hovered = QtCore.Signal(object)        # the position under the mouse, or None
    closeRequested = QtCore.Signal()

    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        self.viewbox = SelectViewBox()
        self.viewbox.setAspectLocked(True)
        self.viewbox.selected.connect(self._select_polygon)
        self.plot = pg.PlotWidget(viewBox=self.viewbox)
        auto_button_frames(self.plot.getPlotItem(), self.frame_points)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.cloud = PointCloudItem()
        if self.palette().color(QtGui.QPalette.ColorRole.Window).lightness() < 128:
            self.cloud.set_selection_color(QtGui.QColor(250, 250, 250))
        self.partner = partner_ring()
        self.plot.addItem(self.cloud)
        self.plot.addItem(self.partner)
        self.colour_bar = ColourBarItem()
        self.colour_bar.setParentItem(self.viewbox)
        self.close_button = QtWidgets.QToolButton()
        self.close_button.setText("Close")
        self.close_button.setToolTip("Close the comparison: the window's map alone again")
        self.close_button.clicked.connect(self.closeRequested)
        column, self.title = titled(title, self.plot, self.close_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(column, 1)
        self.tooltip_for = None       # position → the tooltip's HTML (the comparison sets it)
        self.hovered_at: int | None = None
        self._tip_at = QtCore.QPoint()
        self._watching_pictures = False
        self.plot.scene().sigMouseMoved.connect(self._hover)
        self.plot.scene().sigMouseClicked.connect(self._click)
        self.plot.viewport().installEventFilter(self)

    @guarded(False)
    def eventFilter(self, watched, event) -> bool:
        """The graphics scene hides a point's tooltip at Qt's tooltip event (none of its items has one):
        while the mouse is on a point the event is ours, as on the window's map."""
        if event.type() == QtCore.QEvent.Type.ToolTip and self.hovered_at is not None:
            return True
        if event.type() == QtCore.QEvent.Type.Leave and self.hovered_at is not None:   # no ring left behind
            self.hovered_at = None
            self.hovered.emit(None)
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------------ what it draws
    def set_points(self, xy: np.ndarray, rgb: np.ndarray, shapes: np.ndarray) -> None:
        self.cloud.set_points(xy, rgb, shapes)
        self.frame_points()

    def set_colours(self, rgb: np.ndarray, scale) -> None:
        if len(rgb) == len(self.cloud.xy):
            self.cloud.set_colors(rgb)
        shown = self.colour_bar.scale is not None
        self.colour_bar.show_scale(scale)
        if shown != (scale is not None):
            self.frame_points()

    def frame_points(self) -> None:
        """Every point in sight, and none under the colour bar when it is shown (a second map is narrow:
        the bar would cover a good part of it)."""
        frame_clear_of_bar(self.viewbox, self.cloud.xy, self.colour_bar)

    def set_visible(self, mask: np.ndarray) -> None:
        if len(mask) == len(self.cloud.xy):
            self.cloud.set_visible(mask)

    def set_selected(self, positions: np.ndarray) -> None:
        if len(self.cloud.xy):
            self.cloud.set_emphasis(selected=positions)

    def show_partner(self, position: int | None) -> None:
        """A ring around the item at ``position`` (the one hovered in the other map), or none."""
        if position is None or position >= len(self.cloud.xy) or not self.cloud.visible[position]:
            self.partner.setData([], [])
            return
        x, y = self.cloud.xy[position]
        self.partner.setData([float(x)], [float(y)])

    # ------------------------------------------------------------------ picking
    def _at(self, scene_pos) -> int | None:
        point = self.viewbox.mapSceneToView(scene_pos)
        px = self.viewbox.viewPixelSize()
        return self.cloud.nearest(point.x(), point.y(), PICK_PIXELS * max(px[0], px[1]))

    def _hover(self, scene_pos) -> None:
        inside = self.plot.sceneBoundingRect().contains(scene_pos)
        position = self._at(scene_pos) if inside else None
        if position == self.hovered_at:
            return
        self.hovered_at = position
        self.hovered.emit(position)
        if position is None or self.tooltip_for is None:
            QtWidgets.QToolTip.hideText()
            return
        self._tip_at = self.plot.mapToGlobal(self.plot.mapFromScene(scene_pos))
        if not self._watching_pictures:   # a picture decoded off the GUI thread: the tooltip shows it when it comes
            shared_thumbnails().ready.connect(self._picture_ready)
            self._watching_pictures = True
        QtWidgets.QToolTip.showText(self._tip_at, self.tooltip_for(position), self.plot)

    def _picture_ready(self, _key) -> None:
        if self.hovered_at is None or self.tooltip_for is None or not QtWidgets.QToolTip.isVisible():
            return
        text = self.tooltip_for(self.hovered_at)
        if text != QtWidgets.QToolTip.text():
            QtWidgets.QToolTip.showText(self._tip_at, text, self.plot)

    def _click(self, event) -> None:
        if event.button() != QtCore.Qt.MouseButton.LeftButton or len(self.cloud.xy) == 0:
            return
        position = self._at(event.scenePos())
        add = bool(event.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier)
        if position is None and add:
            return
        self.picked.emit(np.array([] if position is None else [position], np.int64), add)

    def _select_polygon(self, polygon, add: bool) -> None:
        self.picked.emit(self.cloud.in_polygon(polygon), add)
