"""The fusion lab panel: train every fusion method once, then move the knobs and watch the scores.

Training (:meth:`FusionLab.fit <mmstudio.analysis.fusion.lab.FusionLab.fit>`) runs as a job when the
table, the label column or the seed changes, and only while the panel is on screen. Every
test-time knob (missing rate, imputation, noise, mismatch, gate threshold, agreement) re-scores
the trained heads with ``lab.score`` — on the GUI thread while one scoring takes under
``FAST_S``, else as a job whose stale results are dropped — so nothing is retrained. The
modality-dropout probability is a training-time setting: changing it trains the dropout heads
for it in a job (``lab.train_dropout``). A modality hidden in the embedding view counts as
missing from every test sample. Settings are the defaults of ``mmstudio fuse``, so the panel
shows what the CLI prints for the same knobs.

In the main window: ``self.add_panel("Fusion lab", QtFusionPanel(self.workspace, self.view))``.
"""

from __future__ import annotations

import time

from PySide6 import QtCore, QtWidgets

from mmstudio.analysis.fusion.attention import attention_words
from mmstudio.ui.fusion.controls import IMPUTATIONS, QtFusionControls, label_columns
from mmstudio.ui.fusion.plots import QtConfusion, QtFusionBars, QtFusionCurves, QtFusionTable, gate_words
from mmstudio.ui.guard import guarded
from mmstudio.ui.panel_visibility import on_screen
from mmstudio.ui.widgets.scroll import vertical_scroll

SCORE_DELAY_MS = 30     # slider moves within this are scored together
FIT_DELAY_MS = 300
DROPOUT_DELAY_MS = 250
CURVE_DELAY_MS = 150
CONTROLS_WIDTH = 360
FAST_S = 0.05           # score on the GUI thread while one scoring takes less than this
QUEUED = QtCore.Qt.ConnectionType.QueuedConnection


def _timer(parent, ms: int, slot) -> QtCore.QTimer:
    timer = QtCore.QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(ms)
    timer.timeout.connect(slot)
    return timer


class QtFusionPanel(QtWidgets.QWidget):
    fitted = QtCore.Signal()      # a new lab is trained (or failed: see ``error``)
    scored = QtCore.Signal()      # new scores are shown
    curveReady = QtCore.Signal()

    def __init__(self, workspace, view=None, parent=None):
        super().__init__(parent)
        self.workspace, self.view, self.runner = workspace, view, workspace.runner
        self.lab = None            # the trained FusionLab
        self.scores = None         # the FusionScores shown
        self.error = ""
        self.selected: str | None = "gated"   # the method of the confusion matrix
        self.score_seconds = 0.0   # how long the last scoring took
        self._kind = f"fusion-{id(self):x}"
        self._dirty = True         # table, label or seed changed since the last fit
        self._labels_for = None    # the table whose label columns the label box offers
        self._fit_job = None
        self._score_timer = _timer(self, SCORE_DELAY_MS, self.rescore)
        self._fit_timer = _timer(self, FIT_DELAY_MS, self.refit)
        self._dropout_timer = _timer(self, DROPOUT_DELAY_MS, self._train_dropout)
        self._curve_timer = _timer(self, CURVE_DELAY_MS, self.compute_curve)
        self._build()
        workspace.tableChanged.connect(self._table_changed)
        workspace.row_filter.changed.connect(self._filter_changed)   # trained on the filtered rows
        self._scope = ""           # "filtered: n of N rows" of the lab shown, or ""
        self._fitted_version = None   # the filter's version the last fit started with
        if view is not None:
            for box in view.modality_boxes.values():
                box.toggled.connect(self._view_toggled)
        self._table_changed()

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        self.controls = c = QtFusionControls(self.view)
        c.labelChanged.connect(self._training_changed)
        c.seedChanged.connect(self._training_changed)
        c.dropoutChanged.connect(lambda: self._dropout_timer.start())
        c.knobsChanged.connect(self.schedule_score)
        c.methodsChanged.connect(self._redraw)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(c)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setFixedWidth(CONTROLS_WIDTH)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.bars = QtFusionBars()
        self.gate_text = QtWidgets.QLabel()
        self.gate_text.setWordWrap(True)
        self.attention_text = QtWidgets.QLabel()   # what the cross-attention weights do (attention_words)
        self.attention_text.setWordWrap(True)
        self.attention_text.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        left = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.bars, 3)
        column.addWidget(vertical_scroll(self.gate_text, self.attention_text), 2)  # the words scroll, the bars stay

        self.table = QtFusionTable()
        self.table.methodPicked.connect(self.select_method)
        self.confusion = QtConfusion()
        self.confusion_title = QtWidgets.QLabel()
        self.confusion_title.setWordWrap(True)
        middle = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(middle)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.table, 3)
        column.addWidget(self.confusion_title)
        column.addWidget(self.confusion, 2)

        self.curves = QtFusionCurves()
        self.curves.requested.connect(self.compute_curve)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        for widget in (left, middle, self.curves):
            split.addWidget(widget)
        for i, (stretch, width) in enumerate(((3, 330), (4, 360), (3, 330))):
            split.setStretchFactor(i, stretch)
            if i != 1:   # the middle column's least width is its table's, every column in sight
                split.widget(i).setMinimumWidth(width // 2)
        split.setSizes([330, 360, 330])
        split.setChildrenCollapsible(False)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scroll)
        layout.addWidget(split, 1)

    # ------------------------------------------------------------------ what the knobs say
    def knobs(self, modalities=None):
        """The test-time knobs as :class:`~mmstudio.analysis.fusion.knobs.Knobs` (hidden modalities: missing)."""
        mods = tuple(self.lab.modalities if modalities is None and self.lab is not None else modalities or ())
        return self.controls.knobs(mods)

    def shown_methods(self) -> list[str]:
        return self.controls.methods()

    # ------------------------------------------------------------------ training
    def _table_changed(self) -> None:
        self._labels_for = None      # the label columns are found (in the fit's job) when next on screen
        self._training_changed()

    def _filter_changed(self) -> None:
        if self.workspace.row_filter.version != self._fitted_version:
            self._training_changed()

    def _training_changed(self) -> None:
        self._dirty = True
        self._fit_timer.start()

    @guarded(None)
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.came_on_screen()

    def came_on_screen(self) -> None:
        if self._dirty and on_screen(self):
            self._fit_timer.start()

    def refit(self) -> None:
        """Train every method on the current table and label (a job; only while the panel is on screen)."""
        if not on_screen(self):
            return                   # fitted when shown (came_on_screen)
        self._dirty = False
        table = self.workspace.table
        if self._labels_for is not table:
            self._find_labels(table)
            return
        label = self.controls.label()
        if table is None or len(table) == 0 or not label:
            self._set_lab(None, "Open a dataset with a label or a categorical column (two or more classes) "
                                "to compare fusion methods on it.")
            return
        seed, dropout = self.controls.seed(), self.controls.dropout()
        base = self.knobs(table.modalities)
        _, rows = self.workspace.row_filter.scope()
        scope, self._fitted_version = self.workspace.row_filter.summary(), self.workspace.row_filter.version

        def work(job):
            from mmstudio.analysis.fusion.lab import FusionLab

            data = table if rows is None else table.take(rows)
            try:
                lab = FusionLab.fit(data, label, seed=seed, dropout=dropout, job=job)
            except ValueError as exc:
                return str(exc), scope
            knobs = base.replace(**{k: {m: v for m, v in getattr(base, k).items() if m in lab.modalities}
                                    for k in ("missing", "noise", "mismatch")})
            t0 = time.perf_counter()
            scores = lab.score(knobs, contributions=False)
            return lab, scores, time.perf_counter() - t0, scope

        self.controls.status.setText(f"Training every fusion method to predict {label!r}…")
        self._fit_job = self.runner.start(self._kind + "-fit", work, label=f"fusion lab ({label})",
                                          on_done=self._fitted, on_error=self._fit_failed, panel=True)
        self._fit_job.signals.status.connect(self._fit_status, QUEUED)

    def _find_labels(self, table) -> None:
        """The table's label columns (a job: every row of every column is looked at), then the fit."""
        if table is None or len(table) == 0:
            self._labels_found(table, [])
            return
        self.controls.status.setText("Looking for label columns…")
        self.runner.start(self._kind + "-fit", lambda job: label_columns(table), label="fusion lab: label columns",
                          on_done=lambda names: self._labels_found(table, names), panel=True)

    def _labels_found(self, table, names) -> None:
        if table is not self.workspace.table:
            return
        self._labels_for = table
        self.controls.set_labels(names)
        self._dirty = True
        self.refit()

    def _fit_status(self, text: str) -> None:
        self.controls.status.setText(f"Training: {text}…")

    def _fit_failed(self, message: str) -> None:
        self._set_lab(None, "Training failed: " + message.splitlines()[0])

    def _fitted(self, result) -> None:
        self._fit_job = None
        if isinstance(result, tuple) and len(result) == 2:   # (why it cannot fuse, the filter's words)
            why, scope = result
            self._set_lab(None, f"Cannot fuse on {self.controls.label()!r}" + (f" ({scope})" if scope else "")
                          + f": {why}")
            return
        lab, scores, seconds, self._scope = result
        self.score_seconds = seconds
        self._set_lab(lab, "")
        if scores.knobs == self.knobs():
            self._show(scores)
        else:
            self.rescore()
        if abs(lab.dropout - self.controls.dropout()) > 1e-9:
            self._train_dropout()

    def _set_lab(self, lab, error: str) -> None:
        self.lab, self.error = lab, error
        if lab is None:
            self.scores = None
            self.bars.show_values({})
            self.table.show_scores({}, None)
            self.confusion.show_matrix([], [])
            self.confusion_title.setText("")
            self.gate_text.setText("")
            self.attention_text.setText("")
            self.curves.clear()
            self.controls.status.setText(error)
        else:
            self.controls.set_modalities(lab.modalities)
            self.curves.set_modalities(lab.modalities)
            self.controls.status.setText(self._describe(lab))
        self.fitted.emit()

    def _describe(self, lab) -> str:
        s = lab.split
        seconds = sum(sec for _, sec in lab.fit_log)
        return ((f"{self._scope}: " if self._scope else "")
                + f"{len(lab.data)} samples, {len(lab.data.classes)} classes of {self.controls.label()!r}: "
                f"{len(s.train)} train / {len(s.val)} validation / {len(s.test)} test; {s.sentence()}. {lab.fits} "
                f"heads trained in {seconds:.1f} s (seed {lab.seed}, modality dropout {lab.dropout:g}). Test-time "
                f"knobs re-score these heads; nothing is retrained.")

    def _train_dropout(self) -> None:
        lab, p = self.lab, self.controls.dropout()
        if self._fit_job is not None and self._fit_job in self.runner.running:
            self._training_changed()          # the fit on its way used the old p: start it again
            return
        if lab is None or (p in lab.dropout_heads and lab.dropout == p):
            return

        def work(job):
            lab.train_dropout(p, job=job)
            return lab

        self.controls.status.setText(f"Training the early heads with modality dropout {p:g}…")
        self.runner.start(self._kind + "-dropout", work, label=f"fusion lab: dropout {p:g}",
                          on_done=self._dropout_trained, panel=True)

    def _dropout_trained(self, lab) -> None:
        if lab is self.lab:
            self.controls.status.setText(self._describe(lab))
            self.rescore()

    # ------------------------------------------------------------------ scoring
    def schedule_score(self) -> None:
        """A knob moved: score within ``SCORE_DELAY_MS`` (moves in between are scored together)."""
        if not self._score_timer.isActive():
            self._score_timer.start()
        self._curve_timer.start()

    def _view_toggled(self, _checked: bool = False) -> None:
        self.controls.update_hidden()
        self.schedule_score()

    def rescore(self) -> None:
        lab = self.lab
        if lab is None:
            return
        p = self.controls.dropout()
        if p in lab.dropout_heads:
            lab.dropout = p
        knobs = self.knobs()
        if self.score_seconds < FAST_S:
            t0 = time.perf_counter()
            scores = lab.score(knobs, contributions=False)
            self.score_seconds = time.perf_counter() - t0
            self._show(scores)
            return

        def work(job):
            t0 = time.perf_counter()
            scores = lab.score(knobs, contributions=False)
            return lab, scores, time.perf_counter() - t0

        self.runner.start(self._kind + "-score", work, label="fusion lab: re-score", on_done=self._scored)

    def _scored(self, result) -> None:
        lab, scores, self.score_seconds = result
        if lab is self.lab:
            self._show(scores)

    def _show(self, scores) -> None:
        self.scores = scores
        self._redraw()
        self.scored.emit()
        self._curve_timer.start()

    def _redraw(self) -> None:
        scores = self.scores
        if scores is None:
            return
        names = [m for m in self.shown_methods() if m in scores.methods]
        names += [k for k in scores.methods if k.endswith("-only")]
        shown = {n: scores.methods[n] for n in names}
        self.bars.show_values({n: s.accuracy for n, s in shown.items()})
        if self.selected not in shown:
            self.selected = names[0] if names else None
        self.table.show_scores(shown, self.selected)
        self._show_confusion()
        self.gate_text.setText(gate_words(scores))
        attention = shown.get("cross-attention")
        self.attention_text.setText(attention_words(attention.extra) if attention is not None else "")
        if self.curves.curve is not None:
            self._draw_curve(self.curves.curve)

    def select_method(self, name: str) -> None:
        self.selected = name
        self._show_confusion()

    def _show_confusion(self) -> None:
        if self.scores is None or self.selected not in self.scores.methods:
            return
        self.confusion.show_matrix(self.scores.methods[self.selected].confusion, self.scores.classes)
        self.confusion_title.setText(f"Confusion matrix of <b>{self.selected}</b> (rows: true, columns: predicted)")

    # ------------------------------------------------------------------ robustness curves
    def compute_curve(self) -> None:
        lab = self.lab
        if lab is None:
            return
        choice, knobs = self.curves.choice(), self.knobs()
        modality = choice["modality"] if choice["modality"] in lab.modalities else "all"

        def work(job):
            from mmstudio.analysis.fusion.curves import robustness_curve

            return lab, robustness_curve(lab, choice["knob"], modality, metric=choice["metric"], base=knobs, job=job)

        self.runner.start(self._kind + "-curve", work, label="fusion lab: robustness curve", on_done=self._curve_done,
                          panel=True)

    def _curve_done(self, result) -> None:
        lab, curve = result
        if lab is self.lab:
            self._draw_curve(curve)
            self.curveReady.emit()

    def _draw_curve(self, curve) -> None:
        names = [m for m in self.shown_methods() if m in curve.values]
        names += [k for k in curve.values if k.endswith("-only")]
        level = getattr(self.knobs(), curve.knob).get(curve.modality)
        self.curves.show_curve(curve, names, level)

    # ------------------------------------------------------------------ project files
    def settings(self) -> dict:
        return {**self.controls.settings(), "selected": self.selected, "curve": self.curves.choice()}

    def apply_settings(self, settings: dict) -> None:
        before = (self.controls.label(), self.controls.seed(), self.controls.dropout())
        self.controls.apply_settings(settings)
        if settings.get("selected"):
            self.selected = str(settings["selected"])
        if settings.get("curve"):
            self.curves.blockSignals(True)
            self.curves.set_choice(settings["curve"])
            self.curves.blockSignals(False)
        after = (self.controls.label(), self.controls.seed(), self.controls.dropout())
        if before[:2] != after[:2] or self.lab is None:
            self._training_changed()
        elif before[2] != after[2]:
            self._dropout_timer.start()
        else:
            self._redraw()
            self.schedule_score()


__all__ = ["IMPUTATIONS", "QtFusionPanel", "label_columns"]
