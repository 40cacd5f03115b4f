"""The product vs mixture of experts page: sliders for two Gaussian experts' means and variances
and the mixture weight; the densities are recomputed (pure numpy, instant) and redrawn live."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore

from mmstudio.ui.principles.base import QtPrinciplePage, add_legend, color
from mmstudio.ui.widgets.plots import make_plot
from mmstudio.ui.widgets.slider import QtSlider

# slider name → (label, low, high, step, default, format)
SLIDERS = {
    "mean1": ("mean μ₁", -5.0, 5.0, 0.1, -1.0, "{:+.1f}"),
    "variance1": ("variance σ₁²", 0.05, 5.0, 0.05, 1.0, "{:.2f}"),
    "mean2": ("mean μ₂", -5.0, 5.0, 0.1, 2.0, "{:+.1f}"),
    "variance2": ("variance σ₂²", 0.05, 5.0, 0.05, 0.5, "{:.2f}"),
    "weight1": ("mixture weight w₁", 0.0, 1.0, 0.01, 0.5, "{:.2f}"),
}
CURVES = {"expert 1": (color(0), 1.5, QtCore.Qt.PenStyle.SolidLine),
          "expert 2": (color(1), 1.5, QtCore.Qt.PenStyle.SolidLine),
          "product (PoE)": (color(2), 3.0, QtCore.Qt.PenStyle.SolidLine),
          "mixture (MoE)": (color(4), 3.0, QtCore.Qt.PenStyle.DashLine)}


class QtPoEMoEPage(QtPrinciplePage):
    name = "poe-moe"
    title = "Product vs mixture of experts"
    short = "PoE vs MoE"
    trained = False

    def build(self) -> None:
        self.sliders: dict[str, QtSlider] = {}
        for key, (label, low, high, step, default, fmt) in SLIDERS.items():
            slider = QtSlider(low, high, step, default, fmt)
            slider.valueChanged.connect(self.options_changed)
            self.sliders[key] = self.knobs[key] = slider
            self.form.addRow(label, slider)
        self.plot = make_plot("densities", "p(x)", "x")
        add_legend(self.plot)
        self.curves = {}
        for name, (rgb, width, style) in CURVES.items():
            self.curves[name] = self.plot.plot([], [], pen=pg.mkPen(rgb, width=width, style=style), name=name)
        self.plots.addWidget(self.plot)
        self.shown: dict[str, float] = {}   # the moments printed in the read-out

    def values(self) -> dict[str, float]:
        return {key: s.value() for key, s in self.sliders.items()}

    def options(self) -> dict:
        v = self.values()
        return {"means": (v["mean1"], v["mean2"]), "variances": (v["variance1"], v["variance2"]),
                "weights": (v["weight1"], 1.0 - v["weight1"])}

    def draw(self) -> None:
        r = self.result
        if r is None:
            return
        for i, name in enumerate(("expert 1", "expert 2")):
            self.curves[name].setData(r.grid, r.expert_density[i])
        self.curves["product (PoE)"].setData(r.grid, r.poe_density)
        self.curves["mixture (MoE)"].setData(r.grid, r.moe_density)
        self.shown = {"poe_mean": r.poe_mean, "poe_variance": r.poe_variance,
                      "moe_mean": r.moe_mean, "moe_variance": r.moe_variance}
        self.readout.setText(
            f"<b>product</b>: mean {r.poe_mean:.3f}, variance <b>{r.poe_variance:.3f}</b><br>"
            f"<b>mixture</b>: mean {r.moe_mean:.3f}, variance <b>{r.moe_variance:.3f}</b><br>"
            f"<span style='color:#666'>experts' variances {r.variances[0]:.2f}, {r.variances[1]:.2f}</span>")
