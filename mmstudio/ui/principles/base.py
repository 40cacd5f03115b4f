"""What every page of the principles lab shares: a controls column (title, what it shows, the
knobs, Run, progress), one or more pyqtgraph plots, and the result's statement underneath.

A page knows its principle's ``options()`` and draws a result (``show_result``); it never runs
anything itself: it asks (``runRequested``) and the panel (:mod:`mmstudio.ui.principles.panel`)
runs the principle — in a job when it trains — and hands the result back.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from mmstudio.ui.colors import MODALITY_COLORS, PALETTE
from mmstudio.ui.widgets.legend import add_legend as keep_off_data
from mmstudio.ui.widgets.plots import category_ticks

CONTROLS_WIDTH = 250
PLOTS_WIDTH = 440   # the least the plots of a page share: 1024 px minus the page list, controls and margins
OPTIONS_DELAY_MS = 500    # a spin box stepped within this runs once
def LABEL_FONT():  # noqa: N802 - a constant made on demand (a QFont needs the application)
    from PySide6 import QtGui

    font = QtGui.QFont()
    font.setPointSizeF(7.5)
    return font


CHANCE_PEN = dict(color=(120, 120, 120), style=QtCore.Qt.PenStyle.DashLine, width=1)


def color(i: int) -> tuple[int, int, int]:
    return tuple(int(c) for c in PALETTE[i % 10])


def modality_color(name: str, i: int = 0) -> tuple[int, int, int]:
    return MODALITY_COLORS.get(name, color(i + 4))


def add_legend(plot: pg.PlotWidget) -> pg.LegendItem:
    """A legend on a background that keeps off the curves and bars (:mod:`mmstudio.ui.widgets.legend`)."""
    return keep_off_data(plot, labelTextSize="8pt")


def intervals(result, keys: list[str]) -> list | None:
    """The 95 % intervals (low, high) of ``result.headline[key]`` for each key; None when one is missing."""
    headline = getattr(result, "headline", None) or {}
    if not all(k in headline for k in keys):
        return None
    return [tuple(headline[k]["ci95"]) for k in keys]


def seeds_note(result) -> str:
    """"mean of 5 seeds, bars: 95 % interval" for a result over seeds, "" for a closed form."""
    n = len(getattr(result, "seeds", ()) or ())
    return f"<span style='color:#666'>means over {n} seeds; whiskers: 95 % interval</span>" if n > 1 else ""


def draw_bars(plot: pg.PlotWidget, groups: list[str], series: dict[str, list[float]], colors: dict,
              top: float | None = None, fmt: str = "{:.2f}", chance: list[float | None] | None = None,
              errors: dict[str, list] | None = None) -> None:
    """Grouped vertical bars: one group per ``groups`` entry, one bar per ``series`` entry in each,
    the value written above every bar; ``chance`` draws a dashed line across each group; ``errors``
    (series → one (low, high) per group, e.g. a 95 % interval over seeds) draws a whisker on each bar.

    Drawn again with the same groups, series and colours (a knob moved), the bars and their labels
    are updated in place: making them anew took most of a redraw."""
    names = list(series)
    shape = (tuple(groups), tuple(names), tuple(tuple(colors[n]) for n in names), tuple(chance or ()))
    kept = getattr(plot, "_bar_items", None)
    if kept is None or kept[0] != shape or (kept[1] and kept[1][0].scene() is None):  # (or cleared meanwhile)
        kept = _new_bars(plot, groups, names, colors, chance, shape)
    _, bars, labels, whiskers = kept
    if not names or not groups:
        return
    width = 0.8 / len(names)
    highest = 0.0
    for j, name in enumerate(names):
        values = np.nan_to_num(np.asarray(series[name], np.float64))
        x = np.arange(len(groups)) - 0.4 + width * (j + 0.5)
        bars[j].setOpts(x=x, height=values, width=width * 0.9)
        interval = (errors or {}).get(name)
        tops = values
        if interval is not None:
            lo, hi = (np.nan_to_num(np.asarray(v, np.float64)) for v in zip(*interval))
            whiskers[j].setData(x=x, y=values, top=np.maximum(hi - values, 0), bottom=np.maximum(values - lo, 0),
                                beam=width * 0.3)
            tops = np.maximum(values, hi)
        whiskers[j].setVisible(interval is not None)
        for label, xi, v, t in zip(labels[j], x, values, tops):
            label.setText(fmt.format(v))
            label.setPos(float(xi), float(t))
        highest = max(highest, float(tops.max()))
    plot.setXRange(-0.5, len(groups) - 0.5, padding=0.02)
    plot.setYRange(0, top if top is not None else highest * 1.25 + 1e-9, padding=0)


def _new_bars(plot: pg.PlotWidget, groups, names, colors, chance, shape):
    """The items of :func:`draw_bars` for one shape of data: a BarGraphItem per series, a label per bar."""
    plot.clear()
    if plot.plotItem.legend is not None:
        plot.plotItem.legend.clear()
    bars, labels, whiskers = [], [], []
    legend = plot.plotItem.legend if len(names) > 1 else None
    for name in names:
        item = pg.BarGraphItem(x=np.zeros(len(groups)), height=np.zeros(len(groups)), width=0.1,
                               brush=pg.mkBrush(*colors[name]), pen=pg.mkPen(None))
        plot.addItem(item)
        if legend is not None:
            legend.addItem(item, name)
        bars.append(item)
        whisker = pg.ErrorBarItem(x=np.zeros(len(groups)), y=np.zeros(len(groups)), pen=pg.mkPen("#333", width=1))
        whisker.setVisible(False)
        plot.addItem(whisker)
        whiskers.append(whisker)
        texts = []
        for _ in groups:
            label = pg.TextItem("", color="#222", anchor=(0.5, 1))
            label.setFont(LABEL_FONT())
            plot.addItem(label)
            texts.append(label)
        labels.append(texts)
    for g, level in enumerate(chance or []):
        if level is not None:
            plot.plot([g - 0.45, g + 0.45], [level, level], pen=pg.mkPen(**CHANCE_PEN))
    category_ticks(plot, list(enumerate(groups)))   # wrapped and shortened to their room: never over each other
    plot._bar_items = (shape, bars, labels, whiskers)
    return plot._bar_items


class QtPrinciplePage(QtWidgets.QWidget):
    """One principle: controls on the left, plots on the right, the statement below them."""

    name = ""                  # the key in ``mmstudio.analysis.principles.registry.PRINCIPLES``
    title = ""
    short = ""                 # in the page list
    trained = True             # runs as a job (False: computed at once on the GUI thread)
    runRequested = QtCore.Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result = None     # the result drawn
        self.knobs: dict[str, QtWidgets.QWidget] = {}   # the controls saved in project files
        self._options_timer = QtCore.QTimer(self)
        self._options_timer.setSingleShot(True)
        self._options_timer.setInterval(OPTIONS_DELAY_MS)
        self._options_timer.timeout.connect(lambda: self.runRequested.emit(self.name))
        side = QtWidgets.QWidget()
        side.setFixedWidth(CONTROLS_WIDTH)
        column = QtWidgets.QVBoxLayout(side)
        column.setContentsMargins(0, 0, 6, 0)
        heading = QtWidgets.QLabel(f"<b>{self.title}</b>")
        heading.setWordWrap(True)
        column.addWidget(heading)
        self.help = QtWidgets.QLabel(self.help_text())
        self.help.setWordWrap(True)
        self.help.setStyleSheet("color: #666;")
        column.addWidget(self.help)
        self.form = QtWidgets.QFormLayout()
        self.form.setContentsMargins(0, 4, 0, 4)
        self.form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        column.addLayout(self.form)
        self.run_button = QtWidgets.QPushButton("Run")
        self.run_button.setToolTip("Compute this principle with the options above (results are kept per option set)")
        self.run_button.clicked.connect(lambda: self.runRequested.emit(self.name))
        self.run_button.setVisible(self.trained)
        column.addWidget(self.run_button)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        self.progress.setVisible(False)
        column.addWidget(self.progress)
        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        column.addWidget(self.status)
        self.readout = QtWidgets.QLabel()   # the page's key numbers
        self.readout.setWordWrap(True)
        self.readout.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.readout)
        self.data_label = QtWidgets.QLabel()
        self.data_label.setWordWrap(True)
        self.data_label.setStyleSheet("color: #666;")
        column.addWidget(self.data_label)
        column.addStretch(1)

        self.plots = QtWidgets.QHBoxLayout()
        self.plots.setSpacing(6)
        self.statement = QtWidgets.QLabel("Press Run to compute." if self.trained else "")
        self.statement.setWordWrap(True)
        self.statement.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.statement.setMinimumHeight(36)
        self.statement.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        right = QtWidgets.QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.addLayout(self.plots, 1)
        right.addWidget(self.statement)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        controls = QtWidgets.QScrollArea()   # the words and knobs scroll when the panel is low
        controls.setWidget(side)
        controls.setWidgetResizable(True)
        controls.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        controls.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        controls.setFixedWidth(CONTROLS_WIDTH + controls.verticalScrollBar().sizeHint().width())
        layout.addWidget(controls)
        layout.addLayout(right, 1)
        self.build()
        self._fit_plots()

    def _fit_plots(self) -> None:
        """Side by side, the plots share what the controls leave: a page of three plots must still fit
        a 1024-px-wide window, so they may shrink below one plot's usual minimum width."""
        plots = [self.plots.itemAt(i).widget() for i in range(self.plots.count())]
        plots = [p for p in plots if p is not None]
        if len(plots) >= 3:
            for plot in plots:
                plot.setMinimumWidth(min(plot.minimumWidth(), PLOTS_WIDTH // len(plots)))

    # ------------------------------------------------------------------ for the subclasses
    def help_text(self) -> str:
        from mmstudio.analysis.principles.registry import PRINCIPLES

        text = PRINCIPLES[self.name].help
        return text[:1].upper() + text[1:] + "."

    def build(self) -> None:
        """Add the controls (to ``self.form``) and the plots (to ``self.plots``)."""

    def options(self) -> dict:
        """The principle function's keyword arguments the controls set."""
        return {}

    def columns(self, options: dict) -> set[str]:
        """The label columns a table needs for these options (empty: no table used)."""
        return set()

    def draw(self) -> None:
        """Draw ``self.result`` (called again when a display-only control changes)."""

    def page_settings(self) -> dict:
        """The values of the controls in ``self.knobs`` (name → widget), for project files."""
        return {key: _get(widget) for key, widget in self.knobs.items()}

    def apply_page_settings(self, settings: dict) -> None:
        for key, value in settings.items():
            if key in self.knobs:
                try:
                    _set(self.knobs[key], value)
                except (TypeError, ValueError):
                    pass  # a damaged project file keeps the control as it is

    # ------------------------------------------------------------------ shared
    def options_changed(self) -> None:
        """A control that changes what is computed moved: ask for a run (debounced when it trains)."""
        if self.trained:
            self._options_timer.start()
        else:
            self.runRequested.emit(self.name)

    def show_result(self, result) -> None:
        self.result = result
        self.set_busy(None)
        self.statement.setText(result.statement)
        self.draw()

    def set_busy(self, text: str | None) -> None:
        """``text`` ("computing…"): shown while a job runs, the old plot stays; ``None``: done."""
        self.progress.setVisible(text is not None)
        if text is not None:
            self.progress.setRange(0, 0)
        self.status.setText(text or "")
        self.status.setStyleSheet("")

    def set_error(self, message: str) -> None:
        self.progress.setVisible(False)
        self.status.setText(message)
        self.status.setStyleSheet("color: #b00020;")

    def set_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))

    def set_status(self, text: str) -> None:
        if self.progress.isVisible():
            self.status.setText(f"computing… {text}")

    def settings(self) -> dict:
        return self.page_settings()

    def apply_settings(self, settings: dict) -> None:
        blockers = [QtCore.QSignalBlocker(w) for w in self.findChildren(QtWidgets.QWidget)]
        try:
            self.apply_page_settings(settings or {})
        finally:
            del blockers
        if self.result is not None:
            self.draw()


def _get(widget):
    if isinstance(widget, QtWidgets.QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QtWidgets.QComboBox):
        return widget.currentText()
    return widget.value()


def _set(widget, value) -> None:
    if isinstance(widget, QtWidgets.QCheckBox):
        widget.setChecked(bool(value))
    elif isinstance(widget, QtWidgets.QComboBox):
        if widget.findText(str(value)) >= 0:
            widget.setCurrentText(str(value))
    elif isinstance(widget, QtWidgets.QSpinBox):
        widget.setValue(int(value))
    elif hasattr(widget, "set_value"):
        widget.set_value(float(value))
    else:
        widget.setValue(float(value))


def log_ticks(plot: pg.PlotWidget, values) -> None:
    """Bottom-axis ticks at these values (the axis in log mode), written in full."""
    import math

    plot.getAxis("bottom").setTicks([[(math.log10(v), f"{int(v)}") for v in values if v > 0]])
