"""A pyqtgraph item that draws up to millions of points and stays interactive on the CPU.

Zoomed out, the visible points are rasterised with numpy into one image the size of the view
(each point a 2×2 dot in its colour, last one on top, alpha growing with the number of points
per pixel), drawn in one call. When few points are in view (``marker_limit``), they are drawn
as real markers instead — circle for images, square for sounds, triangle for texts — also in
one call: every marker style (shape × colour × emphasis) is drawn once into an atlas pixmap,
and the points are ``drawPixmapFragments`` of it, in z-order. A frame makes a handful of Qt
calls whatever the number of points (each Python→Qt call costs, and PySide6 6.12.0 on Python
3.11 even lost a reference to None per call). Picking (hover, click, lasso) goes through a
k-d tree, never through a scan of every point.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import internals
from PySide6 import QtCore, QtGui

from mmstudio.ui import colors
from mmstudio.ui.guard import guarded

MARKERS = ("o", "s", "t", "star")   # circle, square, triangle, star (the query)
EMPHASIS_NONE, EMPHASIS_NEIGHBOUR, EMPHASIS_SELECTED = 0, 1, 2
EMPHASES = (EMPHASIS_NONE, EMPHASIS_NEIGHBOUR, EMPHASIS_SELECTED)
SCALE = {EMPHASIS_NONE: 1.0, EMPHASIS_NEIGHBOUR: 1.4, EMPHASIS_SELECTED: 1.8}
PEN_WIDTH = {EMPHASIS_NONE: 1.0, EMPHASIS_NEIGHBOUR: 2.0, EMPHASIS_SELECTED: 3.0}
MAX_STYLES = 512   # distinct (shape, colour) pairs in the atlas; more colours are rounded to fewer


def pack_rgba(rgb: np.ndarray, alpha: int = 255) -> np.ndarray:
    """(N, 3) uint8 → (N,) uint32 in the byte order of QImage.Format_RGBA8888 on this machine."""
    rgba = np.empty((len(rgb), 4), np.uint8)
    rgba[:, :3] = rgb
    rgba[:, 3] = alpha
    return rgba.view(np.uint32).reshape(-1)


class PointCloudItem(pg.GraphicsObject):
    def __init__(self, marker_limit: int = 10_000, marker_size: float = 9.0):
        super().__init__()
        self.marker_limit = marker_limit
        self.marker_size = marker_size
        self.xy = np.zeros((0, 2), np.float32)
        self.colors = np.zeros(0, np.uint32)
        self.rgb = np.zeros((0, 3), np.uint8)
        self.shapes = np.zeros(0, np.int8)
        self.visible = np.zeros(0, bool)
        self.emphasis = np.zeros(0, np.uint8)
        self._bounds = QtCore.QRectF()
        self._extent = (np.zeros(2), np.zeros(2))
        self._tree = None
        self._atlas_keys = np.zeros(0, np.int64)  # the (shape, colour) styles the atlas holds, sorted
        self._atlas: tuple | None = None       # (pixmap, source rects (S, 3, 4), device pixel ratio)
        self._fragments = internals.PrimitiveArray(QtGui.QPainter.PixmapFragment, 10)
        self.selection_color = QtGui.QColor(20, 20, 20)   # set to white on a dark background
        self.last_mode = ""          # "raster" or "markers": what the last paint did (for tests)
        self.last_drawn = 0

    # ------------------------------------------------------------------ data
    def set_points(self, xy: np.ndarray, rgb: np.ndarray, shapes: np.ndarray) -> None:
        self.prepareGeometryChange()
        self.xy = np.ascontiguousarray(xy, np.float32)
        self.shapes = np.asarray(shapes, np.int8)
        self.visible = np.ones(len(self.xy), bool)
        self.emphasis = np.zeros(len(self.xy), np.uint8)
        self._tree = None
        self._set_bounds()
        self.set_colors(rgb)

    def set_xy(self, xy: np.ndarray) -> None:
        """New positions for the same points (an animation frame, a new projection); new points
        (another length) come through :meth:`set_points`, with their colours and shapes."""
        xy = np.ascontiguousarray(xy, np.float32)
        if xy.shape != self.xy.shape:
            raise ValueError(f"set_xy: {len(xy)} positions for {len(self.xy)} points (use set_points)")
        self.prepareGeometryChange()
        self.xy = xy
        self._tree = None
        self._set_bounds()
        self.update()

    def set_colors(self, rgb: np.ndarray) -> None:
        self.rgb = np.asarray(rgb, np.uint8).reshape(-1, 3)
        self.colors = pack_rgba(self.rgb)
        self.update()

    def set_selection_color(self, color: QtGui.QColor) -> None:
        self.selection_color = QtGui.QColor(color)
        self._atlas = None
        self.update()

    def set_visible(self, mask: np.ndarray) -> None:
        self.visible = np.asarray(mask, bool)
        self.update()

    def set_emphasis(self, selected=(), neighbours=()) -> None:
        self.emphasis = np.zeros(len(self.xy), np.uint8)
        self.emphasis[np.asarray(list(neighbours), dtype=np.int64)] = EMPHASIS_NEIGHBOUR
        self.emphasis[np.asarray(list(selected), dtype=np.int64)] = EMPHASIS_SELECTED
        self.update()

    def _set_bounds(self) -> None:
        if len(self.xy) == 0:
            self._bounds = QtCore.QRectF()
            return
        # column by column (a reduction over axis 0 of an (N, 2) array is ~17× slower: 75 vs 4 ms at a
        # million rows, on the GUI thread); a NaN makes min/max NaN, and only then the NaN-aware pass
        lo = np.array([self.xy[:, 0].min(), self.xy[:, 1].min()])
        hi = np.array([self.xy[:, 0].max(), self.xy[:, 1].max()])
        if np.isnan(lo).any() or np.isnan(hi).any():
            lo, hi = np.nanmin(self.xy, axis=0), np.nanmax(self.xy, axis=0)
        self._extent = (lo, hi)
        span = np.maximum(hi - lo, 1e-6)
        self._bounds = QtCore.QRectF(float(lo[0] - 0.02 * span[0]), float(lo[1] - 0.02 * span[1]),
                                     float(span[0] * 1.04), float(span[1] * 1.04))

    # ------------------------------------------------------------------ picking
    @property
    def tree(self):
        if self._tree is None and len(self.xy):
            from scipy.spatial import cKDTree

            self._tree = cKDTree(self.xy)
        return self._tree

    def nearest(self, x: float, y: float, radius: float) -> int | None:
        """The visible point nearest to (x, y) within ``radius`` (data units), or None."""
        if self.tree is None:
            return None
        k = min(8, len(self.xy))
        dist, idx = self.tree.query([x, y], k=k, distance_upper_bound=radius)
        for d, i in zip(np.atleast_1d(dist), np.atleast_1d(idx)):
            if np.isfinite(d) and i < len(self.xy) and self.visible[i]:
                return int(i)
        return None

    def in_rect(self, rect: QtCore.QRectF) -> np.ndarray:
        x, y = self.xy[:, 0], self.xy[:, 1]
        mask = (x >= rect.left()) & (x <= rect.right()) & (y >= rect.top()) & (y <= rect.bottom())
        return np.flatnonzero(mask & self.visible)

    def in_polygon(self, polygon: np.ndarray) -> np.ndarray:
        """Indices of the visible points inside a closed polygon (V × 2, data units): ray casting,
        vectorised over the points inside its bounding box."""
        polygon = np.asarray(polygon, np.float64)
        lo, hi = polygon.min(axis=0), polygon.max(axis=0)
        x, y = self.xy[:, 0], self.xy[:, 1]
        candidates = np.flatnonzero((x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1]) & self.visible)
        px, py = x[candidates].astype(np.float64), y[candidates].astype(np.float64)
        inside = np.zeros(len(candidates), bool)
        x0, y0 = polygon[:, 0], polygon[:, 1]
        x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
        for ax, ay, bx, by in zip(x0, y0, x1, y1):
            crosses = (ay > py) != (by > py)
            with np.errstate(divide="ignore", invalid="ignore"):
                at = ax + (py - ay) * (bx - ax) / (by - ay)
            inside ^= crosses & (px < at)
        return candidates[inside]

    # ------------------------------------------------------------------ pyqtgraph protocol
    @guarded(QtCore.QRectF)
    def boundingRect(self) -> QtCore.QRectF:
        return self._bounds

    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        if len(self.xy) == 0:
            return None, None
        lo, hi = self._extent           # from _set_bounds: no second pass over the points
        return float(lo[ax]), float(hi[ax])

    @guarded(None)
    def paint(self, painter: QtGui.QPainter, option, widget=None) -> None:
        if len(self.xy) == 0:
            return
        # logical coordinates of the viewport: what the painter maps to after resetTransform(),
        # also when the widget is rendered into a bigger pixmap (window.grab()) at an offset
        target = widget if widget is not None else painter.device()
        width, height = target.width(), target.height()
        t = painter.worldTransform()
        px = self.xy[:, 0] * np.float32(t.m11()) + np.float32(t.m31())
        py = self.xy[:, 1] * np.float32(t.m22()) + np.float32(t.m32())
        inside = (px >= 0) & (px < width - 1) & (py >= 0) & (py < height - 1) & self.visible
        index = np.flatnonzero(inside)
        dpr = float(target.devicePixelRatioF()) if hasattr(target, "devicePixelRatioF") else 1.0
        painter.save()
        try:
            painter.resetTransform()
            self.last_drawn = len(index)
            if len(index) <= self.marker_limit:
                self.last_mode = "markers"
                order = index[np.argsort(self.emphasis[index], kind="stable")]  # emphasised points on top
                self._draw_markers(painter, order, px, py, dpr)
            else:
                self.last_mode = "raster"
                self._draw_raster(painter, index, px, py, width, height)
                special = index[self.emphasis[index] > 0]
                self._draw_markers(painter, special[np.argsort(self.emphasis[special], kind="stable")], px, py, dpr)
        finally:
            painter.restore()

    def _draw_raster(self, painter, index, px, py, width, height) -> None:
        flat = py[index].astype(np.int32) * width + px[index].astype(np.int32)
        image = np.zeros((height, width), np.uint32)
        image.reshape(-1)[flat] = self.colors[index]          # last point wins; 0 = transparent
        for dy, dx in ((0, 1), (1, 0), (1, 1)):               # grow each point into a 2×2 dot
            np.copyto(image[dy:, dx:], image[: height - dy, : width - dx], where=image[dy:, dx:] == 0)
        qimage = pg.functions.ndarray_to_qimage(image.view(np.uint8).reshape(height, width, 4),
                                                QtGui.QImage.Format.Format_RGBA8888)
        painter.drawImage(0, 0, qimage)

    def _atlas_for(self, keys: np.ndarray, dpr: float) -> tuple:
        """The (shape, colour) styles of ``keys`` at every emphasis, drawn once into one pixmap; kept
        while the styles drawn are among those it holds (rebuilt for new ones, a new marker size,
        selection colour or screen pixel ratio)."""
        held = self._atlas_keys
        if self._atlas is not None and self._atlas[2] == dpr and np.isin(keys, held).all():
            return self._atlas
        union = np.union1d(held, keys) if self._atlas is not None and self._atlas[2] == dpr else keys
        keys = self._atlas_keys = union if len(union) <= 2 * MAX_STYLES else keys
        # each marker's square: the marker, its outline and a pixel of air (device pixels); cells are 1 px apart
        widths = {e: np.ceil((self.marker_size * SCALE[e] + 2 * PEN_WIDTH[e] + 2) * dpr) for e in EMPHASES}
        side = int(max(widths.values())) + 1
        columns = max(1, int(np.ceil(np.sqrt(len(keys) * len(EMPHASES)))))
        rows = max(1, int(np.ceil(len(keys) * len(EMPHASES) / columns)))
        pixmap = QtGui.QPixmap(columns * side, rows * side)
        pixmap.fill(QtCore.Qt.GlobalColor.transparent)
        rects = np.zeros((len(keys), len(EMPHASES), 4), np.float64)
        outline = {EMPHASIS_NONE: QtGui.QColor(0, 0, 0, 90), EMPHASIS_NEIGHBOUR: QtGui.QColor(*colors.NEIGHBOUR_OUTLINE),
                   EMPHASIS_SELECTED: self.selection_color}
        pens = {e: QtGui.QPen(outline[e], PEN_WIDTH[e] * dpr) for e in EMPHASES}
        painter = QtGui.QPainter(pixmap)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        for s_, key in enumerate(keys.tolist()):
            shape, rgb = key >> 24, ((key >> 16) & 255, (key >> 8) & 255, key & 255)
            painter.setBrush(QtGui.QColor(*rgb))
            for e in EMPHASES:
                n = s_ * len(EMPHASES) + e
                x0, y0 = (n % columns) * side, (n // columns) * side
                size, w = self.marker_size * SCALE[e], widths[e]
                painter.setPen(pens[e])
                painter.drawPath(marker_path(shape, x0 + w / 2, y0 + w / 2, size * dpr / 2))
                rects[s_, e] = (x0, y0, w, w)
        painter.end()
        self._atlas = (pixmap, rects, dpr)
        return self._atlas

    def _draw_markers(self, painter, order, px, py, dpr: float = 1.0) -> None:
        """The points of ``order`` (last on top) as fragments of the style atlas: one Qt call. Styles
        are worked out for the drawn points only (at most ``marker_limit``), never for the whole table."""
        if len(order) == 0:
            return
        keys, index = marker_styles(self.shapes[order], self.rgb[order])
        pixmap, rects, dpr = self._atlas_for(keys, dpr)
        cell = np.searchsorted(self._atlas_keys, keys)[index]
        self._fragments.resize(len(order))
        frags = self._fragments.ndarray()
        frags[:, 0] = px[order]
        frags[:, 1] = py[order]
        frags[:, 2:6] = rects[cell, self.emphasis[order]]
        frags[:, 6:10] = (1 / dpr, 1 / dpr, 0.0, 1.0)        # scale x, scale y, rotation, opacity
        painter.drawPixmapFragments(*self._fragments.drawargs(), pixmap)


def marker_styles(shapes: np.ndarray, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (shape, colour) pairs as keys ``shape << 24 | r << 16 | g << 8 | b``, and each
    point's index among them. Beyond MAX_STYLES pairs (a continuous colour scale) colours are
    rounded to fewer levels, which the eye does not tell apart at marker size."""
    shapes = np.asarray(shapes, np.int64)
    rgb = np.asarray(rgb, np.int64).reshape(-1, 3)
    for mask in (0xFF, 0xF8, 0xF0, 0xE0, 0xC0):
        q = rgb & mask
        keys = shapes << 24 | q[:, 0] << 16 | q[:, 1] << 8 | q[:, 2]
        unique, index = np.unique(keys, return_inverse=True)
        if len(unique) <= MAX_STYLES:
            break
    return unique, index.astype(np.int32).reshape(-1)


def marker_path(shape: int, cx: float, cy: float, r: float) -> QtGui.QPainterPath:
    path = QtGui.QPainterPath()
    if shape == 0:
        path.addEllipse(QtCore.QPointF(cx, cy), r, r)
    elif shape == 1:
        path.addRect(QtCore.QRectF(cx - r * 0.85, cy - r * 0.85, 1.7 * r, 1.7 * r))
    elif shape == 2:
        path.moveTo(cx, cy - r)
        path.lineTo(cx + r, cy + r * 0.8)
        path.lineTo(cx - r, cy + r * 0.8)
        path.closeSubpath()
    else:
        angles = np.pi / 2 + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
        path.moveTo(cx + radii[0] * np.cos(angles[0]), cy - radii[0] * np.sin(angles[0]))
        for a, q in zip(angles[1:], radii[1:]):
            path.lineTo(cx + q * np.cos(a), cy - q * np.sin(a))
        path.closeSubpath()
    return path
