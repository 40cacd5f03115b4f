"""The embedding view: every item of the table as a point in 2-D, coloured, linked, pickable."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.ui import colors
from mmstudio.ui.map.colour_bar import ColourBarItem
from mmstudio.ui.map.colouring import MapColours
from mmstudio.ui.map.framing import auto_button_frames, frame_clear_of_bar
from mmstudio.ui.map.point_cloud import PointCloudItem
from mmstudio.ui.map.subset_colouring import subset_colours, subset_options
from mmstudio.ui.thumbnail_loader import shared as shared_thumbnails
from mmstudio.ui.tooltips import picture_request, tooltip_html
from mmstudio.ui.widgets.elided import QtElidedLabel
from mmstudio.ui.widgets.legend import keep_clear, to_scene
from mmstudio.ui.workspace import AUTO_REFIT_SHARE

REFIT_TIP = ("Items added to the map are placed among their nearest neighbours and nothing moves. Refit lays "
             "out every point again, starting from the map as it is; the points glide to their new places when "
             f"it is done. It starts by itself when more than {AUTO_REFIT_SHARE:.0%} of the points were placed.")
FRAME_SAMPLE = 20_000   # the centre and spread of a larger layout come from this many of its points
LEGEND_SAMPLE = 20_000  # the legend finds its emptiest corner among this many of the shown points
LEGEND_BATCH = 5        # legend entries made per turn of the event loop


def frame(xy: np.ndarray) -> tuple[np.ndarray, float]:
    """The centre (median) and spread (95th percentile of the distance to it) of a layout, from an even
    subsample of at most ``FRAME_SAMPLE`` points (a million-point layout in a few milliseconds)."""
    sample = xy[::max(1, len(xy) // FRAME_SAMPLE)]
    centre = np.nanmedian(sample, axis=0)
    spread = np.nanpercentile(np.abs(sample - centre), 95) or 1.0
    return centre, float(spread)


def normalised(xy: np.ndarray, where: tuple[np.ndarray, float] | None = None) -> np.ndarray:
    """Layouts centred and scaled to a common size, so PCA → UMAP animates smoothly; ``where``: the
    frame (centre, spread) to use instead of the layout's own."""
    if len(xy) == 0:
        return xy
    centre, spread = where or frame(xy)
    return (np.asarray(xy, np.float32) - np.float32(centre)) / np.float32(spread)   # float32 throughout


class SelectViewBox(pg.ViewBox):
    """Pan and zoom as usual; in box or lasso mode a left drag draws the selection instead."""

    selected = QtCore.Signal(object, bool)   # polygon (V×2 data coords), add-to-selection

    def __init__(self):
        super().__init__()
        self.mode = "pan"
        self._path: list[QtCore.QPointF] = []
        self._outline = QtWidgets.QGraphicsPathItem()
        self._outline.setPen(pg.mkPen((255, 170, 0), width=1.5, style=QtCore.Qt.PenStyle.DashLine))
        self._outline.setZValue(1e9)
        self._outline.setVisible(False)  # only while dragging (an empty path is invalid SVG in an export)
        self.addItem(self._outline, ignoreBounds=True)

    def mouseDragEvent(self, ev, axis=None):
        if self.mode == "pan" or ev.button() != QtCore.Qt.MouseButton.LeftButton:
            return super().mouseDragEvent(ev, axis)
        ev.accept()
        point = self.mapSceneToView(ev.scenePos())
        if ev.isStart():
            self._path = [self.mapSceneToView(ev.buttonDownScenePos())]
        if self.mode == "box":
            a = self._path[0]
            self._path = [a, QtCore.QPointF(point.x(), a.y()), point, QtCore.QPointF(a.x(), point.y())]
        else:
            self._path.append(point)
        path = QtGui.QPainterPath()
        path.addPolygon(QtGui.QPolygonF(self._path + [self._path[0]]))
        self._outline.setPath(path)
        self._outline.setVisible(True)
        if ev.isFinish():
            polygon = np.array([[p.x(), p.y()] for p in self._path])
            self._outline.setVisible(False)
            self._outline.setPath(QtGui.QPainterPath())
            self._path = []
            add = bool(ev.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier)
            self.selected.emit(polygon, add)


class QtEmbeddingView(QtWidgets.QWidget):
    reprojectRequested = QtCore.Signal()
    hoverChanged = QtCore.Signal(object)   # the row under the mouse, or None (a comparison shows it in its second map)

    def __init__(self, workspace, parent=None):
        super().__init__(parent)
        self.workspace = workspace
        self._display = np.zeros((0, 2), np.float32)
        self._frame = (np.zeros(2), 1.0)   # the layout's centre and spread: points that join it keep them
        self._colours = MapColours()
        self._animation = None
        self._legend_items = []
        self._legend_shown: list = []   # the entries the legend shows now (drawn by _draw_legend)
        self._legend_drawn: list = []   # those drawn so far
        self._legend_timer = QtCore.QTimer(self)
        self._legend_timer.setSingleShot(True)
        self._legend_timer.setInterval(0)
        self._legend_timer.timeout.connect(self._draw_legend)
        self.hovered: int | None = None
        self.colourings: dict = {}   # "Colour by" entries of others: name → fn() → (rgb, legend, scale); set_colouring
        self._build()
        workspace.tableChanged.connect(self._table_changed)
        workspace.layoutChanged.connect(self._layout_changed)
        workspace.pointsAdded.connect(self._points_added)
        workspace.selectionChanged.connect(self._emphasis_changed)
        workspace.neighboursChanged.connect(self._emphasis_changed)
        workspace.subsetsChanged.connect(self._table_changed)   # "Colour by" lists them; recoloured
        workspace.queryCleared.connect(self.query.clear)
        workspace.row_filter.changed.connect(self._visibility_changed)   # filtered-out points are hidden

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(4, 4, 4, 0)
        self.color_by = QtWidgets.QComboBox()
        self.color_by.setToolTip("Colour the points by modality, label, a metadata column or a named subset")
        self.color_by.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)  # "subset: NAME"
        self.color_by.currentTextChanged.connect(lambda _: self._recolor())
        bar.addWidget(QtWidgets.QLabel("Colour by"))
        bar.addWidget(self.color_by)
        self.modality_boxes = {}
        for modality in ("image", "audio", "text"):
            box = QtWidgets.QCheckBox(modality)
            box.setChecked(True)
            box.setToolTip(f"Show or hide {modality} points")
            box.toggled.connect(self._visibility_changed)
            self.modality_boxes[modality] = box
            bar.addWidget(box)
        self.links = QtWidgets.QCheckBox("Link samples")
        self.links.setToolTip("Join the image, sound and caption of each sample with lines")
        self.links.toggled.connect(self._update_links)
        bar.addWidget(self.links)
        bar.addStretch(1)
        query_bar = QtWidgets.QHBoxLayout()
        query_bar.setContentsMargins(4, 0, 4, 0)
        bar, row1 = query_bar, bar
        self.mode = QtWidgets.QComboBox()
        self.mode.addItems(["Pan", "Box select", "Lasso"])
        self.mode.setToolTip("Left drag pans, or draws a box or a lasso to select (Shift adds)")
        self.mode.currentTextChanged.connect(lambda t: setattr(self.viewbox, "mode", {"Pan": "pan", "Box select": "box",
                                                                                        "Lasso": "lasso"}[t]))
        bar.addWidget(self.mode)
        zoom = _button("Zoom to selection")
        zoom.setToolTip("Zoom the view to the selected points (Ctrl+2)")
        zoom.clicked.connect(self.zoom_to_selection)
        bar.addWidget(zoom)
        reproject = _button("Reproject…")
        reproject.setToolTip("UMAP or PCA with your parameters")
        reproject.clicked.connect(self.reprojectRequested)
        bar.addWidget(reproject)
        self.refit = _button("Refit")
        self.refit.setToolTip(REFIT_TIP)
        self.refit.clicked.connect(self.workspace.refit)
        self.refit.setEnabled(False)
        bar.addWidget(self.refit)
        self.query = QtWidgets.QLineEdit()
        self.query.setPlaceholderText("Text query + Enter")
        self.query.setMinimumWidth(self.query.fontMetrics().horizontalAdvance("Text query + Enter") + 34)
        self.query.setToolTip("The text is embedded by the current model, drawn as a star, and its nearest "
                              "items are highlighted and listed in the inspector")
        self.query.setClearButtonEnabled(True)
        self.query.returnPressed.connect(lambda: self.workspace.set_query(self.query.text()))
        query_bar.addWidget(self.query, 1)
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
        self.lines = pg.PlotCurveItem(pen=pg.mkPen((128, 128, 128, 90), width=1), connect="pairs")
        self.lines.setVisible(False)
        self.star = pg.ScatterPlotItem(symbol="star", size=22, brush=pg.mkBrush(255, 200, 0),
                                       pen=pg.mkPen(40, 40, 40, width=1.5))
        self.plot.addItem(self.lines)
        self.plot.addItem(self.cloud)
        self.plot.addItem(self.star)
        dark = self.palette().color(QtGui.QPalette.ColorRole.Window).lightness() < 128
        self.legend = pg.LegendItem(offset=(-10, 10), labelTextColor=None, brush=(40, 40, 40, 225) if dark
                                    else (255, 255, 255, 225), pen=(190, 190, 190))
        self.legend.setParentItem(self.viewbox)
        self.colour_bar = ColourBarItem()
        self.colour_bar.setParentItem(self.viewbox)
        keep_clear(self.plot.getPlotItem(), self.legend, self._legend_points, outside=False)  # the emptiest corner
        self.status = QtElidedLabel()   # its text changes while jobs run: it must not resize the docks around
        self.status.setStyleSheet("color: gray")
        self.plot.scene().sigMouseMoved.connect(self._hover)
        self.plot.scene().sigMouseClicked.connect(self._click)
        self.plot.viewport().installEventFilter(self)  # the point tooltips outlive Qt's tooltip event
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row1)
        layout.addLayout(query_bar)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.status)

    # ------------------------------------------------------------------ reacting to the workspace
    def _table_changed(self) -> None:
        table = self.workspace.table
        current = self.color_by.currentText() or "modality"
        options = ["modality", "label"] + ([c for c in table.columns if c not in ("x", "y")] if table is not None else [])
        options += subset_options(self.workspace) + list(self.colourings)
        if options != [self.color_by.itemText(i) for i in range(self.color_by.count())]:
            self.color_by.blockSignals(True)
            self.color_by.clear()
            self.color_by.addItems(options)
            self.color_by.setCurrentText(current if current in options else "modality")
            self.color_by.blockSignals(False)
        if table is None or len(table) == 0:
            self._stop_animation()
            self._display = np.zeros((0, 2), np.float32)
            self.cloud.set_points(np.zeros((0, 2)), np.zeros((0, 3)), np.zeros(0))
            self.lines.setData([], [])
            self.status.setText("")
        elif len(self.cloud.xy) == len(table):  # the same rows, their columns replaced: colour them again
            self._recolor()
        self._update_status()

    def _layout_changed(self, final: bool) -> None:
        table = self.workspace.table
        if table is None or len(self.workspace.xy) != len(table):
            return
        self._frame = frame(self.workspace.xy) if len(self.workspace.xy) else (np.zeros(2), 1.0)
        target = normalised(self.workspace.xy, self._frame)
        if len(self._display) != len(target) or len(self.cloud.xy) != len(target):
            self._stop_animation()  # its frames are for the old points
            self._display = target
            self.cloud.set_points(target, self._colors(), colors.shapes_of(colors.modality_codes(table)))
            self._visibility_changed()
            self.frame_points()
        elif final:
            self._animate(self._display, target)
        else:
            self._display = target
            self.cloud.set_xy(target)
        self._update_links()
        self._emphasis_changed()
        self._update_status()

    def _points_added(self, start: int) -> None:
        """Rows from ``start`` on joined the map, placed without moving the others: they are drawn in the
        layout's frame as it is, and the zoom, the selection and every other point stay."""
        ws, table = self.workspace, self.workspace.table
        if table is None or len(ws.xy) != len(table):
            return
        if start != len(self.cloud.xy):  # the view missed rows (it should not): draw the whole layout
            self._layout_changed(ws.layout_final)
            return
        if self._animation is not None:  # a refit is gliding in: land it first
            self._animation.finish()
        added = normalised(ws.xy[start:], self._frame)
        self._display = np.concatenate([self._display[:start], added])
        self.cloud.set_points(self._display, self._colors(), colors.shapes_of(colors.modality_codes(table)))
        self._visibility_changed()
        self._update_links()
        self._emphasis_changed()
        self._update_status()

    def _update_status(self) -> None:
        ws = self.workspace
        placed = ws.map.n_placed if ws.fit_method is not None else len(ws.map)   # a preview: all of it
        self.refit.setEnabled(placed > 0)   # its text stays: a count in it would shift the bar as items arrive
        self.refit.setToolTip(REFIT_TIP + (f"\n\n{placed:,} points are placed now." if placed else ""))
        if ws.table is None or len(ws.table) == 0 or len(self.cloud.xy) != len(ws.table):
            return
        text = f"{len(ws.table):,} points · " + (f"{ws.fit_method.upper()} layout" if ws.fit_method
                                                 else "preview layout (PCA of the first items)")
        if placed and ws.fit_method:
            text += f" · {placed:,} placed on it without moving the others (Refit lays them all out)"
        if ws.row_filter.active:   # "n of N points shown (filtered)" in place of the count
            shown = int(self.cloud.visible.sum())
            text = f"{shown:,} of {len(ws.table):,} points shown (filtered) · " + text.split(" · ", 1)[1]
        self.status.setText(text)

    def frame_points(self) -> None:
        """Every point in sight, none under the colour bar (:mod:`mmstudio.ui.map.framing`)."""
        frame_clear_of_bar(self.viewbox, self._display, self.colour_bar)

    def _stop_animation(self) -> None:
        if self._animation is not None:
            self._animation.stop()
            self._animation = None

    def _animate(self, start: np.ndarray, end: np.ndarray, steps: int = 12) -> None:
        self._stop_animation()
        self._animation = _Glide(self, start, end, steps)

    def _glided(self, xy: np.ndarray, done: bool) -> None:
        """One frame of the animation (the last one when ``done``)."""
        self._display = xy
        self.cloud.set_xy(xy)
        self._update_links()
        if done:
            self._animation = None
            self._emphasis_changed()
            self.frame_points()

    def _colors(self) -> np.ndarray:
        """Every row's colour, and the legend drawn."""
        table = self.workspace.table
        key = self.color_by.currentText() or "modality"
        subset = subset_colours(self.workspace, key)
        if key in self.colourings:
            rgb, legend, scale = self.colourings[key]()
            self.colour_bar.show_scale(scale)
        elif subset is not None:
            rgb, legend = subset
            self.colour_bar.show_scale(None)
        else:
            rgb, legend = self._colours.colours(table, key, self.workspace.category_colours)
            self.colour_bar.show_scale(self._colours.scale)
        if legend != self._legend_shown:   # the same entries: rebuilding them cost ~40 ms, for every batch that joined
            self._legend_shown = legend
            self._legend_timer.start()      # built on the next turn of the event loop: the colours are drawn first
        return rgb

    def _draw_legend(self) -> None:
        """The legend's entries, ``LEGEND_BATCH`` per turn of the event loop (a pyqtgraph label costs 3–10 ms:
        15 of them at once were a gap of their own, after the colouring's)."""
        wanted, drawn = self._legend_shown, self._legend_drawn
        if drawn != wanted[:len(drawn)]:   # other entries than those begun: start again
            for item in self._legend_items:
                self.legend.removeItem(item)
            self._legend_items, drawn = [], []
        for entry in wanted[len(drawn):len(drawn) + LEGEND_BATCH]:
            name, colour, *symbol = entry
            sample = pg.ScatterPlotItem(symbol=symbol[0] if symbol else "o", size=10, brush=pg.mkBrush(*colour), pen=None)
            self.legend.addItem(sample, name)
            self._legend_items.append(sample)
            drawn = drawn + [entry]
        self._legend_drawn = drawn
        if len(drawn) < len(wanted):
            self._legend_timer.start()

    def _legend_points(self) -> np.ndarray:
        """The shown points in scene coordinates (the legend keeps to the corner with fewest of them)."""
        if len(self._display) == 0 or len(self.cloud.visible) != len(self._display):
            return np.zeros((0, 2))
        step = max(1, len(self._display) // LEGEND_SAMPLE)   # an even sample: a million points are not needed
        return to_scene(self.viewbox, self._display[::step][self.cloud.visible[::step]])

    def set_colouring(self, name: str, fn=None) -> None:
        """Add a "Colour by" entry whose colours ``fn()`` gives as (rgb per row, legend, scale or None), or
        remove it (``fn`` None: the map goes back to modality if it was chosen)."""
        if fn is None:
            self.colourings.pop(name, None)
        else:
            self.colourings[name] = fn
        self._table_changed()

    def _recolor(self) -> None:
        if self.workspace.table is not None and len(self.cloud.xy) == len(self.workspace.table):
            self.cloud.set_colors(self._colors())

    def _visibility_changed(self) -> None:
        table = self.workspace.table
        if table is None or len(self.cloud.xy) != len(table):
            return
        shown = np.zeros(len(colors.MODALITY_ORDER) + 1, bool)   # per modality code, then a lookup per row
        shown[[colors.MODALITY_ORDER.index(m) for m, box in self.modality_boxes.items() if box.isChecked()]] = True
        visible = shown[colors.modality_codes(table)]
        if self.workspace.row_filter.active:
            visible &= self.workspace.row_filter.visible(len(table))
        self.cloud.set_visible(visible)
        self._update_links()
        self._update_status()

    def visible_modalities(self) -> list[str]:
        return [m for m, box in self.modality_boxes.items() if box.isChecked()]

    def _update_links(self) -> None:
        table = self.workspace.table
        if not self.links.isChecked() or table is None or len(self._display) != len(table):
            self.lines.setVisible(False)
            return
        visible = self.cloud.visible
        a, b = _sample_pairs(table)
        keep = visible[a] & visible[b]
        a, b = a[keep], b[keep]
        pairs = np.empty((2 * len(a), 2), np.float32)
        pairs[0::2], pairs[1::2] = self._display[a], self._display[b]
        self.lines.setData(pairs[:, 0], pairs[:, 1])
        self.lines.setVisible(True)

    def _emphasis_changed(self) -> None:
        ws = self.workspace
        if ws.table is None or len(self.cloud.xy) != len(ws.table):
            return
        selected = ws.selection
        neighbours = ws.selection_neighbours   # found by the workspace (a job on a large table)
        if ws.query is not None:
            neighbours = np.concatenate([neighbours, getattr(ws, "query_rows", np.zeros(0, np.int64))])
            position = ws.query_position()
            if position is not None:
                star = normalised(np.atleast_2d(position), self._frame)
                self.star.setData([float(star[0, 0])], [float(star[0, 1])])
        else:
            self.star.setData([], [])
        self.cloud.set_emphasis(selected=selected, neighbours=neighbours)

    # ------------------------------------------------------------------ picking
    def _data_radius(self, pixels: float = 7.0) -> float:
        px = self.viewbox.viewPixelSize()
        return pixels * max(px[0], px[1])

    def _hover(self, scene_pos) -> None:
        """The tooltip of the point under the mouse: shown when the mouse reaches it, left alone while
        the mouse stays on it, hidden when it leaves."""
        if not self.plot.sceneBoundingRect().contains(scene_pos) or self.workspace.table is None:
            return
        row = self._row_at(scene_pos)
        if row != self.hovered:
            self.hoverChanged.emit(row)
        if row is None:
            if self.hovered is not None:
                QtWidgets.QToolTip.hideText()
            self.hovered = None
            return
        if row == self.hovered and QtWidgets.QToolTip.isVisible():
            return
        self.hovered = row
        self._hover_pos = self.plot.mapToGlobal(self.plot.mapFromScene(scene_pos))
        self._show_tooltip()

    def _show_tooltip(self) -> None:
        pictures = shared_thumbnails()
        if not getattr(self, "_watching_pictures", False):
            pictures.ready.connect(self._picture_ready)
            self._watching_pictures = True
        text = tooltip_html(self.workspace.table, self.hovered, pictures)
        if QtWidgets.QToolTip.isVisible() and QtWidgets.QToolTip.text() == text:
            # back on the point within 300 ms of leaving it: Qt keeps a tip whose text did not change,
            # and with it the hiding it started; a changed (invisible) character cancels that
            text += "\u200b"
        QtWidgets.QToolTip.showText(self._hover_pos, text, self.plot)

    def _picture_ready(self, key) -> None:
        """The hovered point's picture was decoded (off the GUI thread): show it in its tooltip."""
        table, row = self.workspace.table, getattr(self, "hovered", None)
        if row is None or table is None or row >= len(table) or not QtWidgets.QToolTip.isVisible():
            return
        request = picture_request(table, row)
        if request is not None and key == shared_thumbnails().key(*request, form="uri"):
            self._show_tooltip()

    def _row_at(self, scene_pos) -> int | None:
        point = self.viewbox.mapSceneToView(scene_pos)
        return self.cloud.nearest(point.x(), point.y(), self._data_radius())

    def eventFilter(self, watched, event) -> bool:
        """Qt sends the map a tooltip event once the mouse has rested ~0.7 s; the graphics scene
        answers it with the tooltip of an item under the mouse — none of its items has one, so it
        hid the point's tooltip. While the mouse is on a point (``hovered``, kept by the mouse moves),
        the event is ours: the point's tooltip stays."""
        if event.type() == QtCore.QEvent.Type.ToolTip and self.hovered is not None:
            return True
        return super().eventFilter(watched, event)

    def _click(self, event) -> None:
        if event.button() != QtCore.Qt.MouseButton.LeftButton or self.workspace.table is None:
            return
        point = self.viewbox.mapSceneToView(event.scenePos())
        row = self.cloud.nearest(point.x(), point.y(), self._data_radius())
        add = bool(event.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier)
        if row is None:
            if not add:
                self.workspace.select([])
            return
        rows = set(self.workspace.selection.tolist()) | {row} if add else {row}
        self.workspace.select(rows)

    def _select_polygon(self, polygon, add: bool) -> None:
        rows = self.cloud.in_polygon(polygon)
        if add:
            rows = np.union1d(rows, self.workspace.selection)
        self.workspace.select(rows)

    def zoom_to_selection(self) -> None:
        rows = self.workspace.selection
        if len(rows) == 0 or len(self._display) == 0:
            return
        pts = self._display[rows]
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = np.maximum((hi - lo) * 0.3, 0.05)
        self.viewbox.setRange(xRange=(float(lo[0] - pad[0]), float(hi[0] + pad[0])),
                              yRange=(float(lo[1] - pad[1]), float(hi[1] + pad[1])))


def _sample_pairs(table) -> tuple[np.ndarray, np.ndarray]:
    """The rows of each sample joined in order (a → b), worked out once per table from its sample codes."""
    held = table.__dict__.get("_sample_pairs")
    if held is None:
        from mmstudio.core.tables.categories import categories

        codes = categories(table, "sample_id").codes
        order = np.argsort(codes, kind="stable")
        same = (codes[order][1:] == codes[order][:-1]) & (codes[order][1:] >= 0)
        held = table.__dict__["_sample_pairs"] = (order[:-1][same], order[1:][same])
    return held


def _button(text: str) -> QtWidgets.QToolButton:
    """A tool bar button as wide as its text (a push button takes at least 80 px: the row must fit 1024 px)."""
    button = QtWidgets.QToolButton()
    button.setText(text)
    button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
    return button


class _Glide(QtCore.QObject):
    """The points gliding from one layout to the next (12 frames, 30 ms apart, smoothstep)."""

    def __init__(self, view: QtEmbeddingView, start: np.ndarray, end: np.ndarray, steps: int):
        super().__init__(view)
        self.view, self.start, self.end, self.steps, self.i = view, start, end, steps, 0
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.step)
        self.timer.start(30)

    def step(self) -> None:
        self.i += 1
        t = min(1.0, self.i / self.steps)
        t = t * t * (3 - 2 * t)
        done = self.i >= self.steps
        if done:
            self.stop()
        self.view._glided(self.end if done else (self.start * (1 - t) + self.end * t).astype(np.float32), done)

    def finish(self) -> None:
        """Jump to the last frame now."""
        self.i = self.steps - 1
        self.step()

    def stop(self) -> None:
        self.timer.stop()
        self.deleteLater()
