"""A pyqtgraph item that draws up to millions of points and stays interactive on the CPU.

Zoomed out, the visible points are rasterised with numpy into one image the size of the view
(each point a 2×2 dot in its colour, last one on top, alpha growing with the number of points
per pixel), drawn in one call. When few points are in view (``marker_limit``), they are drawn
as real markers instead — circle for images, square for sounds, triangle for texts — also in
one call: every marker style (shape × colour × emphasis) is drawn once into an atlas pixmap,
and the points are ``drawPixmapFragments`` of it, in z-order. A frame makes a handful of Qt
calls whatever the number of points (each Python→Qt call costs, and PySide6 6.12.0 on Python
3.11 even lost a reference to None per call). A frame (:mod:`mmstudio.ui.map.frames`) is kept and
drawn again while neither the points nor the view changed (a tooltip, a box being dragged, a legend
repaint the map above them); the selection and its neighbours are drawn over it, so a new selection
draws only them. A large cloud's frames are computed on a thread: while one is computed the map
shows the last, moved and scaled to the view. Picking (hover, click) asks a k-d tree built on a
thread after the points moved; until it is there, the points in a square around the mouse (a few
vectorised comparisons: a million points in a few milliseconds) — never an index built on the GUI
thread. Rows without a position (NaN: not placed yet) are neither drawn nor picked.
"""

from __future__ import annotations

import threading

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import internals
from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.ui import colors
from mmstudio.ui.guard import guarded
from mmstudio.ui.map.frames import ASYNC_POINTS, Frame, Renderer, View, compute, dots, pixels

MARKERS = ("o", "s", "t", "star")   # circle, square, triangle, star (the query)
EMPHASIS_NONE, EMPHASIS_NEIGHBOUR, EMPHASIS_SELECTED = 0, 1, 2
EMPHASES = (EMPHASIS_NONE, EMPHASIS_NEIGHBOUR, EMPHASIS_SELECTED)
SCALE = {EMPHASIS_NONE: 1.0, EMPHASIS_NEIGHBOUR: 1.4, EMPHASIS_SELECTED: 1.8}
PEN_WIDTH = {EMPHASIS_NONE: 1.0, EMPHASIS_NEIGHBOUR: 2.0, EMPHASIS_SELECTED: 3.0}
MAX_STYLES = 512   # distinct (shape, colour) pairs in the atlas; more colours are rounded to fewer
TREE_POINTS = 200_000      # a larger cloud is picked through a k-d tree (built on a thread)
EMPHASIS_MARKERS = 1_000   # more selected points in view are dots of the selection colour, not large markers
SELECTION_ALPHA = 170      # those dots' opacity: the points' own colours show through


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
        self._x = self._y = np.zeros(0, np.float32)
        self.colors = np.zeros(0, np.uint32)
        self.rgb = np.zeros((0, 3), np.uint8)
        self.shapes = np.zeros(0, np.int8)
        self.visible = np.zeros(0, bool)
        self.emphasis = np.zeros(0, np.uint8)
        self._bounds = QtCore.QRectF()
        self._extent = (np.zeros(2), np.zeros(2))
        self._tree = None                      # (xy, rows, k-d tree): picking on a large cloud
        self._tree_for = None                  # the xy a tree is being built for
        self._version = 0                      # counts the changes of what a frame draws (its key)
        self._frame: Frame | None = None       # the last frame drawn (its QImage in _qimage), without the emphasis
        self._emphasis_version = 0
        self._overlay = None                   # what the emphasis draws over it, for (version, emphasis, view)
        self._qimage = None
        self._renderer = Renderer()            # a large cloud's frames, on a thread
        self._poll = QtCore.QTimer(self)       # while one is computed: is it done?
        self._poll.setInterval(15)
        self._poll.timeout.connect(self._frame_done)
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
        self._columns()
        self.shapes = np.asarray(shapes, np.int8)
        self.visible = np.ones(len(self.xy), bool)
        self.emphasis = np.zeros(len(self.xy), np.uint8)
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
        self._columns()
        self._set_bounds()
        self.changed()

    def set_colors(self, rgb: np.ndarray) -> None:
        self.rgb = np.asarray(rgb, np.uint8).reshape(-1, 3)
        words = colors.packed(self.rgb)      # colours made by colors.lookup come packed already
        self.colors = words if words is not None else pack_rgba(self.rgb)
        self.changed()

    def set_selection_color(self, color: QtGui.QColor) -> None:
        self.selection_color = QtGui.QColor(color)
        self._atlas = None
        self._overlay = None
        self.changed()

    def set_visible(self, mask: np.ndarray) -> None:
        self.visible = np.asarray(mask, bool)
        self.changed()

    def set_emphasis(self, selected=(), neighbours=()) -> None:
        """Outline these rows (drawn as markers over the raster, which stays as it is)."""
        self.emphasis = np.zeros(len(self.xy), np.uint8)
        self.emphasis[_rows(neighbours)] = EMPHASIS_NEIGHBOUR
        self.emphasis[_rows(selected)] = EMPHASIS_SELECTED
        self._emphasis_version += 1
        self.update()

    def changed(self) -> None:
        """Something a frame draws changed: the next paint computes a new one (until then, a large cloud shows
        the last one)."""
        self._version += 1
        self.update()

    def _columns(self) -> None:
        """x and y as contiguous arrays: a frame reads them whole (a column of the (N, 2) array is strided)."""
        self._x, self._y = np.ascontiguousarray(self.xy[:, 0]), np.ascontiguousarray(self.xy[:, 1])

    def _set_bounds(self) -> None:
        if len(self.xy) == 0:
            self._bounds = QtCore.QRectF()
            return
        # column by column (a reduction over axis 0 of an (N, 2) array is ~17× slower: 75 vs 4 ms at a
        # million rows, on the GUI thread); a NaN makes min/max NaN, and only then the NaN-aware pass
        lo = np.array([self._x.min(), self._y.min()])
        hi = np.array([self._x.max(), self._y.max()])
        if np.isnan(lo).any() or np.isnan(hi).any():
            lo, hi = np.nanmin(self.xy, axis=0), np.nanmax(self.xy, axis=0)
        self._extent = (lo, hi)
        span = np.maximum(hi - lo, 1e-6)
        self._bounds = QtCore.QRectF(float(lo[0] - 0.02 * span[0]), float(lo[1] - 0.02 * span[1]),
                                     float(span[0] * 1.04), float(span[1] * 1.04))

    # ------------------------------------------------------------------ picking
    def nearest(self, x: float, y: float, radius: float) -> int | None:
        """The visible point nearest to (x, y) within ``radius`` (data units), or None (the earlier row on a
        tie). A large cloud asks a k-d tree, built on a thread after the points moved (~1 s at a million,
        outside the GIL); until it is there, and for a small cloud, the points in the square around (x, y)."""
        if len(self.xy) == 0 or not radius > 0:
            return None
        held = self._picking_tree() if len(self.xy) > TREE_POINTS else None
        if held is not None:
            rows, tree = held
            k = min(16, len(rows))
            dist, idx = (np.atleast_1d(a) for a in tree.query([x, y], k=k, distance_upper_bound=radius))
            hits = rows[idx[np.isfinite(dist)]]
            shown = hits[self.visible[hits]]
            if len(shown):
                return int(shown[0])
            if len(hits) < k or k == len(rows):   # none hidden beyond these: nothing visible within reach
                return None
        return self._nearest_in_square(x, y, radius)   # no tree yet, or the nearest k all hidden (a filter)

    def _nearest_in_square(self, x: float, y: float, radius: float) -> int | None:
        xs, ys = self._x, self._y
        with np.errstate(invalid="ignore"):
            near = np.flatnonzero((np.abs(xs - np.float32(x)) <= radius) & (np.abs(ys - np.float32(y)) <= radius))
        near = near[self.visible[near]]
        if len(near) == 0:
            return None
        d2 = (xs[near].astype(np.float64) - x) ** 2 + (ys[near].astype(np.float64) - y) ** 2
        best = int(np.argmin(d2))
        return int(near[best]) if d2[best] <= radius * radius else None

    def _picking_tree(self):
        """(rows, k-d tree of their positions) for the points as they are, or None while it is being built (the
        first call after they moved starts that, on a thread)."""
        held = self._tree
        if held is not None and held[0] is self.xy:
            return held[1], held[2]
        if self._tree_for is not self.xy:
            self._tree_for = self.xy
            threading.Thread(target=self._build_tree, args=(self.xy, self._x, self._y), name="mmstudio-pick",
                             daemon=True).start()
        return None

    def _build_tree(self, xy, x, y) -> None:
        from scipy.spatial import cKDTree

        rows = np.flatnonzero(np.isfinite(x) & np.isfinite(y))   # rows not placed yet are not picked
        tree = cKDTree(np.column_stack([x[rows], y[rows]]))
        self._tree = (xy, rows, tree)

    @property
    def tree(self):
        """The k-d tree of the placed points, built now if it is not there (benchmarks/render.py)."""
        if self._tree is None or self._tree[0] is not self.xy:
            self._tree_for = self.xy
            self._build_tree(self.xy, self._x, self._y)
        return self._tree[2]

    def in_rect(self, rect: QtCore.QRectF) -> np.ndarray:
        x, y = self._x, self._y
        with np.errstate(invalid="ignore"):
            mask = (x >= rect.left()) & (x <= rect.right()) & (y >= rect.top()) & (y <= rect.bottom())
        return np.flatnonzero(mask & self.visible)

    def in_polygon(self, polygon: np.ndarray) -> np.ndarray:
        """Indices of the visible points inside a closed polygon (V × 2, data units): ray casting over the
        points inside its bounding box, sorted by y so that each edge looks only at the points level with it
        (a lasso of a few hundred vertices over a few hundred thousand points stays milliseconds)."""
        polygon = np.asarray(polygon, np.float64)
        lo, hi = polygon.min(axis=0), polygon.max(axis=0)
        x, y = self._x, self._y
        with np.errstate(invalid="ignore"):
            box = (x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1]) & self.visible
        candidates = np.flatnonzero(box)
        if _is_box(polygon):   # a box drag: its bounding box is the answer
            return candidates
        order = np.argsort(y[candidates], kind="stable")
        candidates = candidates[order]
        px, py = x[candidates].astype(np.float64), y[candidates].astype(np.float64)
        inside = np.zeros(len(candidates), bool)
        x0, y0 = polygon[:, 0], polygon[:, 1]
        x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
        for ax, ay, bx, by in zip(x0.tolist(), y0.tolist(), x1.tolist(), y1.tolist()):
            if ay == by:
                continue   # a level edge crosses no ray
            # the edge crosses the ray of the points with min(ay, by) <= y < max(ay, by)
            i, j = np.searchsorted(py, [min(ay, by), max(ay, by)], side="left")
            at = ax + (py[i:j] - ay) * (bx - ax) / (by - ay)
            inside[i:j] ^= px[i:j] < at
        return np.sort(candidates[inside])

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
        t = painter.worldTransform()
        view = View(t.m11(), t.m31(), t.m22(), t.m32(), target.width(), target.height())
        dpr = float(target.devicePixelRatioF()) if hasattr(target, "devicePixelRatioF") else 1.0
        key = (self._version, view)
        if self._frame is None or self._frame.key != key:
            args = (key, view, self._x, self._y, self.colors, self.visible, self.marker_limit)
            on_screen = isinstance(painter.device(), QtWidgets.QWidget)   # not a picture (grab, export)
            if len(self.xy) > ASYNC_POINTS and on_screen:   # on a thread; the last frame meanwhile
                self._renderer.request(*args)
                self._poll.start()
            else:                                                      # small, or a picture being exported: now
                self._show(compute(*args))
        frame = self._frame
        if frame is None:
            return
        self.last_mode, self.last_drawn = frame.mode, frame.drawn
        painter.save()
        try:
            painter.resetTransform()
            if frame.mode == "markers":   # the rows it found, where they are now (emphasised ones on top)
                rows = frame.index[frame.index < len(self.xy)]      # a frame of a larger cloud: its rows still here
                rows = rows[self.visible[rows]]
                rows = rows[np.argsort(self.emphasis[rows], kind="stable")]
                px, py, _ = pixels(view, self._x[rows], self._y[rows])
                self._draw_markers(painter, rows, px, py, dpr)
                return
            if frame.view != view:        # the view moved since: the last frame, moved with it
                ax, ay, bx, by = view.from_(frame.view)
                painter.setTransform(QtGui.QTransform(ax, 0, 0, ay, bx, by))
            painter.drawImage(0, 0, self._qimage)
            painter.resetTransform()
            self._draw_emphasis(painter, view, dpr)
        finally:
            painter.restore()

    def _show(self, frame: Frame) -> None:
        self._frame = frame
        self._qimage = None if frame.image is None else _qimage(frame.image)   # reads its memory: kept together

    def _frame_done(self) -> None:
        frame = self._renderer.take()
        if frame is not None:
            self._show(frame)
            self.update()
        if not self._renderer.busy():
            self._poll.stop()

    def _draw_emphasis(self, painter, view: View, dpr: float) -> None:
        """The selected points and their neighbours as markers over the raster: only they are looked at, so
        a new selection does not draw the million points again. More selected points in view than
        ``EMPHASIS_MARKERS`` are dots of the selection colour instead (one image), their neighbours markers.
        What to draw is kept while the points, the emphasis and the view stay (a box dragged over the map)."""
        key = (self._version, self._emphasis_version, view)
        if self._overlay is None or self._overlay[0] != key:
            special = np.flatnonzero(self.emphasis)
            special = special[self.visible[special]]
            px, py, inside = pixels(view, self._x[special], self._y[special])
            special, px, py = special[inside], px[inside], py[inside]
            dots_image = None
            if len(special) > EMPHASIS_MARKERS:
                selected = self.emphasis[special] == EMPHASIS_SELECTED
                colour = pack_rgba(np.array([self.selection_color.getRgb()[:3]], np.uint8), SELECTION_ALPHA)
                image = dots(px[selected], py[selected], np.broadcast_to(colour, (int(selected.sum()),)), view.width,
                             view.height)
                dots_image = (_qimage(image), image)   # the QImage reads the array: kept together
                special, px, py = special[~selected], px[~selected], py[~selected]
            order = np.argsort(self.emphasis[special], kind="stable")
            self._overlay = (key, dots_image, special[order], px[order], py[order])
        _, dots_image, rows, px, py = self._overlay
        if dots_image is not None:
            painter.drawImage(0, 0, dots_image[0])
        self._draw_markers(painter, rows, px, py, dpr)

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
        """The points of ``order`` (last on top) at ``px``, ``py`` (one each) as fragments of the style atlas:
        one Qt call. Styles are worked out for the drawn points only (at most ``marker_limit``), never for
        the whole table."""
        if len(order) == 0:
            return
        keys, index = marker_styles(self.shapes[order], self.rgb[order])
        pixmap, rects, dpr = self._atlas_for(keys, dpr)
        cell = np.searchsorted(self._atlas_keys, keys)[index]
        self._fragments.resize(len(order))
        frags = self._fragments.ndarray()
        frags[:, 0] = px
        frags[:, 1] = py
        frags[:, 2:6] = rects[cell, self.emphasis[order]]
        frags[:, 6:10] = (1 / dpr, 1 / dpr, 0.0, 1.0)        # scale x, scale y, rotation, opacity
        painter.drawPixmapFragments(*self._fragments.drawargs(), pixmap)


def _qimage(image: np.ndarray) -> QtGui.QImage:
    """A packed RGBA image (height × width uint32) as a QImage over the same memory."""
    height, width = image.shape
    return pg.functions.ndarray_to_qimage(image.view(np.uint8).reshape(height, width, 4),
                                          QtGui.QImage.Format.Format_RGBA8888)


def _is_box(polygon: np.ndarray) -> bool:
    """Four corners of a rectangle with level and upright sides (what Box select draws): the points in its
    bounding box are inside (its edges count as inside)."""
    if len(polygon) != 4:
        return False
    x, y = polygon[:, 0].tolist(), polygon[:, 1].tolist()
    edges = zip(x, x[1:] + x[:1], y, y[1:] + y[:1])
    return len(set(x)) <= 2 and len(set(y)) <= 2 and all(a == b or c == d for a, b, c, d in edges)


def _rows(rows) -> np.ndarray:
    """Row indices as an int64 array (an array passes through without a Python object per row)."""
    if isinstance(rows, np.ndarray):
        return rows.astype(np.int64, copy=False).reshape(-1)
    return np.fromiter(rows, np.int64)


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
