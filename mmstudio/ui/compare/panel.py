"""The Compare panel: ``mmstudio compare``'s numbers on A and B (the comparison open in the window),
computed in a job by :func:`~mmstudio.analysis.alignment.compare.compare_tables` — the same dict
``mmstudio compare A B --json`` prints — on two tabs: how alike the spaces are per modality beside the
items whose neighbours changed most (a click selects them in both maps); retrieval in A and in B with the
interval of B − A beside the labels that gained or lost and the modality gap of each.

It follows the filter bar: with a filter on, it compares A's matching rows with B ("filtered: n of N
rows of A"), as the other panels compute on the matching rows.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.core.values import num
from mmstudio.ui.guard import guarded
from mmstudio.ui.panel_visibility import on_screen
from mmstudio.ui.widgets.elided import QtElidedLabel, elide_rows
from mmstudio.ui.widgets.scroll import vertical_scroll
from mmstudio.ui.widgets.tables import whole_width

METRICS = ("R@1", "R@5", "mAP@10")
EMPTY = ("Compare the open items (A) with a second embedding of the same items (B): another table "
         "(File > Compare With > A Table…, e.g. from `mmstudio embed --model …`) or another model run on them "
         "here (File > Compare With > Another Model…). The two maps then sit side by side, linked, and this "
         "panel gives the numbers of `mmstudio compare`.")
SPACE_ROWS = (   # (name, tooltip, value of a modality's entry)
    ("linear CKA A vs B", "linear CKA of A's and B's vectors of the same items: 1 = the same up to rotation and scale",
     lambda m: num(m["cka"]["value"])),
    ("  shuffled B: mean, 95 %", "the CKA when B's rows are shuffled (the pairing means nothing): its mean and 95 % "
     "quantile; a CKA above these says the pairing matters", lambda m: f"{num(m['cka']['permuted_mean'])}, "
     f"{num(m['cka']['permuted_q95'])}"),
    ("map A → B residual, linear", "a linear map A → B fitted on 70 % of the items, scored on the held-out rest: the "
     "share of B's variance left (0 = exact)", lambda m: num(m["maps"]["linear"])),
    ("  shuffled", "the same residual with B's rows shuffled", lambda m: num(m["maps"]["linear_permuted_mean"])),
    ("rotation + scale residual", "the held-out residual of a rotation and one scale (only when A and B are "
     "equally wide)", lambda m: num(m["maps"].get("orthogonal")) if "orthogonal" in m["maps"] else "— (widths differ)"),
    ("  shuffled", "the same residual with B's rows shuffled",
     lambda m: num(m["maps"].get("orthogonal_permuted_mean"))),
    ("neighbours kept (mean Jaccard)", "each item's 10 nearest of its modality in A and in B: the Jaccard index of the "
     "two sets, averaged (1 = unchanged)", lambda m: num(m["neighbours"]["mean_jaccard"])),
    ("  chance", "the Jaccard index of two random sets of 10 among these items",
     lambda m: num(m["neighbours"]["chance"])),
)


def signed(value, digits: int = 3) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:+.{digits}f}"


def interval(d: dict, digits: int = 3) -> str:
    """``+0.120 [0.050, 0.190]``: B − A and its 95 % interval."""
    return f"{signed(d['value'], digits)} [{num(d['low'], digits)}, {num(d['high'], digits)}]"


def changed_rows(table_a, report: dict) -> list[tuple[str, dict, int]]:
    """The most-changed entries of every modality, fewest neighbours kept first: (modality, entry, A's row)."""
    from mmstudio.core.tables.captions import row_keys

    where = {key: row for row, key in enumerate(row_keys(table_a))}
    out = []
    for m in report["modalities"]:
        for entry in m.get("neighbours", {}).get("most_changed", []):
            row = where.get((entry["sample_id"], m["modality"], entry.get("caption_index", 0)))
            if row is not None:
                out.append((m["modality"], entry, row))
    out.sort(key=lambda e: e[1]["jaccard"])
    return out


class QtComparePanel(QtWidgets.QWidget):
    reportReady = QtCore.Signal()

    def __init__(self, compare, parent=None):
        super().__init__(parent)
        self.compare, self.workspace = compare, compare.ws
        self.report: dict | None = None
        self.changed: list[tuple[str, dict, int]] = []
        self._build()
        self.workspace.row_filter.changed.connect(self.refresh)
        QtCore.QTimer.singleShot(0, self.refresh)

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(4, 4, 4, 0)
        self.status = QtElidedLabel()
        self.status.setStyleSheet("color: gray")
        self.with_button = QtWidgets.QToolButton()
        self.with_button.setText("Compare with…")
        self.with_button.setToolTip("A second table of the same items, or a second model run on them")
        self.with_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QtWidgets.QMenu(self.with_button)
        menu.addAction("A Table…", self.compare.choose_table)
        menu.addAction("Another Model on These Items…", self.compare.choose_model)
        self.with_button.setMenu(menu)
        self.close_button = QtWidgets.QToolButton()
        self.close_button.setText("Close")
        self.close_button.setToolTip("Close the comparison: the window's map alone again")
        self.close_button.clicked.connect(lambda: self.compare.close())
        bar.addWidget(self.status, 1)
        bar.addWidget(self.with_button)
        bar.addWidget(self.close_button)

        self.empty = QtWidgets.QLabel(EMPTY)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        self.empty.setContentsMargins(8, 8, 8, 8)

        self.spaces = _table()
        self.spaces.setToolTip("How alike A's and B's spaces are, per modality, each with its shuffled baseline")
        self.changed_list = QtWidgets.QListWidget()
        self.changed_list.setToolTip("The items whose 10 nearest neighbours changed most from A to B; click one to "
                                     "select it in both maps")
        self.changed_list.itemClicked.connect(self._changed_clicked)
        elide_rows(self.changed_list)
        self.select_all = QtWidgets.QPushButton("Select all listed")
        self.select_all.setToolTip("Select every item listed, in both maps")
        self.select_all.clicked.connect(lambda: self.workspace.select([row for _, _, row in self.changed]))
        self.retrieval = _table(["A", "B", "B − A [95 %]"])
        self.retrieval.setToolTip("Retrieval of each item's partner in A and in B (ties count against the query), "
                                  "and the paired bootstrap interval of B − A; bold: the interval excludes 0")
        self.labels_text = QtWidgets.QLabel()
        self.labels_text.setWordWrap(True)
        self.labels_text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.labels_text.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)

        self.spaces_column = _titled("How alike the spaces are", self.spaces)
        changed = _titled("Neighbours changed most (Jaccard of the 10 nearest in A and in B: 1 = all kept)",
                          self.changed_list, self.select_all)
        self.retrieval_column = _titled("Retrieval in A and in B", self.retrieval)
        labels = _titled("By label, and the modality gap", vertical_scroll(self.labels_text, margins=(0, 0, 4, 0)))
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        for title, left, right in (("Spaces and neighbours", self.spaces_column, changed),
                                   ("Retrieval, labels and gaps", self.retrieval_column, labels)):
            columns = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
            columns.setChildrenCollapsible(False)
            right.setMinimumWidth(170)
            columns.addWidget(left)
            columns.addWidget(right)
            columns.setStretchFactor(1, 1)
            self.tabs.addTab(columns, title)

        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.tabs)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)

    # ------------------------------------------------------------------ the report
    lazy = True   # computed only while the panel is on screen (a hidden tab waits)
    _stale = False

    @guarded(None)
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.came_on_screen()

    def came_on_screen(self) -> None:
        if self._stale and on_screen(self):
            self.refresh()

    def scope(self) -> tuple[np.ndarray | None, str]:
        """The rows of A compared (None: all) and the words that say so."""
        c = self.compare.current
        rows = self.workspace.row_filter.rows()
        if rows is None:
            return None, "all rows of A (the filter bar narrows them)"
        rows = rows[rows < len(c.table_a)]
        return rows, f"filtered: {len(rows):,} of {len(c.table_a):,} rows of A"

    def refresh(self) -> None:
        """Compute the comparison's numbers (a job; the last one wins), or show how to start one."""
        c = self.compare.current
        self.close_button.setEnabled(c is not None)
        if c is None:
            running = self.workspace.runner.latest.pop("compare", None)
            if running is not None:
                running.cancel()
            self._show(None, "no comparison open")
            return
        self._stale = self.lazy and not on_screen(self)
        if self._stale:
            return
        rows, scope = self.scope()
        self.status.setText(f"comparing A with {c.source} ({scope})…")
        table_a = c.table_a if rows is None else c.table_a.take(rows)
        table_b, minimum = c.table_b, self.compare.min_samples

        def work(job):
            from mmstudio.analysis.alignment.compare import TooFewMatches, compare_tables

            try:
                report = compare_tables(table_a, table_b, min_samples=minimum, job=job)
            except TooFewMatches as exc:
                return str(exc), []
            return report, changed_rows(table_a, report)

        self.workspace.runner.start("compare", work, label="compare report", panel=True,
                                    on_done=lambda result: self._computed(c, rows, scope, *result),
                                    on_error=lambda _message: self.status.setText("the comparison failed (see the Log)"))

    def _computed(self, c, rows, scope: str, report, changed) -> None:
        if c is not self.compare.current:
            return
        if isinstance(report, str):   # too few rows match once the filter is applied
            self._show(None, f"{scope}: {report}", keep_columns=True)
            return
        if rows is not None:   # A's row numbers in the filtered table → in A
            changed = [(m, entry, int(rows[row])) for m, entry, row in changed]
        self.changed = changed
        self._show(report, scope)

    def _show(self, report: dict | None, note: str, keep_columns: bool = False) -> None:
        self.report = report
        self.stack.setCurrentWidget(self.tabs if report is not None or keep_columns else self.empty)
        if report is None:
            self.status.setText(note)
            self.changed = []
            for table in (self.spaces, self.retrieval):
                table.setRowCount(0)
            self.changed_list.clear()
            self.labels_text.setText("")
            return
        a, b, both = report["A"], report["B"], report["matched"]
        self.status.setText(f"A = {a['model'] or 'A'} ({a['rows']:,} rows, {a['dim']}-d) · B = {b['model'] or 'B'} "
                            f"({b['rows']:,} rows, {b['dim']}-d) · {both['samples']:,} samples ({both['rows']:,} "
                            f"rows) in both · {note}")
        self._fill_spaces(report)
        self._fill_changed()
        self._fill_retrieval(report)
        self.labels_text.setText(labels_html(report))
        self.reportReady.emit()

    def _fill_spaces(self, report: dict) -> None:
        modalities = report["modalities"]
        self.spaces.clear()
        self.spaces.setColumnCount(1 + len(modalities))
        self.spaces.setHorizontalHeaderLabels([""] + [f"{m['modality']} ({m['rows']:,})" for m in modalities])
        self.spaces.setRowCount(len(SPACE_ROWS))
        for i, (name, tip, value) in enumerate(SPACE_ROWS):
            _cell(self.spaces, i, 0, name, tip, right=False)
            for j, m in enumerate(modalities):
                text = m["note"] if "note" in m else value(m)
                _cell(self.spaces, i, j + 1, text, m.get("note", tip))
        _fit(self.spaces, self.spaces_column)

    def _fill_changed(self) -> None:
        self.changed_list.clear()
        if not self.changed:
            item = QtWidgets.QListWidgetItem("every item keeps its 10 nearest neighbours")
            item.setToolTip(item.text())
            self.changed_list.addItem(item)
        for modality, entry, row in self.changed:
            caption = f" caption {entry['caption_index'] + 1}" if "caption_index" in entry else ""
            item = QtWidgets.QListWidgetItem(f"{modality} {entry['sample_id']}{caption} · Jaccard {entry['jaccard']:.2f}")
            item.setToolTip(f"{modality} {entry['sample_id']}{caption}: Jaccard {entry['jaccard']:.3f} between its "
                            "10 nearest in A and in B; click to select it in both maps")
            item.setData(QtCore.Qt.ItemDataRole.UserRole, row)
            self.changed_list.addItem(item)
        self.select_all.setEnabled(bool(self.changed))

    def _changed_clicked(self, item) -> None:
        row = item.data(QtCore.Qt.ItemDataRole.UserRole)
        if row is not None:
            self.workspace.select([int(row)])

    def _fill_retrieval(self, report: dict) -> None:
        lines = []
        for pair in report["pairs"]:
            if "note" in pair:
                lines.append((" ↔ ".join(pair["modalities"]), pair["note"], "", None))
                continue
            for r in pair["retrieval"]:
                for metric in METRICS:
                    lines.append((f"{r['query']} → {r['gallery']} {metric}", num(r["A"][metric]), num(r["B"][metric]),
                                  r["difference"][metric]))
        self.retrieval.setRowCount(len(lines))
        bold = QtGui.QFont(self.retrieval.font())
        bold.setBold(True)
        for i, (name, va, vb, diff) in enumerate(lines):
            _cell(self.retrieval, i, 0, name, name, right=False)
            _cell(self.retrieval, i, 1, va, "in A")
            _cell(self.retrieval, i, 2, vb, "in B")
            item = _cell(self.retrieval, i, 3, interval(diff) if diff else "",
                         "" if not diff else "B − A and its 95 % paired bootstrap interval"
                         + (": excludes 0" if diff["excludes_0"] else ": contains 0"))
            if diff and diff["excludes_0"]:
                item.setFont(bold)
        _fit(self.retrieval, self.retrieval_column)

    # ------------------------------------------------------------------ project files
    def settings(self) -> dict:
        c = self.compare.current
        if c is None:
            return {}
        return {"table": c.path} if c.path else {"model": c.model}

    def apply_settings(self, settings: dict) -> None:
        self.compare.restore(settings or {})


def labels_html(report: dict) -> str:
    """Per pair of modalities: R@1 by label (most gained to most lost, with intervals) and the modality gaps."""
    minimum = report["settings"]["min_label_queries"]
    parts = []
    for pair in report["pairs"]:
        a, b = pair["modalities"]
        lines = [f"<b>{a} ↔ {b}</b> ({pair['n_pairs']:,} pairs)"]
        if "note" in pair:
            parts.append("<br>".join(lines + [html.escape(pair["note"])]))
            continue
        g = pair["gap"]
        gap = f"modality gap: A {num(g['A'])}, B {num(g['B'])}, B − A {interval(g['difference'])}"
        lines.append(f"<b>{gap}</b>" if g["difference"]["excludes_0"] else gap)
        for r in pair["retrieval"]:
            if "labels" not in r:
                continue
            direction = f"{r['query']} → {r['gallery']}"
            if not r["labels"]:
                lines.append(f"R@1 by label ({direction}): no label has {minimum} queries")
                continue
            lines.append(f"R@1 by label ({direction}; ≥ {minimum} queries; gained most first):")
            for e in r["labels"]:
                text = (f"{html.escape(e['label'])}: {num(e['R@1_A'])} → {num(e['R@1_B'])} "
                        f"({interval(e['difference'], 2)})")
                lines.append(f"&nbsp;&nbsp;<b>{text}</b>" if e["difference"]["excludes_0"] else f"&nbsp;&nbsp;{text}")
            if r.get("labels_left_out"):
                lines.append(f"&nbsp;&nbsp;{r['labels_left_out']} label(s) with fewer queries left out")
        parts.append("<br>".join(lines))
    return "<br><br>".join(parts) + ("<br><br><span style='color: gray'>bold: the 95 % interval of B − A excludes 0"
                                     "</span>" if parts else "")


def _table(headers=None) -> QtWidgets.QTableWidget:
    table = QtWidgets.QTableWidget(0, 1 + len(headers or []))
    if headers:
        table.setHorizontalHeaderLabels([""] + list(headers))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
    table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
    return table


def _cell(table, i: int, j: int, text: str, tip: str = "", right: bool = True) -> QtWidgets.QTableWidgetItem:
    item = QtWidgets.QTableWidgetItem(text)
    if right:
        item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
    if tip:
        item.setToolTip(tip)
    table.setItem(i, j, item)
    return item


def _fit(table, column) -> None:
    """Every column of ``table`` in sight: its splitter column is at least as wide."""
    table.resizeColumnsToContents()
    margins = column.layout().contentsMargins()
    column.setMinimumWidth(whole_width(table) + margins.left() + margins.right())


def _titled(title: str, widget, below=None) -> QtWidgets.QWidget:
    box = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(box)
    layout.setContentsMargins(4, 2, 4, 2)
    label = QtWidgets.QLabel(f"<b>{title}</b>")
    label.setWordWrap(True)
    layout.addWidget(label)
    layout.addWidget(widget, 1)
    if below is not None:
        layout.addWidget(below)
    return box
