"""The modality gap of one pair and the shift experiment, with a slider that re-scores retrieval live.

The slider moves δ (in % of the measured gap, as the report's grid: −100 doubles the gap, 100
closes it, 200 mirrors it); each move calls :func:`mmstudio.analysis.alignment.gap.gap_shift` for that one
δ: on the GUI thread for up to ``LIVE_SHIFT_PAIRS`` pairs (well under a millisecond for the
demo), as a job above. The plot is the report's whole grid with a line at the slider.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from mmstudio.core.values import num
from mmstudio.ui.widgets.legend import legend_html
from mmstudio.ui.widgets.scroll import vertical_scroll

CURVE_COLOURS = ((66, 133, 244), (234, 67, 53))   # query a → b, b → a
LIVE_SHIFT_PAIRS = 1000
SHIFT_RANGE = (-100, 200)


class QtGapShift(QtWidgets.QWidget):
    scored = QtCore.Signal()   # the readout shows a new δ's retrieval

    def __init__(self, runner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.data = None
        self.result = None     # the GapShift of the slider's δ
        self.text = QtWidgets.QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(*SHIFT_RANGE)
        self.slider.setTickPosition(QtWidgets.QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(50)
        self.slider.setToolTip("Shift the two modalities along the gap direction (δ in % of the gap: 100 closes "
                               "it, negative widens it) and re-score retrieval")
        self.slider.valueChanged.connect(lambda _: self.rescore())
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMinimumHeight(90)
        self.plot.setLabel("bottom", "shift δ / gap")
        self.plot.setLabel("left", "R@1")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setYRange(0, 1.1)
        self.legend = QtWidgets.QLabel()   # outside the plot: the curves fill it
        self.legend.setStyleSheet("font-size: 8pt")
        self.legend.setWordWrap(True)
        self.curves = [self.plot.plot(pen=pg.mkPen(CURVE_COLOURS[0], width=2)),
                       self.plot.plot(pen=pg.mkPen(CURVE_COLOURS[1], width=2, style=QtCore.Qt.PenStyle.DashLine))]
        self.line = pg.InfiniteLine(0, pen=pg.mkPen((120, 120, 120), width=1))
        self.plot.addItem(self.line)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(QtWidgets.QLabel("<b>Modality gap</b>"))
        layout.addWidget(vertical_scroll(self.text), 2)   # the numbers scroll in a low panel; the plot keeps its room
        layout.addWidget(self.slider)
        layout.addWidget(self.legend)
        layout.addWidget(self.plot, 3)

    def fraction(self) -> float:
        return self.slider.value() / 100.0

    def set_fraction(self, value: float) -> None:
        self.slider.setValue(int(round(100 * float(value))))

    def set_pair(self, data) -> None:
        self.data = data
        shift = data.report.get("gap", {}).get("shift") if data is not None else None
        if not shift or not shift.get("gap"):
            for curve in self.curves:
                curve.setData([], [])
        else:
            x = np.asarray(shift["deltas"], float) / shift["gap"]
            for curve, key in zip(self.curves, ("R@1_ab", "R@1_ba")):
                curve.setData(x, np.asarray([np.nan if v is None else v for v in shift[key]], float))
        names = (f"{data.a} → {data.b}", f"{data.b} → {data.a}") if shift and shift.get("gap") else ()
        self.legend.setText(legend_html(zip(names, CURVE_COLOURS, ("━", "╌"))))
        self.rescore()

    def rescore(self) -> None:
        """Re-score retrieval with the pair shifted by the slider's δ: at once for small sets, else a job."""
        data = self.data
        self.line.setValue(self.fraction())
        if data is None or "gap" not in data.report:
            self.result = None
            self.text.setText(data.report.get("note", "") if data is not None else "")
            return
        delta = self.fraction() * data.report["gap"]["distance"]
        xa, xb = data.xa, data.xb

        def work(job=None):
            from mmstudio.analysis.alignment.gap import gap_shift

            return gap_shift(xa, xb, [delta], job=job)

        if len(xa) <= LIVE_SHIFT_PAIRS:
            self._shifted(data, delta, work())
        else:
            self.text.setText(self.text.text().split("<br>")[0] + "<br>re-scoring…")
            self.runner.start("alignment-shift", work, label="gap shift",
                              on_done=lambda result: self._shifted(data, delta, result))

    def _shifted(self, data, delta, result) -> None:
        if data is not self.data:
            return
        self.result = result
        base = {r["query"]: r["R@1"] for r in data.report["retrieval"]}
        a, b, gap = data.a, data.b, data.report["gap"]
        best = gap["best_delta"] / gap["distance"] if gap["distance"] else 0.0
        self.text.setText(
            f"gap ‖Δ‖ = <b>{num(gap['distance'])}</b> (centroid distance) · best shift {best:+.2f} × gap<br>"
            f"δ = {self.fraction():+.2f} × gap ({delta:+.3f}) → gap {num(float(result.gap_after[0]))} · mean rank "
            f"{num(float(result.mean_rank_ab[0]), 2)} / {num(float(result.mean_rank_ba[0]), 2)}"
            + (f" · {result.n:,} of {len(data.xa):,} pairs, random (seed 0)" if result.n < len(data.xa) else "")
            + "<br>"
            f"R@1 {a} → {b} <b>{num(float(result.r1_ab[0]))}</b> (was {num(base.get(a))}) · "
            f"{b} → {a} <b>{num(float(result.r1_ba[0]))}</b> (was {num(base.get(b))})")
        self.scored.emit()
