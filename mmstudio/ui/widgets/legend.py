"""Legends on a background, never over the data.

:func:`add_legend` gives a plot a legend with a light background that places itself, whenever the
data, the range or the plot's size change, in the first corner of the data area (top right, top
left, bottom right, bottom left) that holds no point of its curves, scatters and bars; when every
corner holds data, it moves outside, to a band above the data area that the plot makes room for,
its entries side by side. The map uses :func:`place` with its own points and no band (a map has
data everywhere; its least covered corner is taken).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore
from shiboken6 import isValid

BACKGROUND = (255, 255, 255, 225)
BORDER = (190, 190, 190)
MARGIN = 4               # pixels between the legend and the data area's edges
TOP_AXIS_ROW = 1         # the row of a PlotItem's layout above the view box (its top axis, hidden)
SAMPLES = 20_000         # at most this many points are looked at
MIN_DATA_HEIGHT = 60     # a band that would leave the data less than this is not made (the emptiest corner is)


def legend_html(entries) -> str:
    """A legend as a line of text, for a label beside a plot: [(name, (r, g, b), mark)] → coloured marks."""
    import html

    return " &nbsp; ".join(f"<span style='color:#{r:02x}{g:02x}{b:02x}'>{mark}</span>&nbsp;{html.escape(name)}"
                           for name, (r, g, b), mark in entries)


def add_legend(plot, **options) -> pg.LegendItem:
    """A legend for ``plot`` (a PlotWidget or PlotItem) that keeps off the data; ``options`` go to
    pyqtgraph's ``addLegend`` (``labelTextSize``…)."""
    item = plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot
    options.setdefault("labelTextColor", "#222")
    legend = item.addLegend(brush=pg.mkBrush(*BACKGROUND), pen=pg.mkPen(*BORDER), **options)
    keep_clear(item, legend)
    return legend


def keep_clear(plot_item, legend, points=None, outside: bool = True) -> None:
    """Place ``legend`` now and each time the plot changes. ``points()``: the data's scene coordinates
    (N×2), by default those of the view box's items."""
    vb = plot_item.vb
    timer = QtCore.QTimer(legend)
    timer.setSingleShot(True)
    timer.setInterval(0)
    watched: set[int] = set()
    placed_with: list = [None]    # the entries the legend had when it was last placed

    def again(*_):
        timer.start()

    def entries() -> tuple:
        return tuple((id(sample), label.text) for sample, label in legend.items)

    def entries_changed(*_):
        # placing the legend changes its geometry too (its corner, its columns in or out of the band):
        # only new or renamed entries call for placing it again, or it is placed on every turn of
        # the event loop, forever (100 % of a core in an idle window)
        if isValid(legend) and entries() != placed_with[0]:
            again()

    def run():
        if not (isValid(legend) and isValid(plot_item.layout) and isValid(vb)) or legend.scene() is None:
            return   # the plot is being taken down
        for item in vb.addedItems:   # curves added since: follow their changes too
            signal = getattr(item, "sigPlotChanged", None)
            if signal is not None and id(item) not in watched:
                watched.add(id(item))
                signal.connect(again)
        placed_with[0] = entries()
        place(plot_item, legend, points() if points is not None else data_points(vb), outside)

    timer.timeout.connect(run)
    vb.sigRangeChanged.connect(again)
    vb.sigResized.connect(again)
    legend.geometryChanged.connect(entries_changed)   # entries added or renamed
    legend._keep_clear = run       # for the code that fills it: legend._keep_clear() places it at once
    again()


def corners(area: QtCore.QRectF, width: float, height: float) -> list[QtCore.QRectF]:
    """The legend's rectangle in each corner of ``area``: top right, top left, bottom right, bottom left."""
    right, left = area.right() - MARGIN - width, area.left() + MARGIN
    top, bottom = area.top() + MARGIN, area.bottom() - MARGIN - height
    return [QtCore.QRectF(x, y, width, height) for x, y in ((right, top), (left, top), (right, bottom), (left, bottom))]


def covered(rect: QtCore.QRectF, points: np.ndarray) -> int:
    if len(points) == 0:
        return 0
    inside = (points[:, 0] >= rect.left()) & (points[:, 0] <= rect.right()) & (points[:, 1] >= rect.top()) \
        & (points[:, 1] <= rect.bottom())
    return int(inside.sum())


def place(plot_item, legend, points: np.ndarray, outside: bool = True) -> None:
    """Put ``legend`` in the first corner of ``plot_item``'s data area that covers none of ``points``
    (scene coordinates); else above the data area (``outside``) or in the least covered corner."""
    vb = plot_item.vb
    if not legend.items:
        legend.setVisible(False)
        return
    legend.setVisible(True)
    layout = plot_item.layout
    band = layout.rowMinimumHeight(TOP_AXIS_ROW) if getattr(legend, "_outside", False) else 0
    area = vb.sceneBoundingRect()
    if band:   # the data area as it will be once the band is given back
        area = QtCore.QRectF(area.left(), area.top() - band, area.width(), area.height() + band)
    if getattr(legend, "_outside", False):
        legend.setColumnCount(1)
    size = legend.boundingRect()
    options = corners(area, size.width(), size.height())
    counts = [covered(rect, points) for rect in options]
    free = next((i for i, n in enumerate(counts) if n == 0), None)
    if free is None and outside and area.height() - size.height() >= MIN_DATA_HEIGHT:
        _above(plot_item, legend)
        return
    pick = free if free is not None else int(np.argmin(counts))
    legend._outside = False
    layout.setRowMinimumHeight(TOP_AXIS_ROW, 0)
    legend.setParentItem(vb)
    anchor = [((1, 0), (1, 0), (-MARGIN, MARGIN)), ((0, 0), (0, 0), (MARGIN, MARGIN)),
              ((1, 1), (1, 1), (-MARGIN, -MARGIN)), ((0, 1), (0, 1), (MARGIN, -MARGIN))][pick]
    legend.anchor(*anchor)


def _above(plot_item, legend) -> None:
    """The legend in a band of its own above the data area, its entries side by side as room allows."""
    vb = plot_item.vb
    widest = max((sample.boundingRect().width() + label.boundingRect().width() + 10 for sample, label in legend.items),
                 default=1)
    legend.setColumnCount(max(1, min(len(legend.items), int(vb.width() // max(widest, 1)))))
    legend._outside = True
    height = legend.boundingRect().height()
    plot_item.layout.setRowMinimumHeight(TOP_AXIS_ROW, height + 2)
    legend.setParentItem(vb)
    legend.anchor((0, 1), (0, 0), (0, -1))


def to_scene(vb, xy: np.ndarray) -> np.ndarray:
    """View coordinates (N×2) → scene coordinates, at most ``SAMPLES`` of them (an even subsample)."""
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) > SAMPLES:
        xy = xy[:: len(xy) // SAMPLES + 1]
    t = vb.childGroup.sceneTransform()
    return np.column_stack([t.m11() * xy[:, 0] + t.m21() * xy[:, 1] + t.dx(),
                            t.m12() * xy[:, 0] + t.m22() * xy[:, 1] + t.dy()])


def data_points(vb) -> np.ndarray:
    """Scene coordinates of what ``vb`` draws: points, curves (and along their segments), bars' corners."""
    parts = []
    for item in vb.addedItems:
        if not item.isVisible():
            continue
        if isinstance(item, pg.TextItem):   # a value written on the plot is data too
            if item.textItem.toPlainText():
                box = item.sceneBoundingRect()
                parts.append(np.array([[box.left(), box.top()], [box.right(), box.top()], [box.left(), box.bottom()],
                                       [box.right(), box.bottom()], [box.center().x(), box.center().y()]]))
            continue
        xy = _item_points(item)
        if xy is not None and len(xy):
            parts.append(to_scene(vb, xy))
    return np.concatenate(parts) if parts else np.zeros((0, 2))


def _item_points(item) -> np.ndarray | None:
    """An item's data in view coordinates (curves densified: a legend over a segment covers the curve)."""
    if isinstance(item, pg.PlotDataItem):
        x, y = item.getData()
        if x is None or len(x) == 0:
            return None
        xy = np.column_stack([x, y]).astype(float)
        if item.opts.get("logMode", (False, False))[1]:
            xy[:, 1] = np.log10(np.clip(xy[:, 1], 1e-300, None))
        if item.opts.get("logMode", (False, False))[0]:
            xy[:, 0] = np.log10(np.clip(xy[:, 0], 1e-300, None))
        return _along(xy) if item.opts.get("pen") is not None else xy
    if isinstance(item, pg.PlotCurveItem):
        if item.xData is None or len(item.xData) == 0:
            return None
        return _along(np.column_stack([item.xData, item.yData]).astype(float))
    if isinstance(item, pg.ScatterPlotItem):
        data = item.data
        return np.column_stack([data["x"], data["y"]]).astype(float) if len(data) else None
    if isinstance(item, pg.BarGraphItem):
        rect = item.boundingRect()
        if not rect.isValid():
            return None
        gx, gy = np.meshgrid(np.linspace(rect.left(), rect.right(), 16), np.linspace(rect.top(), rect.bottom(), 16))
        points = np.column_stack([gx.ravel(), gy.ravel()])
        inside = [item.shape().contains(QtCore.QPointF(px, py)) for px, py in points]
        return points[np.asarray(inside, bool)] if any(inside) else None
    return None


def _along(xy: np.ndarray, steps: int = 8) -> np.ndarray:
    if len(xy) < 2:
        return xy
    t = np.linspace(0, 1, steps + 1)[:, None, None]
    return (xy[:-1] * (1 - t) + xy[1:] * t).reshape(-1, 2)
