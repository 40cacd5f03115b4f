"""The Selection panel: what is selected, as a subject of its own.

- a gallery of the selected items (at most ``GALLERY_LIMIT``, spread evenly; the title says how many
  of how many), and their counts per modality and label beside the table's;
- the items of the other modalities nearest to the selection's mean (cosine,
  :func:`~mmstudio.analysis.alignment.neighbours.cross_modal_neighbours`, a job), as a gallery;
- actions: save the selection as a named subset (kept in the project), export its rows
  (:func:`~mmstudio.export.embeddings.export_table`), and its alignment metrics — ``mmstudio align``'s
  report on its rows alone, a job; refused, with the reason, when it holds no pairs;
- the subsets (:mod:`~mmstudio.ui.selection.subsets_box`), two of which compare side by side.

It computes only while on screen (a tab behind another waits until it comes forward).
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from mmstudio.ui.guard import guarded
from mmstudio.ui.panel_visibility import on_screen
from mmstudio.ui.selection.counts import LABEL_ROWS, QtCounts, column_counts, counts, table_counts
from mmstudio.ui.selection.gallery import QtGallery
from mmstudio.ui.selection.metrics import QtMetricsTable, align_rows, no_pairs_reason
from mmstudio.ui.selection.subsets_box import QtSubsetsBox, next_colour

NEAREST_K = 8          # nearest items per other modality
EMPTY = "Nothing selected: click a point on the map, or drag a box or a lasso (Box select, Lasso)."


class QtSelectionPanel(QtWidgets.QWidget):
    nearestReady = QtCore.Signal()    # the counts and the nearest-items gallery are shown for the current selection
    metricsReady = QtCore.Signal()    # the metrics table shows a new report

    lazy = False  # the window sets it: compute only while the panel is shown
    _stale = False

    def __init__(self, workspace, view=None, parent=None):
        super().__init__(parent)
        self.workspace, self.view = workspace, view
        self.nearest_rows = np.zeros(0, np.int64)
        self._totals = (None, {})          # (table, {"modality": Counter, "label": Counter})
        self._build()
        workspace.selectionChanged.connect(self.refresh)
        workspace.tableChanged.connect(self.refresh)
        self.subsets.compareRequested.connect(self.compare)

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        self.summary = QtWidgets.QLabel(EMPTY)
        self.summary.setWordWrap(True)
        self.save_button = QtWidgets.QPushButton("Save as subset…")
        self.save_button.setToolTip("Keep the selected items under a name (saved in the project, listed on the right, "
                                    "a choice of the map's Colour by)")
        self.save_button.clicked.connect(self.save_dialog)
        self.export_button = QtWidgets.QPushButton("Export…")
        self.export_button.setToolTip("Write the selected rows (vectors, labels, metadata, map x/y) to Parquet, CSV, "
                                      "NPZ or a TensorBoard projector folder")
        self.export_button.clicked.connect(self.export_dialog)
        self.align_button = QtWidgets.QPushButton("Alignment metrics")
        self.align_button.setToolTip("What `mmstudio align` reports, on the selected items alone: retrieval both ways, "
                                     "the modality gap, CKA (needs pairs: a sample's items of two modalities)")
        self.align_button.clicked.connect(self.compute_metrics)
        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(4, 4, 4, 0)
        bar.addWidget(self.summary, 1)
        for button in (self.save_button, self.export_button, self.align_button):
            bar.addWidget(button)

        self.gallery = QtGallery(self.workspace)
        self.gallery_title = QtWidgets.QLabel("<b>Selected items</b>")
        self.counts = QtCounts()
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(_top(self.counts))
        self.nearest = QtGallery(self.workspace)
        self.nearest_title = QtWidgets.QLabel("<b>Nearest items of the other modalities</b>")
        self.nearest_title.setWordWrap(True)

        self.subsets = QtSubsetsBox(self.workspace, self.view)
        self.metrics = QtMetricsTable()
        self.metrics_status = QtWidgets.QLabel("Alignment metrics of the selection, or of two subsets (Compare).")
        self.metrics_status.setWordWrap(True)
        self.side = QtWidgets.QTabWidget()
        self.side.setDocumentMode(True)
        self.side.addTab(self.subsets, "Subsets")
        self.side.addTab(_column(self.metrics_status, self.metrics), "Metrics")

        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        for widget in (_column(self.gallery_title, self.gallery), _column(QtWidgets.QLabel("<b>Counts</b>"), scroll),
                       _column(self.nearest_title, self.nearest), self.side):
            self.splitter.addWidget(widget)
        self.splitter.setSizes([360, 260, 320, 360])
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.splitter, 1)
        self._enable(False)

    def _enable(self, selected: bool) -> None:
        for button in (self.save_button, self.export_button, self.align_button):
            button.setEnabled(selected)

    # ------------------------------------------------------------------ the selection
    @guarded(None)
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.came_on_screen()

    def came_on_screen(self) -> None:
        if self._stale and on_screen(self):
            self.refresh()

    def refresh(self) -> None:
        """Show the current selection (the galleries, counts and nearest items)."""
        self._stale = self.lazy and not on_screen(self)
        if self._stale:
            return
        ws, table = self.workspace, self.workspace.table
        rows = ws.selection if table is not None else np.zeros(0, np.int64)
        rows = rows[rows < len(table)] if table is not None else rows
        self._enable(len(rows) > 0)
        if len(rows) == 0:
            self.summary.setText(EMPTY)
            self.gallery.clear()
            self.gallery_title.setText("<b>Selected items</b>")
            self.counts.set_counts([])
            self._show_nearest(table, rows, np.zeros(0, np.int64))
            return
        self.summary.setText(f"<b>{len(rows):,} item{'s' if len(rows) != 1 else ''} selected</b>")
        self.gallery.show_rows(table, rows)
        shown = len(self.gallery.rows)
        self.gallery_title.setText(f"<b>Selected items</b> · showing {shown:,} of {len(rows):,}"
                                   + (" (spread evenly)" if shown < len(rows) else ""))
        self._describe(table, rows)

    def _describe(self, table, rows) -> None:
        """Count the selection (and the table) at once, through the columns' codes (milliseconds at a million
        rows), and find its nearest items in a job (a product with every vector; it waits for the map's jobs)."""
        from mmstudio.core.tables.categories import categories

        totals = self._totals[1] if self._totals[0] is table else table_counts(table)
        self._totals = (table, totals)
        samples = int(np.count_nonzero(np.bincount(categories(table, "sample_id").codes[rows] + 1)))
        self.summary.setText(f"<b>{len(rows):,} item{'s' if len(rows) != 1 else ''} selected</b> "
                             f"({samples:,} sample{'s' if samples != 1 else ''})")
        self.counts.set_counts([counts("Modality", column_counts(table, "modality", rows), totals["modality"]),
                                counts("Label", column_counts(table, "label", rows), totals["label"],
                                       limit=LABEL_ROWS)])
        self.nearest_title.setText("<b>Nearest items of the other modalities</b> · finding…")

        def work(job):
            from mmstudio.analysis.alignment.neighbours import cross_modal_neighbours, mean_of

            found = cross_modal_neighbours(table, rows, NEAREST_K)
            centre = mean_of(table.vectors, rows)
            return found, table.vectors[found] @ (centre / max(float(np.linalg.norm(centre)), 1e-9))

        def done(result) -> None:
            if table is self.workspace.table and np.array_equal(rows, self.workspace.selection):
                self._show_nearest(table, rows, *result)

        self.workspace.runner.start("selection", work, label="the selection", on_done=done, panel=True)

    def _show_nearest(self, table, rows, found, sims=None) -> None:
        self.nearest_rows = np.asarray(found, np.int64)
        if table is None or len(rows) == 0:
            self.nearest.clear()
            self.nearest_title.setText("<b>Nearest items of the other modalities</b>")
        else:
            from mmstudio.core.tables.categories import categories

            mixed = len(np.unique(categories(table, "modality").codes[rows])) > 1
            captions = [f"{s:+.2f} {'—' if table.label[r] is None else table.label[r]}"
                        for r, s in zip(self.nearest_rows.tolist(), sims)]
            self.nearest.show_rows(table, self.nearest_rows, captions)
            self.nearest_title.setText(f"<b>Nearest items of {'each modality' if mixed else 'the other modalities'}</b>"
                                       f" · {NEAREST_K} each, by cosine to the selection's mean")
        self.nearestReady.emit()

    # ------------------------------------------------------------------ actions
    def save_dialog(self) -> None:
        name, ok = QtWidgets.QInputDialog.getText(self, "Save as subset", "Name of the subset",
                                                  text=f"subset {len(self.workspace.subsets) + 1}")
        if ok:
            problem = self.save_subset(name)
            if problem:
                QtWidgets.QMessageBox.warning(self, "Save as subset", problem)

    def save_subset(self, name: str) -> str | None:
        """Keep the selection as the subset ``name`` (a colour no subset has yet); the reason when it cannot."""
        from mmstudio.core.subsets import members_of

        ws, name = self.workspace, name.strip()
        if not name:
            return "a subset needs a name"
        if name in ws.subsets:
            return f"a subset named {name!r} exists already: choose another name (or delete it first)"
        if ws.table is None or len(ws.selection) == 0:
            return "nothing is selected"
        ws.subsets.add(name, members_of(ws.table, ws.selection), next_colour(ws.subsets.colour(n) for n in ws.subsets))
        ws.message.emit(f"saved {len(ws.selection):,} items as the subset {name}")
        return None

    def export_dialog(self) -> None:
        from mmstudio.ui.export import TABLE_FORMATS

        title = f"Export the {len(self.workspace.selection):,} selected items"
        path, chosen = QtWidgets.QFileDialog.getSaveFileName(self, title, "selection.parquet", ";;".join(TABLE_FORMATS))
        if not path:
            return
        fmt = TABLE_FORMATS.get(chosen, "parquet")
        suffix = "." + fmt
        if fmt != "tensorboard" and not path.lower().endswith(suffix):
            path += suffix
        self.export(path, fmt)

    def export(self, path, fmt: str):
        """Write the selected rows (with the map's x/y) as ``fmt`` in a job; the Log says what was written."""
        from mmstudio.ui.export import table_for_export

        ws = self.workspace
        table, rows = table_for_export(ws), ws.selection.copy()

        def work(job):
            from mmstudio.export.embeddings import export_table

            return export_table(table, path, fmt, rows=rows, job=job)

        def done(result) -> None:
            ws.message.emit(f"wrote the {result.rows:,} selected rows ({result.format}) to {result.path}")
            for note in result.notes:
                ws.message.emit(f"  {note}")

        return ws.runner.start("export", work, label=f"export {fmt}", on_done=done)

    def compute_metrics(self) -> None:
        """The alignment metrics of the selection (a job), or the reason there are none."""
        ws = self.workspace
        rows = ws.selection.copy()
        self._align([("selection", rows)], ws.table)

    def compare(self, a: str, b: str) -> None:
        """The alignment metrics of subsets ``a`` and ``b`` side by side."""
        ws = self.workspace
        if a not in ws.subsets or b not in ws.subsets:
            return
        self._align([(f"A: {a}", ws.subset_rows(a)), (f"B: {b}", ws.subset_rows(b))], ws.table)

    def _align(self, groups, table) -> None:
        self.side.setCurrentIndex(1)
        reasons = [no_pairs_reason(table, rows, "the selection" if title == "selection" else title)
                   for title, rows in groups] if table is not None else ["there is no table"]
        reasons = [r for r in reasons if r]
        if reasons:
            self.metrics.show_reports([])
            self.metrics_status.setText("No alignment metrics: " + "; ".join(reasons) + ".")
            self.metricsReady.emit()
            return
        names = " and ".join(f"{title} ({len(rows):,} items)" for title, rows in groups)
        self.metrics_status.setText(f"computing the alignment of {names}…")

        def work(job):
            return [(title, align_rows(table, rows, job)) for title, rows in groups]

        def done(columns) -> None:
            self.metrics.show_reports(columns)
            self.metrics_status.setText("Alignment of " + " vs ".join(
                f"{title}: {report['rows']:,} items" for title, report in columns)
                + " — `mmstudio align` on these rows alone")
            self.metricsReady.emit()

        self.workspace.runner.start("selection-align", work, label="alignment of the selection", on_done=done,
                                    on_error=lambda _m: self.metrics_status.setText("the metrics failed (see the Log)"),
                                    panel=True)


def _column(*widgets) -> QtWidgets.QWidget:
    box = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(box)
    layout.setContentsMargins(4, 2, 4, 2)
    for i, widget in enumerate(widgets):
        layout.addWidget(widget, 1 if i == len(widgets) - 1 else 0)
    return box


def _top(widget) -> QtWidgets.QWidget:
    """``widget`` at the top of a scrolled column (its own height, the rest blank)."""
    box = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(widget)
    layout.addStretch(1)
    return box
