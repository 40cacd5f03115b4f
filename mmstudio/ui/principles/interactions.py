"""The interactions page: the partial information decomposition of what two modalities tell about a
label — bars of redundancy, the information unique to each modality and synergy with their 95 %
intervals (bootstrap or over the seeds), next to the information each modality and the pair carry."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from mmstudio.ui.principles.base import QtPrinciplePage, color, draw_bars, modality_color
from mmstudio.ui.widgets.plots import make_plot

INTERVALS = ("bootstrap", "over the seeds")


def _combo(items, tip: str) -> QtWidgets.QComboBox:
    box = QtWidgets.QComboBox()
    box.addItems(list(items))
    box.setToolTip(tip)
    return box


class QtInteractionsPage(QtPrinciplePage):
    name = "interactions"
    title = "Interactions: redundancy, uniqueness, synergy"
    short = "Interactions (PID)"

    def build(self) -> None:
        self.task = _combo(["xor", "shape"], "the label column whose information is decomposed")
        self.task.currentIndexChanged.connect(self.options_changed)
        self.interval = _combo(INTERVALS, "the 95 % intervals drawn: resampled test samples (pooled over the seeds), "
                                          "or Student's t over the seeds")
        self.interval.currentIndexChanged.connect(lambda _: self.result is not None and self.draw())
        self.knobs = {"task": self.task, "interval": self.interval}
        self.form.addRow("task", self.task)
        self.form.addRow("intervals", self.interval)
        self.atoms_plot = make_plot("information decomposition", "bits")
        self.info_plot = make_plot("information about the label", "bits")
        self.entropy_line = pg.InfiniteLine(angle=0, movable=False,
                                            pen=pg.mkPen((120, 120, 120), width=1, style=QtCore.Qt.PenStyle.DotLine))
        self.plots.addWidget(self.atoms_plot, 3)
        self.plots.addWidget(self.info_plot, 2)
        self.values: dict[str, float] = {}                    # quantity → the bar's height (mean over seeds)
        self.intervals: dict[str, tuple[float, float]] = {}   # quantity → the interval drawn

    def options(self) -> dict:
        return {"task": self.task.currentText()}

    def columns(self, options: dict) -> set[str]:
        return {options["task"]}

    def draw(self) -> None:
        from mmstudio.analysis.principles.interactions import keys

        r = self.result
        names = keys(r.modalities)
        bootstrap = self.interval.currentIndex() == 0
        self.values = {k: r.headline[k]["mean"] for k in names}
        self.intervals = {k: tuple(r.bootstrap[k] if bootstrap else r.headline[k]["ci95"]) for k in names}
        m1, m2 = r.modalities
        atoms, infos = names[:4], names[4:7]
        draw_bars(self.atoms_plot, ["R\nredundancy", f"U {m1}\nunique", f"U {m2}\nunique", "S\nsynergy"],
                  {"bits": [self.values[k] for k in atoms]}, {"bits": color(4)}, fmt="{:.3f}",
                  top=self._top(atoms), errors={"bits": [self.intervals[k] for k in atoms]})
        draw_bars(self.info_plot, [f"I({m1};\n{r.task})", f"I({m2};\n{r.task})", f"I({m1}, {m2};\n{r.task})"],
                  {"bits": [self.values[k] for k in infos]}, {"bits": color(2)}, fmt="{:.3f}",
                  top=max(r.label_entropy * 1.15, self._top(infos)), chance=[None, None, self.values["info_shuffled"]],
                  errors={"bits": [self.intervals[k] for k in infos]})
        if self.entropy_line.scene() is None:
            self.info_plot.addItem(self.entropy_line)
        self.entropy_line.setValue(r.label_entropy)
        kind = f"bootstrap ({r.resamples} resamples × {len(r.seeds)} seeds)" if bootstrap else \
            f"Student's t over {len(r.seeds)} seeds"
        self.readout.setText(
            f"I({m1}; {r.task}) = <b>{self.values[infos[0]]:.3f}</b>, I({m2}; {r.task}) = "
            f"<b>{self.values[infos[1]]:.3f}</b> bits<br>I({m1}, {m2}; {r.task}) = <b>{self.values[infos[2]]:.3f}</b> "
            f"= R + U + U + S; with shuffled labels {self.values['info_shuffled']:.3f} (dashed)<br>"
            f"H({r.task}) = {r.label_entropy:.3f} bits (dotted)<br>"
            f"<span style='color:#666'>bars: means over the seeds; whiskers: 95 % {kind}; {r.clusters} k-means "
            f"clusters per modality, {r.n_test} test samples per seed</span>")
        self.atoms_plot.setTitle(f"{r.task!r}: information decomposition (bits)", color="#333", size="10pt")
        self._color_modalities(r)

    def _top(self, keys) -> float:
        return max([self.intervals[k][1] for k in keys] + [self.values[k] for k in keys] + [0.05]) * 1.2

    def _color_modalities(self, r) -> None:
        """Redundancy purple, each modality's unique information in its colour, synergy orange."""
        bars = getattr(self.atoms_plot, "_bar_items", None)
        if bars is None:
            return
        brushes = [pg.mkBrush(*color(4)), pg.mkBrush(*modality_color(r.modalities[0], 0)),
                   pg.mkBrush(*modality_color(r.modalities[1], 1)), pg.mkBrush(*color(1))]
        bars[1][0].setOpts(brushes=brushes)
