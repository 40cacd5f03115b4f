"""The negative-transfer page: accuracy against the share of mismatched rows of one modality, for
the best single modality, two fusions without a gate, the label-free gate and the oracle gate
(which reads labels of the corrupted data: drawn dashed and named so), each a mean over seeds with
its 95 % interval; beside it the same corruption at test time only vs at training time as well."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from mmstudio.ui.principles.base import QtPrinciplePage, add_legend, color
from mmstudio.ui.widgets.plots import make_plot
from mmstudio.ui.widgets.spin import int_spin, spin

TEST, TRAIN = "test only", "also at training"
# method → (legend name, colour, line style, width) on the first plot
CURVES = {
    "best single": ("best single modality", color(7), QtCore.Qt.PenStyle.SolidLine, 2.5),
    "logit sum": ("logit sum (no gate)", color(0), QtCore.Qt.PenStyle.SolidLine, 2.0),
    "concat MLP": ("concat MLP (no gate)", color(1), QtCore.Qt.PenStyle.SolidLine, 2.0),
    "gate (label-free)": ("gate, label-free", color(2), QtCore.Qt.PenStyle.SolidLine, 2.0),
    "gate (oracle)": ("gate, oracle (leaks test-corruption labels)", color(4), QtCore.Qt.PenStyle.DashLine, 1.5),
}
NEGATIVE = (214, 39, 40)


class QtNegativeTransferPage(QtPrinciplePage):
    name = "negative-transfer"
    title = "Negative transfer: one modality corrupted"
    short = "Negative transfer"

    def build(self) -> None:
        self.largest = spin(0.1, 1.0, 0.8, 0.1, tip="the largest share of audio rows swapped with another sample's")
        self.levels = int_spin(2, 9, 5, "how many shares from 0 to the largest (evenly spaced)")
        self.seeds = int_spin(2, 10, 5, "seeds: each its own split and initialisation; means with a 95 % interval")
        for box in (self.largest, self.levels, self.seeds):
            box.valueChanged.connect(self.options_changed)
        self.knobs = {"largest": self.largest, "levels": self.levels, "seeds": self.seeds}
        self.form.addRow("largest share", self.largest)
        self.form.addRow("shares", self.levels)
        self.form.addRow("seeds", self.seeds)
        self.test_plot = make_plot("corruption at test time: test accuracy", "accuracy", "share of rows mismatched f")
        self.train_plot = make_plot("at test only (dashed) vs also at training (solid)", "accuracy",
                                    "share of rows mismatched f")
        for plot in (self.test_plot, self.train_plot):
            add_legend(plot)
            self.plots.addWidget(plot)
        self.curves: dict[str, list[float]] = {}                  # "view: method" → mean accuracy per share
        self.intervals: dict[str, list[tuple[float, float]]] = {}  # "view: method" → 95 % interval per share
        self.marked: list[tuple[str, float]] = []                  # (fusion, f) drawn as negative transfer

    def options(self) -> dict:
        n, top = self.levels.value(), self.largest.value()
        return {"strengths": tuple(round(top * i / (n - 1), 4) for i in range(n)), "seeds": self.seeds.value()}

    def columns(self, options: dict) -> set[str]:
        return {"shape"}

    def draw(self) -> None:
        r = self.result
        x = np.asarray(r.strengths, np.float64)
        self.curves, self.intervals, self.marked = {}, {}, []
        for plot in (self.test_plot, self.train_plot):
            plot.clear()
            plot.plotItem.legend.clear()
        for method, (label, rgb, style, width) in CURVES.items():
            self._curve(self.test_plot, x, r.accuracy[TEST][method], f"{TEST}: {method}", label,
                        pg.mkPen(rgb, width=width, style=style), rgb)
        for method in ("best single", "logit sum", "concat MLP"):
            label, rgb, _, width = CURVES[method]
            for view, style in ((TEST, QtCore.Qt.PenStyle.DashLine), (TRAIN, QtCore.Qt.PenStyle.SolidLine)):
                if method == "best single" and view == TEST:
                    continue   # the same modalities alone, drawn once
                name = label if view == TRAIN else None
                self._curve(self.train_plot, x, r.accuracy[view][method], f"{view}: {method}", name,
                            pg.mkPen(rgb, width=width, style=style), rgb)
        for method, flags in r.negative.items():
            self.marked += [(method, float(f)) for f, on in zip(r.strengths, flags) if on]
        if self.marked:
            mx = [f for _, f in self.marked]
            my = [r.accuracy[TEST][m][r.strengths.index(f)]["mean"] for m, f in self.marked]
            self.test_plot.plot(mx, my, pen=None, symbol="x", symbolSize=12, symbolPen=pg.mkPen(NEGATIVE, width=2),
                                name="below the best single (beyond noise)")
        for plot in (self.test_plot, self.train_plot):
            plot.setYRange(0, 1.05, padding=0)
            plot.setXRange(float(x.min()), float(x.max()), padding=0.05)
        self.readout.setText(self._readout())

    def _curve(self, plot, x, estimates, key, name, pen, rgb) -> None:
        mean = np.array([e["mean"] for e in estimates])
        lo = np.array([e["ci95"][0] for e in estimates])
        hi = np.array([e["ci95"][1] for e in estimates])
        self.curves[key] = mean.tolist()
        self.intervals[key] = list(zip(lo.tolist(), hi.tolist()))
        plot.addItem(pg.ErrorBarItem(x=x, y=mean, top=hi - mean, bottom=mean - lo, beam=0.015,
                                     pen=pg.mkPen(rgb, width=1)))
        plot.plot(x, mean, pen=pen, symbol="o", symbolSize=5, symbolBrush=rgb, symbolPen=None, name=name)

    def _readout(self) -> str:
        r = self.result
        starts = r.numbers.get("starts", {})
        lines = [f"{m}: negative transfer " + (f"from f = <b>{starts[m]:g}</b>" if starts.get(m) is not None
                                                else "at no share tried") for m in r.negative]
        top = len(r.strengths) - 1
        acc = r.accuracy[TEST]
        lines.append(f"at f = {r.strengths[top]:g}: best single ({r.best_single[TEST][top]}) "
                     f"<b>{acc['best single'][top]['mean']:.2f}</b>, logit sum {acc['logit sum'][top]['mean']:.2f}, "
                     f"label-free gate {acc['gate (label-free)'][top]['mean']:.2f}, "
                     f"oracle gate {acc['gate (oracle)'][top]['mean']:.2f}")
        return "<br>".join(lines) + (f"<br><span style='color:#666'>{r.corrupted} vectors swapped with other samples'; "
                                     f"bars: 95 % intervals over {len(r.seeds)} seeds; the oracle gate reads labels "
                                     "of the corrupted data (an upper bound)</span>")
