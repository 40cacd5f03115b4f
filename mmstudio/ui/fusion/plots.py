"""The fusion lab's displays: accuracy bars, the metrics table, the confusion matrix, robustness curves.

Each widget draws plain data it is given (:class:`~mmstudio.analysis.fusion.metrics.MethodScore`,
:class:`~mmstudio.analysis.fusion.curves.RobustnessCurve`) and keeps what it drew, so the tests read
the same numbers a person sees.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.ui.colors import MODALITY_COLORS, text_on
from mmstudio.ui.guard import guarded
from mmstudio.ui.widgets.elided import shortened
from mmstudio.ui.widgets.plots import fit_title, make_plot
from mmstudio.ui.widgets.scroll import vertical_scroll
from mmstudio.ui.widgets.tables import whole_width

SINGLE = (150, 150, 150)


COLORS = {"early-linear": (148, 103, 189), "early-mlp": (255, 127, 14), "late-logit": (23, 190, 207),
          "late-prob": (188, 189, 34), "poe": (140, 86, 75), "moe": (227, 119, 194), "cross-attention": (31, 60, 120),
          "gated": (214, 39, 40)}


def method_color(name: str, alpha: int = 255) -> tuple[int, int, int, int]:
    """A fixed colour per fusion method; a single modality in its modality's colour, lighter."""
    if name.endswith("-only"):
        return (*MODALITY_COLORS.get(name[:-5], SINGLE), min(alpha, 150))
    return (*COLORS.get(name, SINGLE), alpha)


TRUST_WORDS = {"confidence": "the more confident expert on each sample (label-free)",
               "clean-accuracy": "the modality more accurate on clean validation data",
               "oracle": "<b>(oracle)</b> the modality more accurate under these very conditions, which needs "
                         "labels of the corrupted data"}


def gate_words(scores) -> str:
    """The gate's open rate and trust, and how many test samples have each modality, in words."""
    present = " · ".join(f"{m} {r:.0%}" for m, r in scores.present_rate.items())
    words = f"Test samples with each modality: {present}."
    gated = scores.methods.get("gated")
    if gated is not None and gated.gate_open_rate is not None:
        trust = " · ".join(f"{m} {t:.2f}" for m, t in scores.trust.items())
        words = (f"<b>Gate open for {gated.gate_open_rate:.0%}</b> of the {scores.n_test} test samples "
                 f"(threshold {scores.knobs.gate:.2f}, {scores.knobs.agreement} agreement); where it closes, "
                 f"gated fusion keeps {TRUST_WORDS.get(scores.knobs.trust, scores.knobs.trust)} "
                 f"(validation accuracy: {trust}). " + words)
    return words


class QtFusionBars(pg.PlotWidget):
    """Accuracy of each method as a horizontal bar (fusion methods coloured, single modalities after)."""

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        fit_title(self)
        self.setTitle("accuracy on the test split", color="#333", size="10pt")
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.getPlotItem().invertY(True)
        for side in ("left", "bottom"):
            self.getAxis(side).setPen(pg.mkPen("#888"))
            self.getAxis(side).setTextPen(pg.mkPen("#333"))
        self.getAxis("bottom").setTicks([[(v, f"{v:g}") for v in (0, 0.25, 0.5, 0.75, 1)]])
        self.getPlotItem().vb.sigResized.connect(self._fit_ticks)
        self.showGrid(x=True, y=False, alpha=0.25)
        self.bars: pg.BarGraphItem | None = None
        self.values: dict[str, float] = {}     # what is drawn: method → bar length
        self._labels: list[pg.TextItem] = []

    def _fit_ticks(self) -> None:
        """Quarters where they fit side by side, else halves."""
        vb = self.getPlotItem().vb
        (x0, x1), _ = vb.viewRange()
        quarter = 0.25 * vb.width() / max(x1 - x0, 1e-9)
        wide = self.fontMetrics().horizontalAdvance("0.75") + 10
        steps = (0, 0.25, 0.5, 0.75, 1) if quarter >= wide else (0, 0.5, 1)
        self.getAxis("bottom").setTicks([[(v, f"{v:g}") for v in steps]])

    def show_values(self, values: dict[str, float]) -> None:
        """Bars of these lengths; the items are kept and updated while the methods stay the same."""
        names = list(values)
        widths = np.nan_to_num(np.array([values[n] for n in names], np.float64))
        if names != list(self.values):
            self._rebuild(names)
        self.values = dict(values)
        if not names:
            return
        self.bars.setOpts(width=widths)
        for label, width, name in zip(self._labels, widths, names):
            inside = width > 0.8  # near the right edge the value goes inside its bar, in a colour that reads on it
            label.setText(f"{width:.3f}")
            label.setColor(text_on(method_color(name)) if inside else (34, 34, 34))
            label.setAnchor((1, 0.5) if inside else (0, 0.5))
            label.setPos(float(width) - 0.01 if inside else float(width) + 0.01, label.pos().y())

    def _rebuild(self, names) -> None:
        plot = self.getPlotItem()
        for item in [self.bars, *self._labels]:
            if item is not None:
                plot.removeItem(item)
        self.bars, self._labels = None, []
        if not names:
            return
        self.bars = pg.BarGraphItem(x0=np.zeros(len(names)), y=np.arange(len(names)), height=0.72,
                                    width=np.zeros(len(names)), brushes=[pg.mkBrush(*method_color(n)) for n in names],
                                    pens=[pg.mkPen(None)] * len(names))
        plot.addItem(self.bars)
        for i in range(len(names)):
            label = pg.TextItem("", color="#222", anchor=(0, 0.5))
            label.setPos(0.01, i)
            plot.addItem(label)
            self._labels.append(label)
        self.getAxis("left").setTicks([[(i, n) for i, n in enumerate(names)]])
        self.setXRange(0, 1.16, padding=0)
        self.setYRange(-0.6, len(names) - 0.4, padding=0)


class QtFusionTable(QtWidgets.QTableWidget):
    """Accuracy, macro-F1, NLL and ECE per method; picking a row picks the method of the confusion matrix."""

    methodPicked = QtCore.Signal(str)
    COLUMNS = (("acc.", "accuracy"), ("F1", "macro_f1"), ("NLL", "nll"), ("ECE", "ece"))

    def __init__(self, parent=None):
        super().__init__(0, len(self.COLUMNS), parent)
        self.setHorizontalHeaderLabels([c for c, _ in self.COLUMNS])
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.verticalHeader().setDefaultSectionSize(20)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)   # it is as wide as its columns
        self.setToolTip("acc.: accuracy; F1: macro-F1; NLL: mean −log p(true class); ECE: expected calibration error (15 bins). "
                        "Click a row to see that method's confusion matrix.")
        self.names: list[str] = []
        self.itemSelectionChanged.connect(self._picked)

    def show_scores(self, scores: dict, selected: str | None) -> None:
        self.blockSignals(True)
        self.names = list(scores)
        self.setRowCount(len(self.names))
        self.setVerticalHeaderLabels(self.names)
        for r, name in enumerate(self.names):
            for c, (_, attr) in enumerate(self.COLUMNS):
                item = QtWidgets.QTableWidgetItem(f"{getattr(scores[name], attr):.3f}")
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.setItem(r, c, item)
        if selected in self.names:
            self.selectRow(self.names.index(selected))
        self.blockSignals(False)
        self.resizeColumnsToContents()
        self.setMinimumWidth(whole_width(self))   # its splitter column cannot squeeze the numbers into "0…"

    def _picked(self) -> None:
        rows = {i.row() for i in self.selectedIndexes()}
        if rows:
            self.methodPicked.emit(self.names[min(rows)])


class QtConfusion(QtWidgets.QTableWidget):
    """Counts of (true class, predicted class), each cell shaded by its share of the row."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.horizontalHeader().setMinimumSectionSize(24)
        self.verticalHeader().setDefaultSectionSize(20)
        self.setStyleSheet("font-size: 8pt")
        self.setToolTip("rows: true class, columns: predicted class")
        self.matrix = np.zeros((0, 0), np.int64)
        self.classes: list[str] = []
        self.horizontalHeader().sectionResized.connect(lambda *_: self._fit_headers())

    def show_matrix(self, matrix: np.ndarray, classes) -> None:
        k = len(classes)
        self.matrix = np.asarray(matrix, np.int64).reshape(k, k)
        self.setRowCount(k)
        self.setColumnCount(k)
        self.classes = [str(c) for c in classes]
        self.setHorizontalHeaderLabels(self.classes)
        self.setVerticalHeaderLabels(self.classes)
        for j, name in enumerate(self.classes):   # a narrow column shortens its class's name: the tooltip has it
            self.horizontalHeaderItem(j).setToolTip(f"predicted {name}")
            self.verticalHeaderItem(j).setToolTip(f"true {name}")
        self._fit_headers()
        share = self.matrix / np.maximum(self.matrix.sum(axis=1, keepdims=True), 1)
        for i in range(k):
            for j in range(k):
                item = QtWidgets.QTableWidgetItem(str(int(self.matrix[i, j])))
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                s = float(share[i, j])
                base = (44, 160, 44) if i == j else (214, 39, 40)
                colour = [int(255 - s * (255 - c)) for c in base]
                item.setBackground(QtGui.QBrush(QtGui.QColor(*colour)))
                item.setForeground(QtGui.QBrush(QtGui.QColor(*text_on(colour))))
                self.setItem(i, j, item)


    def _fit_headers(self) -> None:
        """Each column's class name whole where it fits, else shortened ("squ."), never cut mid-letter."""
        header = self.horizontalHeader()
        pad = 2 * header.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_HeaderMargin, None, header)
        for j, name in enumerate(self.classes):
            item = self.horizontalHeaderItem(j)
            room = header.sectionSize(j) - pad
            if item is not None:
                item.setText(shortened(name, lambda t, r=room: header.fontMetrics().horizontalAdvance(t) <= r, 1)
                             or name[:1])

    @guarded(None)
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        QtCore.QTimer.singleShot(0, self, self._fit_headers)   # stretched sections resize without sectionResized


class QtFusionCurves(QtWidgets.QWidget):
    """A metric of every shown method against one corruption knob for one modality (or all)."""

    requested = QtCore.Signal()       # the person changed what to plot

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QtWidgets.QGridLayout()   # two rows: the three choices did not fit a narrow column side by side;
        bar.setContentsMargins(0, 0, 0, 0)   # the plot's title says what they chose ("accuracy vs missing (all)")
        self.knob = QtWidgets.QComboBox()
        self.knob.addItems(["missing", "noise", "mismatch"])
        self.modality = QtWidgets.QComboBox()
        self.modality.addItem("all")
        self.metric_box = QtWidgets.QComboBox()
        self.metric_box.addItems(["accuracy", "macro_f1", "nll", "ece"])
        tips = ("the knob the curve moves", "the modality it moves (all: every one)", "the score drawn")
        for i, (combo, tip) in enumerate(zip((self.knob, self.modality, self.metric_box), tips)):
            bar.addWidget(combo, i // 2, i % 2)
            combo.setToolTip(tip)
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.currentTextChanged.connect(lambda _: self.requested.emit())
        bar.setColumnStretch(2, 1)
        layout.addLayout(bar)
        self.plot = make_plot(minimum=(0, 0))
        layout.addWidget(self.plot, 3)
        self.legend = QtWidgets.QLabel()
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet("font-size: 8pt")
        self.note = QtWidgets.QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555")
        layout.addWidget(vertical_scroll(self.legend, self.note), 2)   # the words scroll, the curves keep their room
        self.curve = None
        self._marker = pg.InfiniteLine(angle=90, pen=pg.mkPen((120, 120, 120), style=QtCore.Qt.PenStyle.DashLine))

    def set_modalities(self, modalities) -> None:
        current = self.modality.currentText()
        self.modality.blockSignals(True)
        self.modality.clear()
        self.modality.addItems(["all", *modalities])
        if current in ("all", *modalities):
            self.modality.setCurrentText(current)
        self.modality.blockSignals(False)

    def choice(self) -> dict:
        return {"knob": self.knob.currentText(), "modality": self.modality.currentText(),
                "metric": self.metric_box.currentText()}

    def set_choice(self, choice: dict) -> None:
        for key, combo in (("knob", self.knob), ("modality", self.modality), ("metric", self.metric_box)):
            if choice.get(key) and combo.findText(choice[key]) < 0 and key == "modality":
                combo.addItem(choice[key])   # the table with that modality is still on its way
            if choice.get(key):
                combo.setCurrentText(choice[key])

    def show_curve(self, curve, methods, level: float | None) -> None:
        self.curve = curve
        plot = self.plot.getPlotItem()
        plot.clear()
        keys = []
        for name in methods:
            if name not in curve.values:
                continue
            single = name.endswith("-only")
            pen = pg.mkPen(method_color(name), width=1.5 if single else 2,
                           style=QtCore.Qt.PenStyle.DashLine if single else QtCore.Qt.PenStyle.SolidLine)
            plot.plot(curve.levels, curve.values[name], pen=pen)
            colour = "#%02x%02x%02x" % method_color(name)[:3]
            keys.append(f"<span style='color:{colour}'>{'╌' if single else '━'}</span>&nbsp;{name}")
        self.legend.setText(" &nbsp; ".join(keys))
        if level is not None:
            self._marker.setValue(level)
            plot.addItem(self._marker)
        unit = {"missing": "missing rate", "noise": "noise σ (of the vector norm)", "mismatch": "mismatched fraction"}
        plot.setLabel("bottom", f"{unit[curve.knob]} — {curve.modality}", color="#333")
        self.plot.setTitle(f"{curve.metric} vs {curve.knob} ({curve.modality})", color="#333", size="10pt")
        if curve.metric in ("accuracy", "macro_f1", "ece"):
            self.plot.setYRange(0, 1.02, padding=0)
        else:
            self.plot.enableAutoRange(axis="y")
        higher_is_better = curve.metric in ("accuracy", "macro_f1")
        best = max((n for n in methods if n in curve.values and not n.endswith("-only")),
                   key=curve.relative, default=None) if higher_is_better else None
        self.note.setText("" if best is None else
                          f"Most robust here: {best} (relative robustness {curve.relative(best):.2f}: mean "
                          f"{curve.metric} over the levels ÷ its clean value). Dashed: one modality alone.")

    def clear(self) -> None:
        self.curve = None
        self.plot.getPlotItem().clear()
        self.legend.setText("")
        self.note.setText("")
