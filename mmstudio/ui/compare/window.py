"""File > Compare With: the open table (A) beside a second one (B) — a table file, or the open items
embedded by a second model — as two linked maps, a "Colour by" of each item's neighbourhood change, and
the Compare panel with ``mmstudio compare``'s numbers.

A is the window's map as it is (its filter, modality boxes, "Colour by", selection and query stay); B's
map (:class:`~mmstudio.ui.compare.second_map.QtSecondMap`) sits beside it, in a splitter put in the map's place, and
shows the items both tables hold, laid out by B's vectors alone and turned to face A. The maps are
linked by the workspace's selection (a pick in B selects the same items in A), by the hovered item (a
ring around its partner in the other map) and by their colours and visibility (B's points take their
partners' colours and are hidden with them). Every step runs as a job (:mod:`mmstudio.ui.compare.session`);
closing the comparison gives the window its single map back.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6 import QtCore, QtWidgets

from mmstudio.analysis.alignment.compare import MIN_SAMPLES
from mmstudio.core.dataset import Dataset
from mmstudio.ui import colors
from mmstudio.ui.compare.panel import QtComparePanel
from mmstudio.ui.compare.second_map import QtSecondMap, partner_ring, titled
from mmstudio.ui.compare.session import Comparison, Encoders, Refused, change_of, embed_side, lay_out, read_side
from mmstudio.ui.guard import guarded
from mmstudio.ui.map.colouring import Scale
from mmstudio.ui.map.view import frame, normalised
from mmstudio.ui.thumbnail_loader import shared as shared_thumbnails
from mmstudio.ui.tooltips import tooltip_html

CHANGE = "change A→B"                 # the "Colour by" entry (short: the map's tool row must fit 1024 px)
CHANGE_TITLE = "neighbourhood change"  # its colour bar's title
CHANGE_SCALE = (0.0, 1.0)                  # 0: every neighbour kept, 1: none
KINDS = ("compare-open", "compare-map", "compare-change", "compare")
MODEL_NOTE = ("The open items are embedded again by this model in the background (B), beside the map as it is (A); "
              "items already in the cache for that model are instant. The window's own model stays.")
TABLE_FILTER = "Embedding tables (*.parquet *.npz);;All files (*)"


def change_colours(values: np.ndarray) -> np.ndarray:
    """Neighbourhood changes → viridis over ``CHANGE_SCALE`` (the nearest of 256 steps); no value: grey."""
    lo, hi = CHANGE_SCALE
    finite = np.isfinite(values)
    unit = np.clip((np.where(finite, values, lo) - lo) / (hi - lo), 0, 1)
    rgb = colors.colormap_lut("viridis")[np.rint(unit * 255).astype(np.intp)]
    rgb[~finite] = colors.MISSING
    return rgb


class CompareActions(QtCore.QObject):
    opened = QtCore.Signal()        # a comparison is on screen (B's map may still be laid out)
    closed = QtCore.Signal()
    laidOut = QtCore.Signal()       # B's map is drawn
    changeReady = QtCore.Signal()   # the neighbourhood change is known (and listed in "Colour by")

    def __init__(self, window):
        super().__init__(window)
        self.window, self.ws, self.view = window, window.workspace, window.view
        self.current: Comparison | None = None
        self.change: np.ndarray | None = None        # per matched row
        self.how = ""                                 # how B's map was laid out
        self._a_bar = False                           # whether A showed a colour bar when its points were framed
        self.second: QtSecondMap | None = None
        self._a_column: QtWidgets.QWidget | None = None
        self.splitter: QtWidgets.QSplitter | None = None   # A's titled map and B's, in the map's place
        self._position = np.zeros(0, np.int64)        # A's row → its place among the matched rows (-1: none)
        self.encoders = Encoders()
        self.min_samples = MIN_SAMPLES
        self.close_action: QtCore.QObject | None = None
        self._pending: dict | None = None             # a project's comparison, opened once its map is laid out
        self.a_ring = partner_ring()                  # in A: the item hovered in B
        self.panel = QtComparePanel(self)
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.sync)
        ws, view = self.ws, self.view
        ws.tableChanged.connect(self._table_changed)
        for signal in (ws.layoutChanged, ws.pointsAdded, ws.subsetsChanged, ws.selectionChanged,
                       ws.row_filter.changed, view.color_by.currentTextChanged,
                       *(box.toggled for box in view.modality_boxes.values())):
            signal.connect(lambda *_: self._timer.start())   # not start(int): a signal's int is no interval
        ws.layoutChanged.connect(self._restore_pending)
        view.hoverChanged.connect(self._hovered_in_a)
        view.plot.viewport().installEventFilter(self)   # the mouse leaving A: no ring left in B
        view.mode.currentTextChanged.connect(self._mode_changed)

    # ------------------------------------------------------------------ menu
    def add_to(self, menu: QtWidgets.QMenu) -> None:
        sub = menu.addMenu("Compare &With")
        sub.setToolTipsVisible(True)
        sub.addAction("A &Table…", self.choose_table).setToolTip(
            "Another embedding table of the same items (e.g. `mmstudio embed --model …`), matched by sample id")
        sub.addAction("Another &Model on These Items…", self.choose_model).setToolTip(
            "Embed the open items again with a second model (cached) and compare")
        sub.addSeparator()
        self.close_action = sub.addAction("&Close the Comparison", self.close)
        self.close_action.setEnabled(False)

    def choose_table(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, "Compare with a table", filter=TABLE_FILTER)
        if path:
            self.open_table(path)

    def choose_model(self) -> None:
        from mmstudio.ui.dialogs import ModelDialog

        recent = self.window.settings.value("recent_models", []) or []
        dialog = ModelDialog(self.encoders.key[0] if self.encoders.key else self.ws.model_name, recent, self.window,
                             runner=self.ws.runner, note=MODEL_NOTE)
        dialog.setWindowTitle("Compare with a model")
        dialog.accepted.connect(lambda: self.open_model(dialog.value()) if dialog.value() else None)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    # ------------------------------------------------------------------ opening
    def restore(self, settings: dict) -> None:
        """A project's comparison (``{"table": path}`` or ``{"model": name}``): opened again once the
        project's map is laid out."""
        self._pending = settings if settings.get("table") or settings.get("model") else None

    def _restore_pending(self, final: bool) -> None:
        if not final or self._pending is None or self.ws.table is None or not len(self.ws.table):
            return
        pending, self._pending = self._pending, None
        if pending.get("table"):
            self.open_table(pending["table"])
        else:
            self.open_model(pending["model"])

    def _refuse(self, reason: str) -> None:
        """One line in the Log (and the status bar); what is shown stays as it is."""
        self.window.log_line(f"compare: {reason}")
        self.window.statusBar().showMessage(f"compare: {reason}", 10000)

    def _table_a(self):
        table = self.ws.table
        if table is None or len(table) == 0:
            self._refuse("nothing is open to compare: open files or a table first (it is A, the left map)")
            return None
        return table

    def open_table(self, path: str) -> None:
        """Compare A with the table at ``path`` (read and matched in a job)."""
        table, minimum = self._table_a(), self.min_samples
        if table is not None:
            self.ws.runner.start("compare-open", lambda job: read_side(str(path), table, minimum, job),
                                 label=f"compare: read {path}", on_done=self._fetched)

    def open_model(self, name: str) -> None:
        """Compare A with the open samples embedded by the model ``name`` (a job with progress; cached)."""
        table, minimum = self._table_a(), self.min_samples
        if table is None:
            return
        ws = self.ws
        if len(ws.dataset) == 0:
            self._refuse(f"the model {name} needs the items' files, and the items open came from a table "
                         "(vectors only): open the files, or compare with a table of theirs")
            return
        dataset, device, cache, encoders = Dataset(list(ws.dataset.samples)), ws.device, ws.cache, self.encoders

        def work(job):
            from mmstudio.core.cache import EmbeddingCache

            return embed_side(name, device, dataset, cache or EmbeddingCache(), encoders, table, minimum, job)

        ws.runner.start("compare-open", work, label=f"compare: embed {len(dataset):,} samples with {name}",
                        on_done=self._fetched)

    def _fetched(self, result: Comparison | Refused) -> None:
        if isinstance(result, Refused):
            self._refuse(result.reason)
            return
        if not result.still_fits(self.ws.table):
            self._refuse("the open table changed meanwhile; choose File > Compare With again")
            return
        self.close(quiet=True)
        self._show(result)

    def _show(self, c: Comparison) -> None:
        ws, view = self.ws, self.view
        self.current, self.change, self.how = c, None, ""
        self._a_bar = False   # whether A showed a colour bar when its points were last framed
        self._position = np.full(len(c.table_a), -1, np.int64)
        self._position[c.rows_a] = np.arange(len(c.rows_a))
        second = self.second = QtSecondMap(self._b_title())
        second.closeRequested.connect(self.close)
        second.picked.connect(self._picked_in_b)
        second.hovered.connect(self._hovered_in_b)
        second.tooltip_for = lambda j: tooltip_html(ws.table, int(c.rows_a[j]), shared_thumbnails())
        second.viewbox.mode = view.viewbox.mode
        model = c.table_a.model or ws.model_name
        splitter = self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)   # in the map's place
        splitter.setChildrenCollapsible(False)
        view.layout().replaceWidget(view.plot, splitter)
        self._a_column, self.a_title = titled(f"A · {model} · the open table ({len(c.table_a):,} items)", view.plot)
        splitter.addWidget(self._a_column)
        splitter.addWidget(second)
        half = max(1, splitter.width() // 2)
        splitter.setSizes([half, half])
        view.plot.addItem(self.a_ring)
        if self.close_action is not None:
            self.close_action.setEnabled(True)
        self.window.log_line(f"comparing with {c.source}: {c.describe()}")
        xy_a = ws.xy.copy() if len(ws.xy) == len(ws.table) else None
        projection = dict(ws.projection)
        ws.runner.start("compare-map", lambda job: lay_out(c, projection, xy_a, job), label="compare: B's map",
                        on_done=lambda layout: self._laid_out(c, layout))
        ws.runner.start("compare-change", lambda job: change_of(c, job), label="compare: neighbourhoods",
                        on_done=lambda change: self._changed(c, change))
        self.opened.emit()
        self.panel.refresh()

    def _b_title(self) -> str:
        c = self.current
        how = f"{self.how} of B's vectors, turned to face A" if self.how else "laying out…"
        return f"B · {c.title} · {len(c.rows_a):,} matched items · {how}"

    def _laid_out(self, c: Comparison, layout) -> None:
        if c is not self.current or self.second is None:
            return
        self.how = layout.how
        shapes = colors.shapes_of(colors.modality_codes(c.matched_a))
        self.second.set_points(normalised(layout.xy, frame(layout.xy)), np.full((len(layout.xy), 3), 160, np.uint8),
                               shapes)
        self.second.title.setText(self._b_title())
        self.sync()
        self.laidOut.emit()

    def _changed(self, c: Comparison, change: np.ndarray) -> None:
        if c is not self.current:
            return
        self.change = change
        self.view.set_colouring(CHANGE, self.change_colours)
        self.view.color_by.setCurrentText(CHANGE)
        self.changeReady.emit()

    def change_colours(self):
        """A's rows coloured by their neighbourhood change (rows B lacks: grey), for the map's "Colour by"."""
        table = self.ws.table
        values = self.change_values(len(table))
        return change_colours(values), [], Scale(CHANGE_TITLE, *CHANGE_SCALE, int((~np.isfinite(values)).sum()))

    def change_values(self, n: int) -> np.ndarray:
        """The neighbourhood change of each of A's first ``n`` rows (NaN: not in B, or not known yet)."""
        values = np.full(n, np.nan)
        if self.current is not None and self.change is not None:
            inside = self.current.rows_a < n
            values[self.current.rows_a[inside]] = self.change[inside]
        return values

    # ------------------------------------------------------------------ closing
    def close(self, quiet: bool = False) -> None:
        """Back to the single map (B's map, its colouring and its jobs go)."""
        if self.current is None:
            return
        for kind in KINDS[1:]:
            job = self.ws.runner.latest.pop(kind, None)   # its result is dropped
            if job is not None:
                job.cancel()
        self.current, self.change, self.how = None, None, ""
        view = self.view
        view.set_colouring(CHANGE, None)
        view.plot.removeItem(self.a_ring)
        view.layout().replaceWidget(self.splitter, view.plot)   # the map back in its place, alone
        view.plot.show()
        self.splitter.hide()
        self.splitter.setParent(None)   # with A's title and B's map; deleted once the event loop turns
        self.splitter.deleteLater()
        self.splitter, self._a_column, self.second = None, None, None
        if self.close_action is not None:
            self.close_action.setEnabled(False)
        if not quiet:
            self.window.log_line("closed the comparison")
        self.panel.refresh()
        self.closed.emit()

    def _table_changed(self) -> None:
        if self.current is not None and not self.current.still_fits(self.ws.table):
            if self.ws.table is None:   # everything was closed (a project opens, a model is loading)
                self.close()
            else:
                self._refuse("the comparison closed: the open table changed (another model, or other items)")
                self.close(quiet=True)
            return
        self._timer.start()   # A's rows may have been replaced by the same ones (an encoding's final table)

    # ------------------------------------------------------------------ linking the maps
    def sync(self) -> None:
        """B's points take their partners' colours, visibility and selection in A."""
        c, second, view, table = self.current, self.second, self.view, self.ws.table
        if c is None or second is None or len(second.cloud.xy) == 0 or table is None:
            return
        if len(view.cloud.rgb) != len(table) or len(view.cloud.visible) != len(table):
            return   # A is being redrawn: its sync follows
        if self._a_bar != (view.colour_bar.scale is not None):   # the bar came or went: A's points keep clear of it
            self._a_bar = view.colour_bar.scale is not None
            view.frame_points()
        second.set_colours(view.cloud.rgb[c.rows_a], self._b_scale())
        second.set_visible(view.cloud.visible[c.rows_a])
        second.set_selected(np.flatnonzero(np.isin(c.rows_a, self.ws.selection)))

    def _b_scale(self):
        """A's colour scale, with B's own count of points without a value."""
        scale, c = self.view.colour_bar.scale, self.current
        if scale is None:
            return None
        if scale.key == CHANGE_TITLE:
            values = self.change if self.change is not None else np.full(len(c.rows_a), np.nan)
        else:
            column = self.ws.table.columns.get(scale.key)
            values = column[c.rows_a] if column is not None and column.dtype.kind == "f" else np.zeros(0)
        return replace(scale, missing=int((~np.isfinite(values)).sum()))

    def _picked_in_b(self, positions, add: bool) -> None:
        if self.current is None:
            return
        rows = self.current.rows_a[np.asarray(positions, np.int64)]
        self.ws.select(np.union1d(rows, self.ws.selection) if add else rows)

    def _hovered_in_a(self, row) -> None:
        if self.second is not None:
            self.second.show_partner(None if row is None else self.partner_of(row))

    @guarded(False)
    def eventFilter(self, watched, event) -> bool:
        if event.type() == QtCore.QEvent.Type.Leave and self.second is not None:
            self.second.show_partner(None)
        return False

    def _hovered_in_b(self, position) -> None:
        cloud = self.view.cloud
        row = None if position is None or self.current is None else int(self.current.rows_a[position])
        if row is None or row >= len(cloud.xy) or not cloud.visible[row]:
            self.a_ring.setData([], [])
        else:
            self.a_ring.setData([float(cloud.xy[row, 0])], [float(cloud.xy[row, 1])])

    def _mode_changed(self, _text: str) -> None:
        if self.second is not None:
            self.second.viewbox.mode = self.view.viewbox.mode

    def partner_of(self, row: int) -> int | None:
        """The place among the matched rows (B's map) of A's ``row``, or None when B lacks it."""
        if 0 <= row < len(self._position) and self._position[row] >= 0:
            return int(self._position[row])
        return None
