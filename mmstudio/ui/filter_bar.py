"""The filter bar: one filter over the table's metadata that the map, the library and the panels follow.

Label and modality (pick any number), problems (samples with an item that could not be used, or
without), a range per numeric column (its own range shown), "caption contains" (case-insensitive;
with "whole samples" a caption's image and sound pass with it) and a named subset. A toolbar of the
main window; it edits :class:`~mmstudio.ui.row_filter.RowFilter`'s spec and shows how many rows pass.
"""

from __future__ import annotations

import math
from dataclasses import replace

from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.core.tables.categories import categories
from mmstudio.core.tables.filtering import BLANK, FilterSpec, Range, numeric_columns, whole_number_columns

TYPING_DELAY_MS = 250     # the caption text counts once typing pauses this long (or at Enter)
PROBLEM_CHOICES = (("any", "All items", "Problems"), ("only", "Only samples with a problem", "With problems"),
                   ("none", "Only samples without problems", "No problems"))


class ChoiceList(QtWidgets.QWidget):
    """Values to tick, each with its count, and All / None: a multi-choice inside a menu."""

    changed = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.list = QtWidgets.QListWidget()
        self.list.setMinimumWidth(200)
        self.list.itemChanged.connect(lambda _item: self.changed.emit())
        every = QtWidgets.QPushButton("All")
        every.clicked.connect(lambda: self._tick_all(True))
        nothing = QtWidgets.QPushButton("None")
        nothing.clicked.connect(lambda: self._tick_all(False))
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(every)
        buttons.addWidget(nothing)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)
        layout.addLayout(buttons)

    def set_values(self, values: list[tuple[str, int]], chosen: frozenset | None) -> None:
        """Offer ``values`` (value, count); tick those in ``chosen`` (None: every one)."""
        self.list.blockSignals(True)
        self.list.clear()
        for value, count in values:
            item = QtWidgets.QListWidgetItem(f"{value}  ({count:,})")
            item.setData(QtCore.Qt.ItemDataRole.UserRole, value)
            item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
            ticked = chosen is None or value in chosen
            item.setCheckState(QtCore.Qt.CheckState.Checked if ticked else QtCore.Qt.CheckState.Unchecked)
            self.list.addItem(item)
        height = self.list.sizeHintForRow(0) * min(max(len(values), 1), 12) + 2 * self.list.frameWidth() + 4
        self.list.setFixedHeight(max(height, 40))
        self.list.blockSignals(False)

    def item(self, value: str) -> QtWidgets.QListWidgetItem | None:
        for i in range(self.list.count()):
            if self.list.item(i).data(QtCore.Qt.ItemDataRole.UserRole) == value:
                return self.list.item(i)
        return None

    def chosen(self) -> frozenset | None:
        """The ticked values; None when every one is ticked (no criterion)."""
        items = [self.list.item(i) for i in range(self.list.count())]
        ticked = frozenset(i.data(QtCore.Qt.ItemDataRole.UserRole) for i in items
                           if i.checkState() == QtCore.Qt.CheckState.Checked)
        return None if len(ticked) == len(items) else ticked

    def _tick_all(self, on: bool) -> None:
        self.list.blockSignals(True)
        for i in range(self.list.count()):
            self.list.item(i).setCheckState(QtCore.Qt.CheckState.Checked if on else QtCore.Qt.CheckState.Unchecked)
        self.list.blockSignals(False)
        self.changed.emit()


class RangesForm(QtWidgets.QWidget):
    """A minimum and a maximum per numeric column, with the column's own range beside them."""

    changed = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: dict[str, tuple[QtWidgets.QDoubleSpinBox, QtWidgets.QDoubleSpinBox, float, float, float]] = {}
        self.grid = QtWidgets.QGridLayout()
        self.note = QtWidgets.QLabel()
        self.note.setStyleSheet("color: gray")
        inner = QtWidgets.QWidget()
        inner.setLayout(self.grid)
        self.rows_area = QtWidgets.QScrollArea()
        self.rows_area.setWidget(inner)
        self.rows_area.setWidgetResizable(True)
        self.rows_area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.rows_area)
        layout.addWidget(self.note)

    def set_columns(self, columns: dict[str, tuple[float, float, int]], ranges: tuple[Range, ...],
                    whole: frozenset = frozenset()) -> None:
        """One row per column with a value (``whole``: the columns of whole numbers, shown without decimals)."""
        while self.grid.count():
            widget = self.grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.rows = {}
        chosen = {r.column: r for r in ranges}
        shown = [(name, lo, hi, missing) for name, (lo, hi, missing) in columns.items() if math.isfinite(lo)]
        for i, (name, lo, hi, missing) in enumerate(shown):
            decimals = 0 if name in whole else _decimals(lo, hi)
            eps = 0.5 * 10.0 ** -decimals
            boxes = []
            for bound, value in ((lo, getattr(chosen.get(name), "lo", None)), (hi, getattr(chosen.get(name), "hi", None))):
                box = QtWidgets.QDoubleSpinBox()
                box.setDecimals(decimals)
                box.setRange(lo, hi)
                box.setSingleStep(1.0 if name in whole else _step(lo, hi))
                box.setValue(bound if value is None else value)
                box.setKeyboardTracking(False)
                box.valueChanged.connect(lambda _v: self.changed.emit())
                boxes.append(box)
            blank = f" · {missing:,} blank" if missing else ""
            span = QtWidgets.QLabel(f"range {lo:.{decimals}f} – {hi:.{decimals}f}{blank}")
            span.setStyleSheet("color: gray")
            self.grid.addWidget(QtWidgets.QLabel(name), i, 0)
            self.grid.addWidget(boxes[0], i, 1)
            self.grid.addWidget(QtWidgets.QLabel("to"), i, 2)
            self.grid.addWidget(boxes[1], i, 3)
            self.grid.addWidget(span, i, 4)
            self.rows[name] = (boxes[0], boxes[1], lo, hi, eps)
        self.note.setText("A row without a value fails a narrowed range." if shown else "The table has no numeric column.")
        height = self.grid.sizeHint().height() + 8
        self.rows_area.setFixedHeight(min(max(height, 10), 320))
        self.rows_area.setMinimumWidth(self.grid.sizeHint().width() + 24)

    def ranges(self) -> tuple[Range, ...]:
        """The narrowed ranges (a bound at the column's own end is no bound)."""
        out = []
        for name, (low, high, lo, hi, eps) in self.rows.items():
            a = low.value() if low.value() > lo + eps else None
            b = high.value() if high.value() < hi - eps else None
            if a is not None or b is not None:
                out.append(Range(name, a, b))
        return tuple(out)


class QtFilterBar(QtWidgets.QToolBar):
    def __init__(self, workspace, parent=None):
        super().__init__("Filter", parent)
        self.setObjectName("toolbar-filter")
        self.workspace = workspace
        self.filter = workspace.row_filter
        self.addWidget(QtWidgets.QLabel(" Filter "))

        self.labels = ChoiceList()
        self.labels.changed.connect(lambda: self._edit(labels=self.labels.chosen()))
        self.label_button, self.label_menu = self._popup("Label", self.labels, self._fill_labels,
                                                         "Show only the rows of the labels ticked")
        self.modalities = ChoiceList()
        self.modalities.changed.connect(lambda: self._edit(modalities=self.modalities.chosen()))
        self.modality_button, self.modality_menu = self._popup("Modality", self.modalities, self._fill_modalities,
                                                               "Show only the rows of the modalities ticked")

        self.problem_button = self._button("Problems", "Only the samples that had an item that could not be "
                                           "read or embedded (the library lists those items), or only the others")
        self.problem_menu = QtWidgets.QMenu(self.problem_button)
        group = QtGui.QActionGroup(self.problem_menu)
        self.problem_actions = {}
        for value, text, _short in PROBLEM_CHOICES:
            action = self.problem_menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(value == "any")
            action.triggered.connect(lambda _=False, v=value: self._edit(problems=v))
            group.addAction(action)
            self.problem_actions[value] = action
        self.problem_button.setMenu(self.problem_menu)

        self.ranges = RangesForm()
        self.ranges.changed.connect(lambda: self._edit(ranges=self.ranges.ranges()))
        self.range_button, self.range_menu = self._popup("Numbers", self.ranges, self._fill_ranges,
                                                         "A minimum and a maximum for each numeric column")

        self.subset_button = self._button("Subset", "Show only the rows of a named subset")
        self.subset_menu = QtWidgets.QMenu(self.subset_button)
        self.subset_menu.aboutToShow.connect(self._fill_subsets)
        self.subset_button.setMenu(self.subset_menu)

        self.contains = QtWidgets.QLineEdit()
        self.contains.setPlaceholderText("caption contains…")
        self.contains.setClearButtonEnabled(True)
        self.contains.setToolTip("Rows whose caption contains this text (any case)")
        # the placeholder whole, beside the frame's margins and the clear button
        self.contains.setMinimumWidth(self.contains.fontMetrics().horizontalAdvance("caption contains…") + 36)
        self.contains.setMaximumWidth(260)
        self._typing = QtCore.QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(TYPING_DELAY_MS)
        self._typing.timeout.connect(self._contains_done)
        self.contains.textChanged.connect(lambda _t: self._typing.start())
        self.contains.returnPressed.connect(self._contains_done)
        self.addWidget(self.contains)
        self.whole = QtWidgets.QCheckBox("whole samples")
        self.whole.setChecked(True)
        self.whole.setToolTip("A caption that matches lets its sample's image and sound pass too "
                              "(unticked: only the text rows)")
        self.whole.toggled.connect(lambda on: self._edit(whole_samples=on))
        self.addWidget(self.whole)
        self.clear_button = self._button("Clear", "Remove every criterion: all rows again")
        self.clear_button.clicked.connect(self.clear)
        self.count = QtWidgets.QLabel()
        self.count.setStyleSheet("color: gray")
        self.addWidget(self.count)
        self.filter.changed.connect(self._sync)
        workspace.subsetsChanged.connect(self._fill_subsets)
        self._sync()

    # ------------------------------------------------------------------ widgets
    def _button(self, text: str, tip: str) -> QtWidgets.QToolButton:
        button = QtWidgets.QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.addWidget(button)
        return button

    def _popup(self, text: str, widget: QtWidgets.QWidget, fill, tip: str):
        button = self._button(text, tip)
        menu = QtWidgets.QMenu(button)
        action = QtWidgets.QWidgetAction(menu)
        action.setDefaultWidget(widget)
        menu.addAction(action)
        menu.aboutToShow.connect(fill)
        button.setMenu(menu)
        return button, menu

    # ------------------------------------------------------------------ the choices, from the table
    def _fill_labels(self) -> None:
        table = self.workspace.table
        values = []
        if table is not None and len(table):   # counted from the label's codes (the place job computed them)
            found = categories(table, "label")
            blank = found.blank
            values = []
            for name, count in zip(found.names.tolist(), found.counts.tolist()):
                if name == "":
                    blank += count
                else:
                    values.append((name, count))
            values.sort(key=lambda v: (-v[1], v[0]))
            if blank:
                values.append((BLANK, blank))
        self.labels.set_values(values, self.filter.spec.labels)

    def _fill_modalities(self) -> None:
        table = self.workspace.table
        values = []
        if table is not None:
            found = categories(table, "modality")
            count = dict(zip(found.names.tolist(), found.counts.tolist()))
            values = [(m, count[m]) for m in table.modalities]
        self.modalities.set_values(values, self.filter.spec.modalities)

    def _fill_ranges(self) -> None:
        table = self.workspace.table
        columns = numeric_columns(table) if table is not None else {}
        whole = whole_number_columns(table) if table is not None else frozenset()
        self.ranges.set_columns(columns, self.filter.spec.ranges, whole)

    def _fill_subsets(self) -> None:
        self.subset_menu.clear()
        group = QtGui.QActionGroup(self.subset_menu)
        current = self.filter.spec.subset
        for name in [None, *self.workspace.subsets]:
            action = self.subset_menu.addAction("All rows" if name is None else name)
            action.setCheckable(True)
            action.setChecked(name == current)
            action.triggered.connect(lambda _=False, n=name: self._edit(subset=n))
            group.addAction(action)
        if not self.workspace.subsets:
            none = self.subset_menu.addAction("(no named subsets yet)")
            none.setEnabled(False)

    # ------------------------------------------------------------------ editing the filter
    def _edit(self, **change) -> None:
        self.filter.set_spec(replace(self.filter.spec, **change))

    def _contains_done(self) -> None:
        self._typing.stop()
        if self.contains.text() != self.filter.spec.contains:
            self._edit(contains=self.contains.text())

    def set_contains(self, text: str) -> None:
        """Type ``text`` in the caption box and apply it at once (as Enter does)."""
        self.contains.setText(text)
        self._contains_done()

    def clear(self) -> None:
        self._typing.stop()
        self.filter.clear()

    def _sync(self) -> None:
        """The buttons, the caption box and the count say what the filter is now."""
        spec = self.filter.spec
        _mark(self.label_button, "Label", None if spec.labels is None else len(spec.labels))
        _mark(self.modality_button, "Modality", None if spec.modalities is None else len(spec.modalities))
        short = {value: s for value, _text, s in PROBLEM_CHOICES}
        _mark(self.problem_button, short[spec.problems], None, spec.problems != "any")
        self.problem_actions[spec.problems].setChecked(True)
        _mark(self.range_button, "Numbers", len(spec.ranges) or None)
        _mark(self.subset_button, "Subset" if spec.subset is None else f"Subset: {spec.subset}", None,
              spec.subset is not None)
        if not self._typing.isActive() and self.contains.text() != spec.contains:
            self.contains.blockSignals(True)
            self.contains.setText(spec.contains)
            self.contains.blockSignals(False)
        self.whole.blockSignals(True)
        self.whole.setChecked(spec.whole_samples)
        self.whole.blockSignals(False)
        self.clear_button.setEnabled(spec.active)
        table = self.workspace.table
        rows = self.filter.rows()
        if not spec.active:
            text = ""
        elif rows is None:
            text = "filtering…"
        else:
            text = f"{len(rows):,} of {len(table):,} rows"
        if self.filter.dropped:
            text += f" ({self.filter.dropped})"
        self.count.setText(text)
        self.count.setToolTip(spec.describe())
        if spec == FilterSpec():   # cleared: the popups forget their choices too
            self.labels.set_values([], None)
            self.modalities.set_values([], None)
            self.ranges.set_columns({}, ())


def _mark(button: QtWidgets.QToolButton, text: str, count: int | None, on: bool | None = None) -> None:
    """A criterion's button: its name, how many values are picked, bold while it filters."""
    on = count is not None if on is None else on
    button.setText(text if count is None else f"{text} ({count})")
    font = button.font()
    font.setBold(on)
    button.setFont(font)


def _decimals(lo: float, hi: float) -> int:
    span = hi - lo
    if span <= 0 or not math.isfinite(span):
        return 2
    return int(min(6, max(0, 2 - math.floor(math.log10(span)))))


def _step(lo: float, hi: float) -> float:
    span = hi - lo
    return 1.0 if span <= 0 else 10.0 ** math.floor(math.log10(span / 10))
