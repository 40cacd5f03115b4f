"""The alignment panel: how well the modalities line up, per pair, and a trainer that aligns them.

A thin view over :func:`mmstudio.analysis.alignment.report.align_report` (computed as a job whenever the
table changes): retrieval both ways for every modality pair, the similarity matrix of the chosen
pair (click a cell → both items selected), the modality gap with a slider that shifts the two
modalities along the gap direction and re-scores retrieval live
(:func:`mmstudio.analysis.alignment.gap.gap_shift`), Procrustes and the linear-vs-MLP diagnosis, and the
worst-aligned pairs. The aligner trainer is the second tab (:mod:`mmstudio.ui.alignment.aligner`).
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from mmstudio.analysis.alignment.pair_views import PairData, alignment_views
from mmstudio.core.values import num
from mmstudio.ui.alignment.aligner import QtAligner
from mmstudio.ui.alignment.gap_shift import QtGapShift
from mmstudio.ui.alignment.similarity_matrix import QtSimilarityMatrix
from mmstudio.ui.guard import guarded
from mmstudio.ui.panel_visibility import on_screen
from mmstudio.ui.widgets.elided import elide_rows
from mmstudio.ui.widgets.tables import whole_width

METRICS = ("R@1", "R@5", "R@10", "median_rank", "mAP@10")
HEADERS = ("query → gallery", "R@1", "R@5", "R@10", "median rank", "mAP@10", "n")
HEADER_TIPS = ("the modality of the query → the modality searched", "share of queries whose partner ranks first",
               "… in the first 5", "… in the first 10", "the median rank of the partner (1 is best)",
               "mean average precision over the first 10",
               "queries scored (items with a partner; above a size a random sample: see the line below the table)")
GAP_MIN_WIDTH, SIDE_MIN_WIDTH = 190, 160   # the least the gap column and the Procrustes/worst column get


class QtAlignmentPanel(QtWidgets.QWidget):
    reportReady = QtCore.Signal()   # a new report is shown
    pairOpened = QtCore.Signal(int, int)   # a worst pair clicked: its query row and its partner's row

    def __init__(self, workspace, view=None, parent=None):
        super().__init__(parent)
        self.workspace, self.view = workspace, view
        self.report: dict | None = None
        self.pairs: dict[tuple[str, str], PairData] = {}
        self._pending: dict = {}             # settings waiting for a report
        self._build()
        workspace.tableChanged.connect(self.refresh)
        workspace.row_filter.changed.connect(self.refresh)   # computed on the filtered rows
        QtCore.QTimer.singleShot(0, self.refresh)

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        metrics = QtWidgets.QWidget()
        self.tabs.addTab(metrics, "Retrieval, gap and maps")
        self.aligner = QtAligner(self.workspace, self.view)
        self.tabs.addTab(self.aligner, "Aligner trainer")
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.tabs)

        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(4, 4, 4, 0)
        self.pair_box = QtWidgets.QComboBox()
        self.pair_box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.pair_box.setToolTip("The modality pair shown in the matrix, the gap, the maps and the worst pairs")
        self.pair_box.currentIndexChanged.connect(lambda _: self._show_pair())
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.refresh_button.setToolTip("Compute the alignment report again")
        self.refresh_button.clicked.connect(self.refresh)
        self.status = QtWidgets.QLabel()
        self.status.setStyleSheet("color: gray")
        bar.addWidget(QtWidgets.QLabel("Pair"))
        bar.addWidget(self.pair_box)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.status, 1)

        self.table = QtWidgets.QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        for j, tip in enumerate(HEADER_TIPS):
            self.table.horizontalHeaderItem(j).setToolTip(tip)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Retrieval of each modality's partner among the other's items (ties count against "
                              "the query); click a row to show that pair")
        self.table.cellClicked.connect(self._table_clicked)
        self.scope_text = QtWidgets.QLabel()   # which queries the numbers are on: all, or a stated sample
        self.scope_text.setWordWrap(True)
        self.scope_text.setStyleSheet("color: gray")
        self.scope_text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.maps_text = QtWidgets.QLabel()
        self.maps_text.setWordWrap(True)
        self.maps_text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.maps_text.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)

        self.matrix = QtSimilarityMatrix(self.workspace)
        self.gap = QtGapShift(self.workspace.runner)
        self.shift_slider = self.gap.slider
        self.sort_box = self.matrix.sort_box

        self.worst = QtWidgets.QListWidget()
        self.worst.setToolTip("The queries whose true partner ranks lowest (as mmstudio align lists them); click one "
                              "to select both and see them side by side in the Retrieval tab")
        self.worst.itemClicked.connect(self._worst_clicked)
        elide_rows(self.worst)
        side = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(self.maps_text)
        side.addWidget(_titled("Procrustes and maps", scroll))
        side.addWidget(_titled("Worst-aligned pairs (lowest partner rank)", self.worst))
        side.setSizes([150, 110])

        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.table_column = _column(self.table, self.scope_text, stretch=(1, 0))
        for widget in (self.table_column, self.matrix, self.gap, side):
            self.splitter.addWidget(widget)
        self.splitter.setSizes([430, 400, 260, 260])   # a narrow panel gives its room to the matrix first
        self.splitter.setChildrenCollapsible(False)
        for widget, width in ((self.gap, GAP_MIN_WIDTH), (side, SIDE_MIN_WIDTH)):
            widget.setMinimumWidth(width)
        page = QtWidgets.QVBoxLayout(metrics)
        page.setContentsMargins(0, 0, 0, 0)
        page.addLayout(bar)
        page.addWidget(self.splitter, 1)

    # ------------------------------------------------------------------ the report
    lazy = False  # the window sets it: compute only while the panel is shown (a hidden tab waits)
    _stale = False

    @guarded(None)
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.came_on_screen()

    def came_on_screen(self) -> None:
        if self._stale and on_screen(self):
            self.refresh()

    def refresh(self) -> None:
        """Compute the report for the current table (a job; the last one wins)."""
        self._stale = self.lazy and not on_screen(self)
        if self._stale:
            return
        table, rows = self.workspace.row_filter.scope()
        scope = self.workspace.row_filter.summary()
        modalities = [] if table is None else table.modalities
        if rows is not None:
            modalities = [m for m in modalities if (table.modality[rows] == m).any()]
        if table is None or len(modalities) < 2:
            running = self.workspace.runner.latest.get("alignment")
            if running is not None:
                running.cancel()  # its result would be for an older table (and _computed drops it)
            self._show_report(None, "no items yet" if table is None or not len(table) else
                              f"{scope}: the rows shown need two modalities" if scope else
                              "the table needs two modalities")
            return
        self.status.setText(f"computing the alignment of {len(table) if rows is None else len(rows):,} items"
                            + (f" ({scope})" if scope else "") + "…")
        version = self.workspace.row_filter.version
        self.workspace.runner.start("alignment", lambda job: alignment_views(table, job, rows=rows),
                                    label="alignment report",
                                    on_done=lambda result: self._computed(table, version, scope, result),
                                    on_error=lambda message: self.status.setText("the report failed (see the log)"),
                                    panel=True)

    def _computed(self, table, version: int, scope: str, result) -> None:
        if table is not self.workspace.table or version != self.workspace.row_filter.version:
            return
        self._show_report(result, scope=scope)

    def _show_report(self, result, note: str = "", scope: str = "") -> None:
        previous = tuple(self._pending.get("pair") or ()) or self.current_pair()
        self.report = result["report"] if result else None
        self.pairs = result["pairs"] if result else {}
        self.status.setText(note or (f"{scope} · " if scope else f"{self.report['rows']:,} items · ")
                            + f"{len(self.pairs)} pairs · {self.report['dim']}-d")
        self._fill_table()
        self.pair_box.blockSignals(True)
        self.pair_box.clear()
        for a, b in self.pairs:
            self.pair_box.addItem(f"{a} ↔ {b}", (a, b))
        self.pair_box.blockSignals(False)
        choice = previous if previous in self.pairs else self._default_pair()
        if choice is not None:
            self.pair_box.setCurrentIndex(list(self.pairs).index(choice))
        if "sort_by_label" in self._pending:
            self.sort_box.setChecked(bool(self._pending["sort_by_label"]))
        if "shift" in self._pending:
            self.shift_slider.blockSignals(True)
            self.gap.set_fraction(self._pending["shift"])
            self.shift_slider.blockSignals(False)
        if result:
            self._pending = {}  # applied; kept while there is no report (a project opens before its table)
        self._show_pair()
        self.aligner.set_modalities(list(self.report["modalities"]) if self.report else [])
        self.reportReady.emit()

    def _default_pair(self):
        if not self.pairs:
            return None
        visible = set(self.view.visible_modalities()) if self.view is not None else set()
        for choice in [("image", "text")] + list(self.pairs):
            if choice in self.pairs and (not visible or set(choice) <= visible):
                return choice
        return next(iter(self.pairs))

    def current_pair(self):
        data = self.pair_box.currentData()
        return tuple(data) if data else None

    def _fill_table(self) -> None:
        rows = []
        for (a, b), data in self.pairs.items():
            for result in data.report.get("retrieval", []):
                rows.append((f"{result['query']} → {result['gallery']}",
                             *(num(result[m], 1 if m == "median_rank" else 3) for m in METRICS), str(result["n"])))
            if "note" in data.report:
                rows.append((f"{a} ↔ {b}", data.report["note"], "", "", "", "", str(data.report["n_pairs"])))
        self.table.setRowCount(len(rows))
        for i, cells in enumerate(rows):
            for j, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                if j:
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.table.setMinimumWidth(whole_width(self.table))   # every column in sight: the splitter cannot hide one
        margins = self.table_column.layout().contentsMargins()
        self.table_column.setMaximumWidth(self.table.minimumWidth() + margins.left() + margins.right())  # nor pad it

    def _table_clicked(self, row: int, _column: int) -> None:
        names = self.table.item(row, 0).text().replace(" ↔ ", " → ").split(" → ")
        for i in range(self.pair_box.count()):
            if set(self.pair_box.itemData(i)) == set(names):
                self.pair_box.setCurrentIndex(i)

    # ------------------------------------------------------------------ the chosen pair
    def _show_pair(self) -> None:
        data = self.pairs.get(self.current_pair())
        self.scope_text.setText(scope_line(data))
        self.matrix.set_pair(data)
        self._show_maps(data)
        self._show_worst(data)
        self.gap.set_pair(data)

    def _show_maps(self, data) -> None:
        if data is None:
            self.maps_text.setText("")
            return
        if "note" in data.report:
            self.maps_text.setText(data.report["note"])
            return
        p, maps, a, b = data.report["procrustes"], data.report["maps"], data.a, data.b
        lines = [f"<b>Procrustes {a} → {b}</b>: orthogonal residual {num(p['orthogonal_residual'])} "
                 f"(relative {num(p['orthogonal_relative'])}), similarity disparity "
                 f"{num(p['similarity_disparity'])}, linear CKA {num(p['linear_cka'])}"
                 + (f" ({p['scope']})" if "scope" in p else "")]
        if maps.get("linear"):
            lines.append(f"<b>Held-out residual (1 − R²)</b>: linear {num(maps['linear']['residual'])}, "
                         f"non-linear (MLP) {num(maps['mlp']['residual'])}")
        verdict = maps.get("verdict")
        lines.append(f"<b>Diagnosis</b>: {_sentence(maps['sentence'], verdict)}"
                     + (f" ({maps['scope']})" if "scope" in maps else ""))
        if "captions" in data.report:   # several captions per sample: which protocol the numbers follow
            lines.append(f"<b>Captions</b>: {data.report['captions']['protocol']} ({data.report['captions']['paired']})")
        self.maps_text.setText("<br>".join(lines))

    def _show_worst(self, data) -> None:
        self.worst.clear()
        if data is None or "retrieval" not in data.report:
            return
        index = {sid: i for i, sid in enumerate(data.sample_ids.tolist())}
        entries = []
        for result in data.report["retrieval"]:
            forward = result["query"] == data.a
            for worst in result["worst"]:
                i = index.get(worst["sample_id"])
                if "query_row" in worst:  # several captions: the caption and the partner it was scored by
                    rows = (worst["query_row"], worst["partner_row"])
                elif i is not None:
                    rows = (data.rows_a[i], data.rows_b[i]) if forward else (data.rows_b[i], data.rows_a[i])
                if i is not None:
                    entries.append((worst["rank"], result["query"], result["gallery"], worst["sample_id"],
                                    data.labels[i], rows))
        entries.sort(key=lambda e: -e[0])
        if entries and entries[0][0] == 1:  # the worst are first: every partner is
            text = f"every {data.a} ↔ {data.b} partner ranks 1, both ways: no pair is misplaced"
            item = QtWidgets.QListWidgetItem(text)
            item.setToolTip(text)
            self.worst.addItem(item)
            return
        for rank, q, g, sid, label, rows in entries:
            item = QtWidgets.QListWidgetItem(f"rank {rank} · {q} → {g} · {sid}" + (f" ({label})" if label else ""))
            item.setToolTip(f"{item.text()}\nthe {g} partner of {q} {sid} ranks {rank}; click to select both and "
                            "see them side by side in the Retrieval tab")
            item.setData(QtCore.Qt.ItemDataRole.UserRole, [int(r) for r in rows])
            self.worst.addItem(item)

    def _worst_clicked(self, item) -> None:
        rows = item.data(QtCore.Qt.ItemDataRole.UserRole)
        if not rows:
            return
        self.pairOpened.emit(*rows)   # first: the Retrieval tab takes the query, then the selection joins it
        self.workspace.select(rows)

    # ------------------------------------------------------------------ project files
    def settings(self) -> dict:
        pair = self.current_pair() or self._pending.get("pair")
        return {"pair": list(pair) if pair else None, "sort_by_label": self.sort_box.isChecked(),
                "shift": self.gap.fraction(), "trainer": self.aligner.settings()}

    def apply_settings(self, settings: dict) -> None:
        settings = dict(settings or {})
        if "trainer" in settings:
            self.aligner.apply_settings(settings.pop("trainer") or {})
        pair = tuple(settings.get("pair") or ())
        if pair in self.pairs:
            self.pair_box.setCurrentIndex(list(self.pairs).index(pair))
        if "sort_by_label" in settings:
            self.sort_box.setChecked(bool(settings["sort_by_label"]))
        if "shift" in settings:
            self.gap.set_fraction(settings["shift"])
        if self.report is None or (pair and pair not in self.pairs):
            self._pending = settings  # the report is not there yet: apply when it comes


def scope_line(data) -> str:
    """One line under the retrieval table: which queries the chosen pair's numbers are on (every one, or
    a stated random sample with R@1's 95 % interval over all of them)."""
    if data is None or "retrieval" not in data.report:
        return ""
    parts = []
    for result in data.report["retrieval"]:
        scope = result.get("scope") or {}
        text = scope.get("sentence", "")
        if "intervals" in result:
            low, high = result["intervals"]["R@1"]
            text += f"; R@1 {num(low)}–{num(high)}"
        parts.append(f"{result['query']} → {result['gallery']}: {text}")
    sentences = {p.split(": ", 1)[1] for p in parts}
    if len(sentences) == 1 and "R@1" not in next(iter(sentences)):
        return f"{data.a} ↔ {data.b}, both ways: {sentences.pop()}"
    return "; ".join(parts)


def _sentence(sentence: str, verdict) -> str:
    if verdict and sentence.startswith(verdict + ":"):
        return f"<b>{verdict}</b>:{sentence[len(verdict) + 1:]}"
    return sentence


def _column(*widgets, stretch=()) -> QtWidgets.QWidget:
    box = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(box)
    layout.setContentsMargins(4, 2, 4, 2)
    for i, widget in enumerate(widgets):
        if isinstance(widget, QtWidgets.QLayout):
            layout.addLayout(widget)
        else:
            layout.addWidget(widget, stretch[i] if i < len(stretch) else 0)
    return box


def _titled(title: str, widget: QtWidgets.QWidget) -> QtWidgets.QWidget:
    label = QtWidgets.QLabel(f"<b>{title}</b>")
    label.setWordWrap(True)   # a narrow column at 1024×700: the title takes two lines, not a cut
    return _column(label, widget, stretch=(0, 1))
