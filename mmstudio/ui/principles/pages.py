"""The principles that learn from data, one page each (drawn from plain result dataclasses of
:mod:`mmstudio.analysis.principles.registry`); the panel runs them as jobs. Each page keeps what it drew
in plain attributes (``values``, ``shown_ratio``…) so tests read what a person sees."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from mmstudio.ui.principles.base import (
    CHANCE_PEN,
    QtPrinciplePage,
    add_legend,
    color,
    draw_bars,
    intervals,
    log_ticks,
    modality_color,
    seeds_note,
)
from mmstudio.ui.principles.broken import QtBrokenAssumptionsPage
from mmstudio.ui.principles.interactions import QtInteractionsPage
from mmstudio.ui.principles.negative_transfer import QtNegativeTransferPage
from mmstudio.ui.principles.poe import QtPoEMoEPage
from mmstudio.ui.widgets.plots import category_ticks, make_plot
from mmstudio.ui.widgets.spin import int_spin, spin


def _check(text: str, on: bool, tip: str = "") -> QtWidgets.QCheckBox:
    box = QtWidgets.QCheckBox(text)
    box.setChecked(on)
    box.setToolTip(tip)
    return box


def _combo(items, tip: str = "") -> QtWidgets.QComboBox:
    box = QtWidgets.QComboBox()
    box.addItems(list(items))
    box.setToolTip(tip)
    return box


class QtComplementarityPage(QtPrinciplePage):
    name = "complementarity"
    title = "Complementarity: XOR"
    short = "XOR / complementarity"

    def build(self) -> None:
        self.noise = spin(0.05, 1.0, 0.3, 0.05)
        self.noise.setToolTip("Gaussian noise on the ±1 inputs")
        self.demo = _check("the demo world's xor task too", True,
                           "also train unimodal heads, additive late fusion and an MLP on image+audio embeddings")
        self.noise.valueChanged.connect(self.options_changed)
        self.demo.toggled.connect(self.options_changed)
        self.knobs = {"noise": self.noise, "demo": self.demo}
        self.form.addRow("noise", self.noise)
        self.form.addRow(self.demo)
        self.toy_plot = make_plot("±1 XOR: test accuracy", "accuracy")
        self.demo_plot = make_plot("demo world: test accuracy", "accuracy")
        for plot in (self.toy_plot, self.demo_plot):
            self.plots.addWidget(plot)
        self.values: dict[str, float] = {}

    def options(self) -> dict:
        return {"noise": round(self.noise.value(), 4), "demo": self.demo.isChecked()}

    def columns(self, options: dict) -> set[str]:
        return {"xor"} if options.get("demo") else set()

    def draw(self) -> None:
        r = self.result
        t = r.toy
        self.values = {"additive": t["additive"], "interaction": t["interaction"],
                       "interaction_emap": t["interaction_emap"]}
        draw_bars(self.toy_plot, ["additive\nw₁x₁+w₂x₂", "interaction\n+w₃x₁x₂", "EMAP of\ninteraction"],
                  {"accuracy": [t["additive"], t["interaction"], t["interaction_emap"]]},
                  {"accuracy": color(0)}, top=1.15, chance=[0.5, 0.5, 0.5],
                  errors={"accuracy": intervals(r, ["xor_pm1.additive", "xor_pm1.interaction",
                                                    "xor_pm1.interaction_emap"])})
        gap = f"EMAP gap (±1 XOR): {t['interaction'] - t['interaction_emap']:+.2f}"
        self.demo_plot.setVisible(bool(r.demo))
        if r.demo:
            d = r.demo
            names = [f"{m}\nalone" for m in d["unimodal"]] + ["additive\nlate fusion", "MLP on\nboth", "EMAP of\nMLP"]
            accs = list(d["unimodal"].values()) + [d["additive"], d["mlp"], d["mlp_emap"]]
            keys = [f"{d['task']}.{m}" for m in d["unimodal"]] + [f"{d['task']}.{k}" for k in ("additive", "mlp", "mlp_emap")]
            draw_bars(self.demo_plot, names, {"accuracy": accs}, {"accuracy": color(2)}, top=1.15,
                      errors={"accuracy": intervals(r, keys)})
            self.demo_plot.setTitle(f"demo world {d['task']!r}: test accuracy ({d['n_test']} test scenes)",
                                    color="#333", size="10pt")
            self.values.update({f"demo_{k}": v for k, v in d.items() if isinstance(v, float)})
            s = r.interaction_size
            gap += f"<br>EMAP gap (demo): MLP {s['mlp']:+.2f}, additive {s['additive']:+.2f}"
        self.readout.setText(gap + "<br><span style='color:#666'>gap = accuracy − accuracy of the best additive "
                                   "approximation: the cross-modal interaction the model uses</span><br>" + seeds_note(r))


class QtRedundancyPage(QtPrinciplePage):
    name = "redundancy"
    title = "Redundancy: losing a modality"
    short = "Redundancy"

    def build(self) -> None:
        self.how = _combo(["retrained on the rest", "fused model, mean-filled"],
                          "how the lost modality is handled: a model trained without it, or the fused model "
                          "with the modality replaced by its training mean")
        self.how.currentIndexChanged.connect(lambda _: self.result is not None and self.draw())
        self.knobs = {"without": self.how}
        self.form.addRow("without it", self.how)
        self.plot = make_plot("accuracy with one modality removed", "accuracy")
        add_legend(self.plot)
        self.plots.addWidget(self.plot)
        self.values: dict[str, dict[str, float]] = {}

    def columns(self, options: dict) -> set[str]:
        return {"shape", "xor"}

    def draw(self) -> None:
        r = self.result
        lost = r.retrained if self.how.currentIndex() == 0 else r.mean_filled
        series = {"both": [r.both[t] for t in r.tasks]}
        for m in r.modalities:
            series[f"no {m}"] = [lost[t][m] for t in r.tasks]
        colors = {"both": color(7), **{f"no {m}": modality_color(m, i) for i, m in enumerate(r.modalities)}}
        kind = "retrained" if self.how.currentIndex() == 0 else "mean-filled"
        errors = {"both": intervals(r, [f"{t}.both" for t in r.tasks]),
                  **{f"no {m}": intervals(r, [f"{t}.{kind} {m}" for t in r.tasks]) for m in r.modalities}}
        draw_bars(self.plot, [f"{t}" for t in r.tasks], series, colors, top=1.2, chance=[r.chance[t] for t in r.tasks],
                  errors=errors)
        self.values = {t: {k: v[i] for k, v in series.items()} for i, t in enumerate(r.tasks)}
        how = self.how.currentText()
        drops = {t: r.both[t] - min(lost[t].values()) for t in r.tasks}   # what the bars show
        self.readout.setText(f"largest drop from losing one modality ({how}):<br>"
                             + ", ".join(f"{t} <b>{drops[t]:+.2f}</b>" for t in r.tasks)
                             + "<br><span style='color:#666'>dashed: chance (the test split's majority class)</span><br>"
                             + seeds_note(r))


class QtLateFusionPage(QtPrinciplePage):
    name = "late-fusion"
    title = "Late fusion: logit sum vs probability average"
    short = "Late fusion"
    METHODS = ("bayes", "logit sum", "logit sum, prior twice", "probability average")

    def build(self) -> None:
        self.separation = spin(0.5, 4.0, 1.5, 0.25)
        self.separation.setToolTip("how far apart the class centres are (in units of the noise)")
        self.separation.valueChanged.connect(self.options_changed)
        self.kind = _combo(["exact", "learned"], "the unimodal posteriors fused: the true ones, or learned "
                                                 "logistic-regression heads")
        self.kind.currentIndexChanged.connect(lambda _: self.result is not None and self.draw())
        self.knobs = {"separation": self.separation, "posteriors": self.kind}
        self.form.addRow("class separation", self.separation)
        self.form.addRow("unimodal posteriors", self.kind)
        self.bars = make_plot("scores on the test set")
        add_legend(self.bars)
        self.reliability = make_plot("reliability", "accuracy", "confidence")
        add_legend(self.reliability)
        self.plots.addWidget(self.bars, 3)
        self.plots.addWidget(self.reliability, 2)
        self.colors = {m: color(i) for i, m in enumerate(self.METHODS)}
        self.values: dict[str, dict[str, float]] = {}

    def options(self) -> dict:
        return {"separation": round(self.separation.value(), 4)}

    def draw(self) -> None:
        scores = self.result.scores[self.kind.currentText()]
        methods = [m for m in self.METHODS if m in scores]
        self.values = {m: {k: scores[m][k] for k in ("accuracy", "nll", "ece")} for m in methods}
        kind = self.kind.currentText()
        draw_bars(self.bars, ["accuracy", "NLL", "ECE"],
                  {m: [scores[m]["accuracy"], scores[m]["nll"], scores[m]["ece"]] for m in methods},
                  self.colors, fmt="{:.3f}",
                  errors={m: intervals(self.result, [f"{kind}.{m}.{k}" for k in ("accuracy", "nll", "ece")])
                          for m in methods})
        plot = self.reliability
        plot.clear()
        plot.plotItem.legend.clear()
        plot.plot([0, 1], [0, 1], pen=pg.mkPen(**CHANCE_PEN))
        for m in ("logit sum", "probability average"):
            bins = scores[m].get("reliability")
            if bins:
                conf, acc = np.asarray(bins["confidence"], float), np.asarray(bins["accuracy"], float)
                keep = np.isfinite(conf) & np.isfinite(acc)
                plot.plot(conf[keep], acc[keep], pen=pg.mkPen(self.colors[m], width=2), symbol="o", symbolSize=5,
                          symbolBrush=self.colors[m], symbolPen=None, name=m)
        plot.setXRange(0, 1, padding=0.02)
        plot.setYRange(0, 1, padding=0.02)
        s, a = scores["logit sum"], scores["probability average"]
        self.readout.setText(f"logit sum: NLL <b>{s['nll']:.3f}</b>, ECE <b>{s['ece']:.3f}</b><br>"
                             f"probability average: NLL <b>{a['nll']:.3f}</b>, ECE <b>{a['ece']:.3f}</b><br>"
                             + seeds_note(self.result) + "<br><span style='color:#666'>reliability: the first draw</span>")


class QtDominancePage(QtPrinciplePage):
    name = "dominance"
    title = "Modality dominance and OGM-GE"
    short = "Dominance (OGM-GE)"

    def build(self) -> None:
        self.alpha = spin(0.05, 3.0, 0.5, 0.05)
        self.alpha.setToolTip("the OGM-GE α the verdict is about (the sweep 0, 0.1, 0.3, 0.5, 1 is always run): "
                              "the branch ahead gets its encoder's gradient × (1 − tanh(α·ratio))")
        self.epochs = int_spin(2, 80, 20)
        self.ogm = _check("OGM-GE on", True, "draw the run with on-the-fly gradient modulation at α "
                                            "(off: the plain run)")
        self.reweight = _check("loss re-weighting run", True, "also draw the run that adds the weak branch's own "
                                                             "loss (dotted)")
        self.alpha.valueChanged.connect(self.options_changed)
        self.epochs.valueChanged.connect(self.options_changed)
        for box in (self.ogm, self.reweight):
            box.toggled.connect(lambda _: self.result is not None and self.draw())
        self.knobs = {"alpha": self.alpha, "epochs": self.epochs, "ogm": self.ogm, "reweight": self.reweight}
        self.form.addRow("α", self.alpha)
        self.form.addRow("epochs", self.epochs)
        self.form.addRow(self.ogm)
        self.form.addRow(self.reweight)
        self.grad_plot = make_plot("gradient norm per branch (mean over seeds)", "‖grad‖", "epoch")
        self.acc_plot = make_plot("each branch alone: test accuracy", "accuracy", "epoch")
        self.sweep_plot = make_plot("after training: mean and 95 % interval over seeds", "accuracy",
                                    "setting (α: OGM-GE with that α)")
        self.grad_plot.setLogMode(x=False, y=True)
        add_legend(self.grad_plot)
        add_legend(self.acc_plot)
        add_legend(self.sweep_plot)
        for plot in (self.grad_plot, self.acc_plot, self.sweep_plot):
            self.plots.addWidget(plot)
        self.shown_ratio = float("nan")     # mean dominant/weak gradient ratio of the run drawn solid
        self.shown_run = ""
        self.sweep: dict[str, dict[str, tuple]] = {}   # series → setting → (mean, lo, hi) as drawn

    def options(self) -> dict:
        return {"alpha": round(self.alpha.value(), 4), "epochs": self.epochs.value()}

    def columns(self, options: dict) -> set[str]:
        return {"shape"}

    def draw(self) -> None:
        from mmstudio.analysis.principles.result import ci_text

        r = self.result
        self.shown_run = f"OGM-GE α={r.alpha:g}" if self.ogm.isChecked() else "plain"
        runs = [(self.shown_run, QtCore.Qt.PenStyle.SolidLine, 2.5)]
        if self.shown_run != "plain":
            runs.append(("plain", QtCore.Qt.PenStyle.DashLine, 1.2))
        if self.reweight.isChecked():
            runs.append(("re-weighted", QtCore.Qt.PenStyle.DotLine, 1.8))
        for plot in (self.grad_plot, self.acc_plot):
            plot.clear()
            plot.plotItem.legend.clear()
        for k, (run, style, width) in enumerate(runs):
            c = r.runs[run]
            for i, m in enumerate(r.modalities):
                pen = pg.mkPen(modality_color(m, i), width=width, style=style)
                name = f"{m} ({run})" if k == 0 else None   # the legend: colour = branch, line = run
                self.grad_plot.plot(r.epochs, np.maximum(c.grad_norm[m].mean(axis=0), 1e-12), pen=pen, name=name)
                self.acc_plot.plot(r.epochs, c.unimodal_accuracy[m].mean(axis=0), pen=pen, name=name)
        for run, style, width in runs[1:]:
            for plot in (self.grad_plot, self.acc_plot):
                plot.plotItem.legend.addItem(pg.PlotDataItem(pen=pg.mkPen((90, 90, 90), width=width, style=style)), run)
        ratio = {run: float(np.mean(c.grad_ratio(r.dominant, r.weak))) for run, c in r.runs.items()}
        drawn = {run for run, _, _ in runs}
        self.shown_ratio = ratio[self.shown_run]
        self.acc_plot.setYRange(0, 1.05, padding=0)
        self._draw_sweep(r)
        h = r.headline
        gain = h[f"fused accuracy gain: {self.shown_run} − plain"] if self.shown_run != "plain" else None
        probe = h[f"{r.weak} probe: {self.shown_run}"]
        self.readout.setText(
            f"dominant <b>{r.dominant}</b>, weak <b>{r.weak}</b> ({len(r.seeds)} seeds)<br>"
            f"mean gradient ratio {r.dominant}/{r.weak}: <b>{self.shown_ratio:.2f}</b> ({self.shown_run}); "
            + ", ".join(f"{k} {v:.2f}" for k, v in ratio.items() if k in drawn and k != self.shown_run)
            + (f"<br>fused accuracy {self.shown_run} − plain: <b>{ci_text(gain)}</b>" if gain else "")
            + f"<br>{r.weak} linear probe ({self.shown_run}): <b>{ci_text(probe)}</b>, "
              f"trained alone {ci_text(h[f'{r.weak} probe: {r.weak} alone'])}")

    def _draw_sweep(self, r) -> None:
        """Fused accuracy and the weak encoder's probe per setting, each a mean with its 95 % interval."""
        plot = self.sweep_plot
        plot.clear()
        plot.plotItem.legend.clear()
        settings = list(r.runs)
        self.sweep = {}
        series = {"fused": ("fused accuracy: {}", color(2)), f"{r.weak} probe": (f"{r.weak} probe: {{}}",
                                                                                 modality_color(r.weak, 1))}
        for j, (label, (key, rgb)) in enumerate(series.items()):
            x = np.arange(len(settings)) + (j - 0.5) * 0.18
            est = [r.headline[key.format(s)] for s in settings]
            mean = np.array([e["mean"] for e in est])
            lo, hi = np.array([e["ci95"][0] for e in est]), np.array([e["ci95"][1] for e in est])
            plot.plot(x, mean, pen=None, symbol="o", symbolSize=7, symbolBrush=rgb, symbolPen=None, name=label)
            plot.plot(np.repeat(x, 2), np.column_stack([lo, hi]).ravel(), pen=pg.mkPen(rgb, width=2), connect="pairs")
            self.sweep[label] = {s: (float(m), float(a), float(b)) for s, m, a, b in zip(settings, mean, lo, hi)}
        plain = r.headline["fused accuracy: plain"]["mean"]
        plot.plot([-0.5, len(settings) - 0.5], [plain, plain], name="fused, plain",
                  pen=pg.mkPen(color(2), width=1, style=QtCore.Qt.PenStyle.DashLine))
        names = {"plain": "plain", "re-weighted": "re-\nweighted"}
        category_ticks(plot, [(i, names.get(s, s.replace("OGM-GE ", ""))) for i, s in enumerate(settings)])
        ends = [v for series in self.sweep.values() for _, lo, hi in series.values() for v in (lo, hi)]
        plot.setXRange(-0.5, len(settings) - 0.5, padding=0.02)
        plot.setYRange(max(min(ends) - 0.03, 0.0), min(max(ends) + 0.12, 1.15), padding=0)   # room for the legend


class QtSampleComplexityPage(QtPrinciplePage):
    name = "sample-complexity"
    title = "Sample complexity"
    short = "Sample complexity"
    TASKS = {"shape, two noisy views": {"task": "shape"},
             "shape": {"task": "shape", "noise": {}},
             "xor": {"task": "xor"}}

    def build(self) -> None:
        self.task = _combo(list(self.TASKS), "the label column to predict; two noisy views: each modality's "
                                             "embeddings with independent noise (3× their spread), so each alone "
                                             "is a weak witness of the shape")
        self.points = int_spin(3, 10, 6)
        self.points.setToolTip("how many training-set sizes (log-spaced)")
        self.task.currentIndexChanged.connect(self.options_changed)
        self.points.valueChanged.connect(self.options_changed)
        self.knobs = {"task": self.task, "points": self.points}
        self.form.addRow("task", self.task)
        self.form.addRow("sizes", self.points)
        self.acc_plot = make_plot("test accuracy vs training-set size (95 % intervals over seeds)", "accuracy",
                                  "training samples n")
        self.mi_plot = make_plot("mutual information I(inputs; label) ≥", "bits", "training samples n")
        for plot in (self.acc_plot, self.mi_plot):
            plot.setLogMode(x=True, y=False)
            add_legend(plot)
            self.plots.addWidget(plot)
        self.to_target: dict[str, tuple | None] = {}   # set → (n, lo, hi) drawn on the target line, None: not reached

    def options(self) -> dict:
        return {**self.TASKS[self.task.currentText()], "points": self.points.value()}

    def columns(self, options: dict) -> set[str]:
        return {options["task"]}

    def draw(self) -> None:
        r = self.result
        sizes = np.asarray(r.sizes, float)
        for plot in (self.acc_plot, self.mi_plot):
            plot.clear()
            plot.plotItem.legend.clear()
        self.to_target = {}
        for i, s in enumerate(r.sets):
            rgb = modality_color(s, i) if "+" not in s else color(2)
            pen = pg.mkPen(rgb, width=2.5 if "+" in s else 1.8)
            style = dict(symbol="o", symbolSize=6, symbolBrush=rgb, symbolPen=None)
            ci = r.accuracy_ci(s)
            self.acc_plot.plot(sizes, r.mean_accuracy(s), pen=pen, name=s, **style)
            self.acc_plot.plot(np.repeat(sizes, 2), ci.ravel(), pen=pg.mkPen(rgb, width=1), connect="pairs")
            self.mi_plot.plot(sizes, r.mi_bits[s].mean(axis=0), pen=pen, name=s, **style)
            e = r.headline.get(f"samples to target: {s}")
            if e is not None:     # reached in every seed: where, with its interval, on the target line
                self.to_target[s] = (e["mean"], *e["ci95"])
                level = r.target + (i - (len(r.sets) - 1) / 2) * 0.012   # side by side where intervals overlap
                self.acc_plot.plot([e["mean"]], [level], pen=None, symbol="d", symbolSize=11, symbolBrush=rgb,
                                   symbolPen=pg.mkPen("k"))
                self.acc_plot.plot(e["ci95"], [level] * 2, pen=pg.mkPen(rgb, width=3))
            else:
                self.to_target[s] = None
        span = [sizes.min(), sizes.max()]
        self.acc_plot.plot(span, [r.chance] * 2, pen=pg.mkPen(**CHANCE_PEN), name="chance")
        self.acc_plot.plot(span, [r.target] * 2, pen=pg.mkPen((60, 60, 60), width=1, style=QtCore.Qt.PenStyle.DotLine),
                           name=f"target {r.target:.2f}")
        self.mi_plot.plot(span, [r.label_entropy_bits] * 2, pen=pg.mkPen(**CHANCE_PEN), name="H(label)")
        for plot in (self.acc_plot, self.mi_plot):
            log_ticks(plot, sizes)
        self.acc_plot.setYRange(0, 1.05, padding=0)
        self.mi_plot.setYRange(0, max(r.label_entropy_bits, 0.1) * 1.1, padding=0)
        fused = r.sets[-1]
        def reached(s, v):
            if v is not None:
                return f"{s} <b>n ≈ {v[0]:.0f}</b> [{v[1]:.0f}, {v[2]:.0f}]"
            some = sum(x is not None for x in r.to_target[s])
            return f"{s} <b>not reached</b>" + (f" in {len(r.seeds) - some} of {len(r.seeds)} seeds" if some else "")

        reach = ", ".join(reached(s, v) for s, v in self.to_target.items())
        self.readout.setText(f"samples to reach {r.target:.2f} (◆, over {len(r.seeds)} seeds): {reach}<br>"
                             f"H({r.task}) = {r.label_entropy_bits:.2f} bits; at n = {int(sizes[-1])}: "
                             + ", ".join(f"{s} ≥ <b>{r.mi_bits[s][:, -1].mean():.2f}</b> bits" for s in r.sets)
                             + f"<br>{fused}: accuracy {r.mean_accuracy(fused)[-1]:.2f}")



# principle name → page, in the order of the page list
PAGES = {page.name: page for page in (QtComplementarityPage, QtPoEMoEPage, QtLateFusionPage, QtDominancePage,
                                      QtSampleComplexityPage, QtRedundancyPage,
                                      QtNegativeTransferPage, QtInteractionsPage,
                                      QtBrokenAssumptionsPage)}
