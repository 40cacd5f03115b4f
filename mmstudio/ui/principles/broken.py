"""The broken-assumptions page: one plot per part, drawn from one result
(:mod:`mmstudio.analysis.principles.broken_assumptions`): NLL against the correlation given the
label (logit sum, probability average, true posterior), accuracy with a missing view against the
cross-modal correlation (imputed, mean-filled, the present view alone), and the Procrustes
residual per modality against a shuffled pairing and a rotated copy."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore

from mmstudio.ui.principles.base import CHANCE_PEN, QtPrinciplePage, add_legend, color, draw_bars
from mmstudio.ui.widgets.plots import make_plot
from mmstudio.ui.widgets.spin import spin

# series → palette index, references (dashed) first so that the methods are drawn over them
INDEPENDENCE = {"first view alone": 7, "probability average": 0, "true posterior": 2, "logit sum": 3}
IMPUTATION = {"both views": 7, "first view alone": 0, "mean-filled": 3, "imputed": 2}
DASHED = {"first view alone", "both views"}   # references, not methods


class QtBrokenAssumptionsPage(QtPrinciplePage):
    name = "broken-assumptions"
    title = "Broken assumptions"
    short = "Broken assumptions"

    def build(self) -> None:
        self.rho = spin(0.0, 0.95, 0.8, 0.05, tip="the correlation between the two views given the label at which "
                                                  "the logit sum is judged (0: conditionally independent)")
        self.rho.valueChanged.connect(self.options_changed)
        self.knobs = {"rho": self.rho}
        self.form.addRow("ρ given the label", self.rho)
        self.independence_plot = make_plot("(1) logit sum without independence", "NLL (nats)", "ρ given the label")
        self.imputation_plot = make_plot("(2) imputing a missing view", "accuracy", "ρ between the views")
        self.procrustes_plot = make_plot("(3) two tables as a rotation", "held-out residual")
        for plot in (self.independence_plot, self.imputation_plot, self.procrustes_plot):
            add_legend(plot)   # where the curves leave room
            self.plots.addWidget(plot)
        self.shown: dict[str, dict] = {}   # part → what its plot draws (series → values)

    def options(self) -> dict:
        return {"rho": round(self.rho.value(), 4)}

    def columns(self, options: dict) -> set[str]:
        return {"label"}   # the procrustes part reads the table's vectors, no label column

    def draw(self) -> None:
        r = self.result
        self.shown = {}
        if r.independence:
            self._lines(self.independence_plot, "independence", r.independence["rhos"],
                        {m: [e["mean"] for e in r.independence["curves"][m]["nll"]] for m in INDEPENDENCE},
                        INDEPENDENCE, mark=r.independence["rho"])
        if r.imputation:
            self._lines(self.imputation_plot, "imputation", r.imputation["rhos"],
                        {m: [e["mean"] for e in r.imputation["accuracy"][m]] for m in IMPUTATION}, IMPUTATION)
        if r.procrustes:
            p = r.procrustes
            series = {"A vs B": [p["numbers"][m]["residual"]["mean"] for m in p["modalities"]],
                      "shuffled pairing": [p["numbers"][m]["shuffled residual"]["mean"] for m in p["modalities"]],
                      "rotated copy": [p["control"][m]["residual"] for m in p["modalities"]]}
            top = max(max(v) for v in series.values()) * 1.7 + 1e-9   # room for the legend above the bars
            draw_bars(self.procrustes_plot, list(p["modalities"]), series,
                      {"A vs B": color(2), "shuffled pairing": color(7), "rotated copy": color(0)}, top=top,
                      fmt="{:.3f}")
            self.shown["procrustes"] = series
        for plot, part in ((self.independence_plot, r.independence), (self.imputation_plot, r.imputation),
                           (self.procrustes_plot, r.procrustes)):
            plot.setVisible(part is not None)
        self.readout.setText("<br>".join(self._readout(r)))

    def _lines(self, plot, part: str, x, series: dict, colors: dict, mark: float | None = None) -> None:
        plot.clear()
        plot.plotItem.legend.clear()
        for name, y in series.items():
            rgb = color(colors[name])
            style = QtCore.Qt.PenStyle.DashLine if name in DASHED else QtCore.Qt.PenStyle.SolidLine
            plot.plot(x, y, pen=pg.mkPen(rgb, width=1.5 if name in DASHED else 2.5, style=style), symbol="o", symbolSize=5, symbolBrush=rgb,
                      symbolPen=None, name=name)
        if mark is not None:
            plot.addItem(pg.InfiniteLine(pos=mark, angle=90, pen=pg.mkPen(**CHANCE_PEN)))
        self.shown[part] = {"x": list(x), **series}

    def _readout(self, r) -> list[str]:
        lines = [f"verdict: <b>{r.verdict}</b>"]
        if r.independence:
            h = r.independence["headline"]
            lines.append(f"(1) at ρ = {r.independence['rho']:g}: NLL logit sum "
                         f"<b>{h['independence: NLL logit sum']['mean']:.3f}</b>, true posterior "
                         f"<b>{h['independence: NLL true posterior']['mean']:.3f}</b>")
        if r.imputation:
            frm = r.imputation["helps_from"]
            lines.append("(2) imputing beats mean-filling " + (f"from ρ = <b>{frm:g}</b>" if frm is not None else
                                                                "at no ρ"))
        if r.procrustes:
            p = r.procrustes
            lines.append("(3) residual vs shuffled: " + ", ".join(
                f"{m} <b>{p['numbers'][m]['residual']['mean']:.3f}</b> vs {p['numbers'][m]['shuffled residual']['mean']:.3f}"
                for m in p["modalities"]) + (" <span style='color:#666'>(B: a stand-in)</span>" if p["stand_in"] else ""))
        return lines
