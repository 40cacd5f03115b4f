"""The similarity matrix of one modality pair: a heatmap, sortable by label; a click selects both items."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.ui.widgets.elided import shortened

AXIS_TEXT_WIDTH = 44   # the most a label takes beside the rows (its axis grows with its widest label)
TICK_GAP = 4           # pixels kept clear between neighbouring labels


def fit_ticks(groups, px_per_cell: float, extent, most_width: float, width_of=None) -> list[tuple[float, str]]:
    """Tick labels for runs of cells [(start, end, name)], ``px_per_cell`` pixels per cell along the
    axis: the name at the run's centre if ``extent(text)`` (its size along the axis) fits the run's
    pixels, else its longest prefix that fits, with a ".", of at least 3 letters, else none.
    ``width_of(text)`` (across the axis) must stay within ``most_width`` (the left axis's room)."""
    ticks = []
    for start, end, name in groups:
        room = (end - start) * px_per_cell - TICK_GAP
        text = shortened(name, lambda t, r=room: extent(t) <= r and (width_of is None or width_of(t) <= most_width))
        if text:
            ticks.append(((start + end) / 2, text))
    return ticks


class QtSimilarityMatrix(QtWidgets.QWidget):
    """Rows are modality a's items, columns b's, in the same sample order (cosine similarity)."""

    def __init__(self, workspace, parent=None):
        super().__init__(parent)
        self.workspace = workspace
        self.data = None                      # a PairData (see qt_alignment)
        self.order = np.zeros(0, np.int64)    # display order: indices into data.shown
        self.sort_box = QtWidgets.QCheckBox("Sort by label")
        self.sort_box.setToolTip("Order the rows and columns by the samples' labels")
        self.sort_box.toggled.connect(lambda _: self.draw())
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.invertY(True)
        self.plot.setMinimumSize(180, 140)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(-1, 1), colorMap=pg.colormap.get("viridis"), width=10, interactive=False)
        self.bar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        self.marker = QtWidgets.QGraphicsRectItem(0, 0, 1, 1)
        self.marker.setPen(pg.mkPen((255, 60, 60), width=2, cosmetic=True))
        self.marker.setVisible(False)
        self.plot.addItem(self.marker)
        self.lines = []
        self.groups: list[tuple[int, int, str]] = []   # (first cell, end, label) of each label's run
        self.plot.getPlotItem().vb.sigResized.connect(self._fit_ticks)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.plot.scene().sigMouseMoved.connect(self._hover)
        head = QtWidgets.QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        title = QtWidgets.QLabel("<b>Similarity</b>")   # short: the column must fit a 1024-px window
        title.setToolTip("The cosine similarity of every pair of items (rows: the first modality)")
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self.sort_box)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addLayout(head)
        layout.addWidget(self.plot, 1)

    def set_pair(self, data) -> None:
        self.data = data
        self.draw()

    def draw(self) -> None:
        data = self.data
        for line in self.lines:
            self.plot.removeItem(line)
        self.lines = []
        self.marker.setVisible(False)
        if data is None or len(data.shown) == 0:
            self.image.clear()
            self.order = np.zeros(0, np.int64)
            return
        n = len(data.shown)
        labels = data.labels[data.shown]
        self.order = np.argsort(labels, kind="stable") if self.sort_box.isChecked() else np.arange(n)
        self.image.setImage(data.similarity[np.ix_(self.order, self.order)], levels=(-1, 1))
        self.image.setRect(QtCore.QRectF(0, 0, n, n))
        self.plot.setLabel("left", data.a)
        self.plot.setLabel("bottom", data.b + (f" ({data.shown_note})" if data.shown_note else ""))
        self.groups = []
        if self.sort_box.isChecked():
            ordered = labels[self.order]
            starts = [i for i in range(n) if i == 0 or ordered[i] != ordered[i - 1]]
            ends = starts[1:] + [n]
            self.groups = [(s, e, str(ordered[s])) for s, e in zip(starts, ends)]
            pen = pg.mkPen((255, 255, 255, 150), width=1)
            for start in starts[1:]:
                for angle in (0, 90):
                    line = pg.InfiniteLine(start, angle=angle, pen=pen)
                    self.plot.addItem(line)
                    self.lines.append(line)
        self.plot.setRange(xRange=(0, n), yRange=(0, n), padding=0.02)
        self._fit_ticks()

    def _fit_ticks(self) -> None:
        """The label groups' names on both axes, each within its own group's cells (so never over another):
        the whole name where it fits, else shortened ("squ."), else left out (the cells' tooltips name it)."""
        left, bottom = self.plot.getAxis("left"), self.plot.getAxis("bottom")
        if not self.groups:
            left.setTicks(None)
            bottom.setTicks(None)
            return
        vb = self.plot.getPlotItem().vb
        (x0, x1), (y0, y1) = vb.viewRange()
        px_x = vb.width() / max(x1 - x0, 1e-9)
        px_y = vb.height() / max(y1 - y0, 1e-9)
        metrics = QtGui.QFontMetrics(bottom.style.get("tickFont") or self.plot.font())
        bottom.setTicks([fit_ticks(self.groups, px_x, metrics.horizontalAdvance, 10_000)])
        left.setTicks([fit_ticks(self.groups, px_y, lambda _: metrics.height(), AXIS_TEXT_WIDTH,
                                 width_of=metrics.horizontalAdvance)])

    def cell_center(self, i: int, j: int) -> QtCore.QPointF:
        """Where the cell of displayed row i, column j sits, in scene coordinates."""
        return self.plot.plotItem.vb.mapViewToScene(QtCore.QPointF(j + 0.5, i + 0.5))

    def cell_at(self, scene_pos):
        """(row of a, row of b, similarity, i, j) of the cell under a scene position, or None."""
        data, vb = self.data, self.plot.plotItem.vb
        if data is None or not vb.sceneBoundingRect().contains(scene_pos):
            return None
        point = vb.mapSceneToView(scene_pos)
        i, j = int(np.floor(point.y())), int(np.floor(point.x()))
        if not (0 <= i < len(self.order) and 0 <= j < len(self.order)):
            return None
        pa, pb = data.shown[self.order[i]], data.shown[self.order[j]]
        return int(data.rows_a[pa]), int(data.rows_b[pb]), float(data.similarity[self.order[i], self.order[j]]), i, j

    def _clicked(self, event) -> None:
        if event.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        cell = self.cell_at(event.scenePos())
        if cell is not None:
            row_a, row_b, _, i, j = cell
            self.marker.setRect(QtCore.QRectF(j, i, 1, 1))
            self.marker.setVisible(True)
            self.workspace.select([row_a, row_b])
            event.accept()

    def _hover(self, scene_pos) -> None:
        cell = self.cell_at(scene_pos)
        if cell is None:
            self.plot.setToolTip("Click a cell to select both items")
            return
        row_a, row_b, sim, _, _ = cell
        table = self.workspace.table
        if table is None or max(row_a, row_b) >= len(table):
            return

        def name(row):
            label = table.label[row]
            return f"{table.modality[row]} {table.sample_id[row]}" + (f" ({label})" if label else "")

        self.plot.setToolTip(f"{name(row_a)} × {name(row_b)}: cosine {sim:.3f}")
