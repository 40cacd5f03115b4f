"""The aligner trainer: learn a head that maps one modality into another's space, and watch it learn.

:func:`mmstudio.analysis.alignment.aligner.train_aligner` runs as a job; every snapshot it sends adds a
point to the loss and held-out R@1 curves and redraws the held-out pairs in the aligner's own
2-D basis (source points, their targets, a line between).

**The map animates while training.** With "Animate in the map" on, each snapshot moves the
held-out source items in the embedding view towards their partners: the snapshot's 2-D points
are carried into the map by a warp fitted on the targets (affine, plus the residuals
interpolated, so a point that reaches its target lands on its partner's dot). The frames are
``layoutChanged(False)`` frames, like a partial UMAP layout, and the view's status line says the
map shows the aligner. The real layout comes back (the points glide home) when Stop is pressed,
a moment after training ends, or at once when the table changes: the workspace's layout is
never left altered, so exports and projects always hold the real coordinates. The trained
result stays on this tab (curves and the aligner-space plot).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from mmstudio.analysis.alignment.aligner import heldout_indices
from mmstudio.analysis.projection.warp import warp
from mmstudio.ui import colors
from mmstudio.ui.widgets.plots import log_ticks, make_plot
from mmstudio.ui.widgets.scroll import vertical_scroll
from mmstudio.ui.widgets.spin import spin

SEED = 0
TEST_FRACTION = 0.2
SNAPSHOT_POINTS = 500
HOLD_MS = 1500  # how long the map keeps the last frame after training ends
DRAW_MS = 100  # snapshots arriving within this are drawn together
LOSSES = {"InfoNCE": "infonce", "Triplet": "triplet"}
HEADS = {"Linear": "linear", "MLP": "mlp"}


class QtAligner(QtWidgets.QWidget):
    snapshot = QtCore.Signal(object)   # an AlignerSnapshot was drawn
    finished = QtCore.Signal()         # training ended (done, stopped or failed)

    def __init__(self, workspace, view=None, parent=None):
        super().__init__(parent)
        self.workspace, self.view = workspace, view
        self.job = None
        self.history = None
        self.steps, self.losses, self.r1s = [], [], []
        self._saved_xy = None      # the real layout while the map shows the aligner
        self._moved = self._anchors = None
        self._pushing = False
        self._restore_token = 0
        self._snaps = []           # snapshots not drawn yet
        self._draw_timer = QtCore.QTimer(self)
        self._draw_timer.setSingleShot(True)
        self._draw_timer.setInterval(DRAW_MS)
        self._draw_timer.timeout.connect(self._draw_snapshots)
        self._build()
        workspace.tableChanged.connect(self._table_changed)
        workspace.layoutChanged.connect(self._layout_changed)
        workspace.runner.ended.connect(self._ended)

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        self.source, self.target = QtWidgets.QComboBox(), QtWidgets.QComboBox()
        self.source.setToolTip("The modality whose vectors the head maps")
        self.target.setToolTip("The modality whose space they are mapped into (it stays as it is)")
        self.head = QtWidgets.QComboBox()
        self.head.addItems(list(HEADS))
        self.head.setToolTip("Linear: W x + b; MLP: a linear path plus one hidden layer")
        self.loss = QtWidgets.QComboBox()
        self.loss.addItems(list(LOSSES))
        self.loss.setToolTip("InfoNCE (symmetric, the batch's other pairs as negatives) or the triplet margin loss")
        self.loss.currentTextChanged.connect(self._loss_changed)
        self.temperature = spin(0.005, 1.0, 0.05, 0.01, 3, "InfoNCE temperature τ")
        self.margin = spin(0.0, 2.0, 0.2, 0.05, 2, "Triplet margin (on squared distances)")
        self.steps_box = QtWidgets.QSpinBox()
        self.steps_box.setRange(10, 1_000_000)
        self.steps_box.setValue(300)
        self.steps_box.setSingleStep(100)
        self.steps_box.setToolTip("Training steps (mini-batches)")
        self.animate = QtWidgets.QCheckBox("Animate in the map")
        self.animate.setChecked(True)
        self.animate.setToolTip("Move the held-out source items in the embedding view as the aligner maps them; "
                                "the real layout comes back when training stops")
        self.start_button, self.stop_button = QtWidgets.QPushButton("Start"), QtWidgets.QPushButton("Stop")
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        self.state = QtWidgets.QLabel("")
        self.state.setWordWrap(True)
        self.state.setStyleSheet("color: gray")
        form = QtWidgets.QFormLayout()
        form.setContentsMargins(4, 4, 4, 4)
        form.addRow("Map", _pair(self.source, QtWidgets.QLabel("→"), self.target))
        form.addRow("Head", self.head)
        form.addRow("Loss", self.loss)
        form.addRow("Temperature", self.temperature)
        form.addRow("Margin", self.margin)
        form.addRow("Steps", self.steps_box)
        form.addRow(self.animate)
        form.addRow(_pair(self.start_button, self.stop_button))
        inner = QtWidgets.QWidget()
        inner.setLayout(form)
        controls = vertical_scroll(inner, self.state, margins=(4, 0, 4, 4))  # a low panel scrolls these, not the plots
        bar = controls.verticalScrollBar().sizeHint().width()
        controls.setMinimumWidth(inner.minimumSizeHint().width() + bar)
        controls.setMaximumWidth(max(330, inner.minimumSizeHint().width()) + bar)
        self._loss_changed(self.loss.currentText())

        self.loss_plot = make_plot(left="training loss (log)", bottom="step", interactive=True, grid=True, minimum=(160, 120))
        self.loss_plot.setLogMode(y=True)
        log_ticks(self.loss_plot)
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen((234, 67, 53), width=2), symbol="o", symbolSize=4)
        self.r1_plot = make_plot(left="held-out R@1", bottom="step", interactive=True, grid=True, minimum=(160, 120))
        self.r1_plot.setYRange(0, 1.02)
        self.r1_curve = self.r1_plot.plot(pen=pg.mkPen((66, 133, 244), width=2), symbol="o", symbolSize=4)
        self.space_plot = make_plot(interactive=True, grid=True, minimum=(160, 120))
        self.space_plot.setTitle("held-out pairs in the target's space", size="9pt")
        self.space_plot.setAspectLocked(True)
        self.space_lines = pg.PlotCurveItem(pen=pg.mkPen((140, 140, 140, 120)), connect="pairs")
        self.space_targets = pg.ScatterPlotItem(size=8, brush=None, pen=pg.mkPen((52, 168, 83), width=1.5))
        self.space_points = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(66, 133, 244))
        for item in (self.space_lines, self.space_targets, self.space_points):
            self.space_plot.addItem(item)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.addWidget(controls)
        for plot in (self.loss_plot, self.r1_plot, self.space_plot):
            layout.addWidget(plot, 1)

    def _loss_changed(self, name: str) -> None:
        self.temperature.setEnabled(name == "InfoNCE")
        self.margin.setEnabled(name == "Triplet")

    def set_modalities(self, modalities: list[str]) -> None:
        """Offer the table's modalities, keeping the choice where it still exists (default image → text)."""
        for box, default in ((self.source, "image"), (self.target, "text")):
            current = box.currentText() or default
            box.blockSignals(True)
            box.clear()
            box.addItems(modalities)
            box.setCurrentText(current if current in modalities else default)
            box.blockSignals(False)
        if self.source.currentText() == self.target.currentText() and len(modalities) > 1:
            others = [m for m in modalities if m != self.source.currentText()]
            self.target.setCurrentText(others[-1])

    # ------------------------------------------------------------------ training
    def running(self) -> bool:
        return self.job is not None and self.job in self.workspace.runner.running

    def params(self) -> dict:
        steps = self.steps_box.value()
        return {"head": HEADS[self.head.currentText()], "loss": LOSSES[self.loss.currentText()], "steps": steps,
                "temperature": self.temperature.value(), "margin": self.margin.value(),
                "eval_every": int(np.clip(steps // 50, 1, 25)), "test_fraction": TEST_FRACTION,
                "snapshot_points": SNAPSHOT_POINTS, "seed": SEED}

    def start(self) -> None:
        from mmstudio.analysis.alignment.report import pair_rows

        ws, table = self.workspace, self.workspace.table
        source, target = self.source.currentText(), self.target.currentText()
        if table is None or not source or not target or source == target:
            self.state.setText("pick two different modalities of the table")
            return
        self.restore_map()
        pairs = pair_rows(table, source, target)
        x, y = table.vectors[pairs.rows_a], table.vectors[pairs.rows_b]
        params = self.params()
        shown = heldout_indices(len(pairs), TEST_FRACTION, SEED, SNAPSHOT_POINTS)
        self._moved, self._anchors = pairs.rows_a[shown], pairs.rows_b[shown]
        if self.animate.isChecked() and len(ws.xy) == len(table) and len(shown) >= 3:
            self._saved_xy = ws.xy.copy()
        self.steps, self.losses, self.r1s, self.history, self._snaps = [], [], [], None, []
        self._draw_curves()
        self.space_points.setBrush(pg.mkBrush(*colors.MODALITY_COLORS.get(source, (66, 133, 244))))
        self.space_targets.setPen(pg.mkPen(*colors.MODALITY_COLORS.get(target, (52, 168, 83)), width=1.5))
        self.state.setText(f"training {source} → {target} on {len(pairs)} pairs…")

        def work(job):
            from mmstudio.analysis.alignment.aligner import train_aligner

            return train_aligner(x, y, job=job, **params)

        self.job = ws.runner.start("aligner", work, label=f"aligner {source} → {target}", on_done=self._done,
                                   on_partial=self._partial, on_error=self._failed, panel=True)
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)

    def stop(self) -> None:
        """Stop training now and put the real layout back."""
        if self.job is not None:
            self.job.cancel()
            step = self.steps[-1] if self.steps else 0
            self.state.setText(f"stopped at step {step}" + (f": held-out R@1 {self.r1s[-1]:.3f}" if self.r1s else ""))
        self.restore_map()

    def _partial(self, snap) -> None:
        """A snapshot arrived: drawn with the others that arrive within ``DRAW_MS`` (the GUI thread
        would spend the whole training redrawing otherwise)."""
        if self.job is None or self.job.cancelled():
            return
        self._snaps.append(snap)
        if not self._draw_timer.isActive():
            self._draw_timer.start()

    def _draw_snapshots(self) -> None:
        snaps, self._snaps = self._snaps, []
        if not snaps or self.job is None or self.job.cancelled():
            return
        for snap in snaps:
            self.steps.append(snap.step)
            self.losses.append(snap.loss)
            self.r1s.append(snap.heldout_r1)
        self._draw_curves()
        snap = snaps[-1]
        points, targets = np.asarray(snap.points), np.asarray(snap.targets)
        self.space_points.setData(points[:, 0], points[:, 1])
        self.space_targets.setData(targets[:, 0], targets[:, 1])
        pairs = np.empty((2 * len(points), 2))
        pairs[0::2], pairs[1::2] = points, targets
        self.space_lines.setData(pairs[:, 0], pairs[:, 1])
        self.state.setText(f"step {snap.step}/{self.steps_box.value()} · held-out R@1 {snap.heldout_r1:.3f}")
        self._push(points, targets, snap.step)
        self.snapshot.emit(snap)

    def _draw_curves(self) -> None:
        loss = np.asarray(self.losses, float)
        ok = np.isfinite(loss)
        self.loss_curve.setData(np.asarray(self.steps, float)[ok], np.maximum(loss[ok], 1e-6))
        self.r1_curve.setData(np.asarray(self.steps, float), np.asarray(self.r1s, float))

    def _done(self, history) -> None:
        self.history = history
        identity = "" if history.identity_r1 is None else f" (as they are: {history.identity_r1:.3f})"
        self.state.setText(f"done: {len(history.loss)} steps in {history.seconds:.1f} s · held-out R@1 "
                           f"{history.final_r1:.3f}{identity} · {history.n_train} train / {history.n_test} held-out")
        self._restore_token += 1
        token = self._restore_token
        QtCore.QTimer.singleShot(HOLD_MS, lambda: self.restore_map() if token == self._restore_token else None)

    def _failed(self, message: str) -> None:
        self.state.setText("training failed: " + message.splitlines()[0].split(": ", 1)[-1])
        self.restore_map()

    def _ended(self, job) -> None:
        if job is not self.job:
            return
        self._draw_timer.stop()
        self._draw_snapshots()   # the last ones, before the job is forgotten
        self.job = None
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        if job.cancelled():
            self.restore_map()
        self.finished.emit()

    # ------------------------------------------------------------------ the map
    def _push(self, points, targets, step: int) -> None:
        ws, saved = self.workspace, self._saved_xy
        if saved is None or ws.table is None or len(saved) != len(ws.table) or len(points) != len(self._moved):
            return
        xy = saved.copy()
        xy[self._moved] = warp(points, targets, saved[self._anchors])
        self._emit_layout(xy, False)
        if self.view is not None and hasattr(self.view, "status"):
            self.view.status.setText(f"showing the aligner (step {step}): {len(self._moved)} held-out "
                                     f"{self.source.currentText()} items mapped towards their "
                                     f"{self.target.currentText()} partners · the layout comes back when it stops")

    def showing_aligner(self) -> bool:
        return self._saved_xy is not None

    def restore_map(self) -> None:
        """Put the real layout back (the view glides the moved points home)."""
        saved, self._saved_xy = self._saved_xy, None
        self._restore_token += 1
        ws = self.workspace
        if saved is not None and ws.table is not None and len(saved) == len(ws.table):
            self._emit_layout(saved, ws.layout_final)

    def _emit_layout(self, xy, final: bool) -> None:
        self._pushing = True
        try:
            self.workspace.xy = xy
            self.workspace.layoutChanged.emit(final)
        finally:
            self._pushing = False

    def _layout_changed(self, _final: bool) -> None:
        if not self._pushing and self._saved_xy is not None:
            self._saved_xy = self.workspace.xy.copy()  # a new real layout arrived while training: keep that one

    def _table_changed(self) -> None:
        self._saved_xy = None  # the rows changed: the saved layout belongs to the old table
        if self.job is not None:
            self.job.cancel()
            self.state.setText("the table changed: training stopped")

    # ------------------------------------------------------------------ project files
    def settings(self) -> dict:
        return {"source": self.source.currentText(), "target": self.target.currentText(),
                "head": self.head.currentText(), "loss": self.loss.currentText(),
                "temperature": self.temperature.value(), "margin": self.margin.value(),
                "steps": self.steps_box.value(), "animate": self.animate.isChecked()}

    def apply_settings(self, settings: dict) -> None:
        for key, box in (("source", self.source), ("target", self.target)):
            if settings.get(key):
                if box.findText(settings[key]) < 0:
                    box.addItem(settings[key])  # the table is not there yet; set_modalities keeps it if it exists
                box.setCurrentText(settings[key])
        for key, box in (("head", self.head), ("loss", self.loss)):
            if box.findText(str(settings.get(key))) >= 0:
                box.setCurrentText(settings[key])
        for key, box in (("temperature", self.temperature), ("margin", self.margin), ("steps", self.steps_box)):
            if settings.get(key) is not None:
                box.setValue(type(box.value())(settings[key]))
        if "animate" in settings:
            self.animate.setChecked(bool(settings["animate"]))


def _pair(*widgets) -> QtWidgets.QWidget:
    box = QtWidgets.QWidget()
    layout = QtWidgets.QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget)
    return box


