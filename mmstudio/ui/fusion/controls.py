"""The fusion lab's controls: label column, methods, test-time knobs and training settings.

The knob values live in plain dicts (``levels``) as well as in the sliders, so settings applied
before a table is open (a project being reopened) wait for the modalities they name.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from mmstudio.ui.widgets.slider import QtSlider

IMPUTATIONS = (("zero", "zeros"), ("mean", "training mean"), ("cross-modal", "cross-modal maps"),
               ("dropout", "dropout-trained heads"))
LEVELS = (("missing", "Missing", 100, 100, "{:.0%}", "fraction of test samples that lose this modality"),
          ("noise", "Noise σ", 200, 100, "{:.2f}", "Gaussian noise added to this modality's test vectors, "
                                                  "as a fraction of the vector's norm"),
          ("mismatch", "Mismatch", 100, 100, "{:.0%}", "fraction of test samples whose vector of this modality "
                                                       "is another sample's"))
DEFAULTS = {"impute": "zero", "gate": 0.5, "agreement": "js", "dropout": 0.5, "seed": 0}   # as `mmstudio fuse`
MAX_CLASSES = 50
METHOD_COLUMNS = 2   # the methods' check boxes per row (three did not fit the controls' column)


def label_columns(table) -> list[str]:
    """``label`` and the metadata columns a person could predict: 2 to 50 classes, fewer than half the samples."""
    if table is None or len(table) == 0:
        return []
    from mmstudio.analysis.common.pairing import label_values

    cap = min(MAX_CLASSES, max(2, len(set(table.sample_id.tolist())) // 2))
    out = []
    for name in ["label", *table.columns]:
        values = label_values(table, name)
        if 2 <= len({v for v in values if v is not None}) <= cap:
            out.append(name)
    return out


class QtFusionControls(QtWidgets.QWidget):
    labelChanged = QtCore.Signal()
    seedChanged = QtCore.Signal()
    dropoutChanged = QtCore.Signal()
    knobsChanged = QtCore.Signal()      # a test-time knob
    methodsChanged = QtCore.Signal()

    def __init__(self, view=None, parent=None):
        super().__init__(parent)
        from mmstudio.analysis.fusion.knobs import METHODS

        self.view = view
        self.levels: dict[str, dict[str, float]] = {name: {} for name, *_ in LEVELS}
        self.level_knobs: dict[tuple[str, str], QtSlider] = {}
        self.modalities: tuple[str, ...] = ()
        self._wanted_label: str | None = None
        form = QtWidgets.QVBoxLayout(self)
        form.setContentsMargins(0, 0, 4, 0)
        top = QtWidgets.QHBoxLayout()
        self.label_box = QtWidgets.QComboBox()
        self.label_box.setToolTip("The column to predict: the label or a categorical metadata column")
        self.label_box.currentTextChanged.connect(self._label_picked)
        self.seed_box = QtWidgets.QSpinBox()
        self.seed_box.setRange(0, 9999)
        self.seed_box.setToolTip("Seed of the split, the training and the test-time draws (as mmstudio fuse --seed); "
                                 "changing it retrains")
        self.seed_box.valueChanged.connect(lambda _: self.seedChanged.emit())
        top.addWidget(QtWidgets.QLabel("Predict"))
        top.addWidget(self.label_box, 1)
        top.addWidget(QtWidgets.QLabel("seed"))
        top.addWidget(self.seed_box)
        form.addLayout(top)

        group = QtWidgets.QGroupBox("Methods")
        grid = QtWidgets.QGridLayout(group)
        grid.setContentsMargins(6, 2, 6, 2)
        grid.setVerticalSpacing(0)
        self.method_boxes: dict[str, QtWidgets.QCheckBox] = {}
        for i, name in enumerate(METHODS):
            box = QtWidgets.QCheckBox(name)
            box.setChecked(True)
            box.toggled.connect(lambda _: self.methodsChanged.emit())
            self.method_boxes[name] = box
            grid.addWidget(box, i // METHOD_COLUMNS, i % METHOD_COLUMNS)
        form.addWidget(group)

        group = QtWidgets.QGroupBox("Test-time knobs (re-score at once, no training)")
        self._knob_layout = QtWidgets.QVBoxLayout(group)
        self._knob_layout.setContentsMargins(6, 2, 6, 4)
        self._grid_host = QtWidgets.QWidget()
        self._knob_layout.addWidget(self._grid_host)
        rows = QtWidgets.QFormLayout()
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapAllRows)   # a long choice gets the whole width
        self.impute = QtWidgets.QComboBox()
        for value, words in IMPUTATIONS:
            self.impute.addItem(words, value)
        self.impute.setToolTip("How the early methods (concatenation, cross-attention) fill a missing modality; "
                               "the late methods combine the experts of the modalities present")
        self.impute.currentIndexChanged.connect(lambda _: self.knobsChanged.emit())
        rows.addRow("Fill missing with", self.impute)
        gate = QtWidgets.QHBoxLayout()
        self.gate = QtSlider(0, 1, 0.01, 0.0, "{:.2f}", "Gated fusion combines the modalities when their experts agree at "
                                               "least this much, else keeps the most trusted one (0: never closes)")
        self.gate.valueChanged.connect(lambda _: self.knobsChanged.emit())
        self.agreement = QtWidgets.QComboBox()
        self.agreement.addItems(["js", "cosine"])
        self.agreement.setToolTip("Agreement of the experts: 1 − Jensen–Shannon divergence, or cosine")
        self.agreement.currentTextChanged.connect(lambda _: self.knobsChanged.emit())
        gate.addWidget(self.gate, 1)
        gate.addWidget(self.agreement)
        rows.addRow("Gate threshold", gate)
        self.trust = QtWidgets.QComboBox()
        for value, words in (("confidence", "the more confident expert (label-free)"),
                             ("clean-accuracy", "accuracy on clean validation data"),
                             ("oracle", "oracle: accuracy under these conditions (needs their labels)")):
            self.trust.addItem(words, value)
        self.trust.setToolTip("Which modality the gate keeps when the experts disagree. The oracle reads the labels of "
                              "the corrupted data, which a deployed model does not have: an upper bound, not a method")
        self.trust.currentIndexChanged.connect(lambda _: self.knobsChanged.emit())
        rows.addRow("Gate keeps", self.trust)
        for combo in (self.label_box, self.impute, self.trust):   # as wide as the column, not as their longest item
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        self._knob_layout.addLayout(rows)
        form.addWidget(group)

        group = QtWidgets.QGroupBox("Training (changing it retrains, in the background)")
        rows = QtWidgets.QFormLayout(group)
        rows.setContentsMargins(6, 2, 6, 4)
        self.dropout_knob = QtSlider(0.05, 0.9, 0.01, 0.05, "{:.2f}", "Modality-dropout probability of the early heads trained "
                                                      "with dropout (used by Fill missing with: dropout-trained "
                                                      "heads). Changing it trains those heads again.")
        self.dropout_knob.valueChanged.connect(lambda _: self.dropoutChanged.emit())
        rows.addRow("Modality dropout", self.dropout_knob)
        form.addWidget(group)
        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555")
        form.addWidget(self.status)
        form.addStretch(1)
        self._set_defaults()
        self.set_modalities(("image", "audio", "text"))

    def _set_defaults(self) -> None:
        self.gate.set_value(DEFAULTS["gate"])
        self.dropout_knob.set_value(DEFAULTS["dropout"])
        self.seed_box.setValue(DEFAULTS["seed"])

    # ------------------------------------------------------------------ the label column
    def set_labels(self, names) -> None:
        wanted = self._wanted_label or self.label_box.currentText()
        self.label_box.blockSignals(True)
        self.label_box.clear()
        self.label_box.addItems(list(names))
        pick = wanted if wanted in names else "label" if "label" in names else (names[0] if names else "")
        self.label_box.setCurrentText(pick)
        self.label_box.blockSignals(False)

    def label(self) -> str:
        return self.label_box.currentText()

    def _label_picked(self, text: str) -> None:
        if text:
            self._wanted_label = text
        self.labelChanged.emit()

    # ------------------------------------------------------------------ per-modality knobs
    def set_modalities(self, modalities) -> None:
        modalities = tuple(modalities)
        if modalities == self.modalities:
            return
        self.modalities = modalities
        host = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(host)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(2)
        self.level_knobs = {}
        for j, mod in enumerate(modalities):
            head = QtWidgets.QLabel(f"<b>{mod}</b>")
            head.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(head, 0, j + 1)
        for i, (name, title, maximum, scale, fmt, tip) in enumerate(LEVELS):
            grid.addWidget(QtWidgets.QLabel(title), i + 1, 0)
            for j, mod in enumerate(modalities):
                knob = QtSlider(0, maximum / scale, 1 / scale, 0.0, fmt, f"{mod}: {tip}")
                knob.set_value(self.levels[name].get(mod, 0.0))
                knob.valueChanged.connect(lambda v, n=name, m=mod: self._level_moved(n, m, v))
                self.level_knobs[name, mod] = knob
                grid.addWidget(knob, i + 1, j + 1)
        self._knob_layout.replaceWidget(self._grid_host, host)
        self._grid_host.hide()
        self._grid_host.deleteLater()
        self._grid_host = host
        self.update_hidden()

    def _level_moved(self, name: str, modality: str, value: float) -> None:
        if value > 0:
            self.levels[name][modality] = value
        else:
            self.levels[name].pop(modality, None)
        self.knobsChanged.emit()

    def hidden_modalities(self) -> list[str]:
        """Modalities unchecked in the embedding view: missing from every test sample here."""
        boxes = getattr(self.view, "modality_boxes", {})
        return [m for m in self.modalities if m in boxes and not boxes[m].isChecked()]

    def update_hidden(self) -> None:
        hidden = self.hidden_modalities()
        for mod in self.modalities:
            knob = self.level_knobs.get(("missing", mod))
            if knob is not None:
                knob.set_hidden_note("hidden" if mod in hidden else None)
                knob.setToolTip(f"{mod} is hidden in the embedding view, so it counts as missing from every test "
                                f"sample" if mod in hidden else f"{mod}: {LEVELS[0][5]}")

    # ------------------------------------------------------------------ values
    def methods(self) -> list[str]:
        return [m for m, box in self.method_boxes.items() if box.isChecked()]

    def seed(self) -> int:
        return self.seed_box.value()

    def dropout(self) -> float:
        return self.dropout_knob.value()

    def knobs(self, modalities):
        from mmstudio.analysis.fusion.knobs import Knobs

        levels = {name: {m: self.levels[name][m] for m in modalities if self.levels[name].get(m, 0) > 0}
                  for name in self.levels}
        for mod in self.hidden_modalities():
            if mod in modalities:
                levels["missing"][mod] = 1.0
        return Knobs(missing=levels["missing"], noise=levels["noise"], mismatch=levels["mismatch"],
                     impute=self.impute.currentData(), gate=self.gate.value(), agreement=self.agreement.currentText(),
                     trust=self.trust.currentData(), seed=self.seed())

    def settings(self) -> dict:
        return {"label": self.label() or self._wanted_label, "methods": self.methods(),
                **{name: dict(values) for name, values in self.levels.items()},
                "impute": self.impute.currentData(), "gate": self.gate.value(), "agreement": self.agreement.currentText(),
                "trust": self.trust.currentData(), "dropout": self.dropout(), "seed": self.seed()}

    def apply_settings(self, settings: dict) -> None:
        """Put the settings back; signals are held until the end (the panel decides what to redo)."""
        widgets = [self, self.label_box, self.impute, self.gate, self.agreement, self.trust, self.dropout_knob, self.seed_box,
                   *self.method_boxes.values(), *self.level_knobs.values()]
        blocked = [w.blockSignals(True) for w in widgets]
        try:
            if "methods" in settings:
                for name, box in self.method_boxes.items():
                    box.setChecked(name in settings["methods"])
            for name in self.levels:
                if name in settings:
                    self.levels[name] = {str(m): float(v) for m, v in (settings[name] or {}).items() if float(v) > 0}
                    for mod in self.modalities:
                        self.level_knobs[name, mod].set_value(self.levels[name].get(mod, 0.0))
            index = self.impute.findData(settings.get("impute", DEFAULTS["impute"]))
            self.impute.setCurrentIndex(max(index, 0))
            self.gate.set_value(settings.get("gate", DEFAULTS["gate"]))
            self.agreement.setCurrentText(settings.get("agreement", DEFAULTS["agreement"]))
            self.trust.setCurrentIndex(max(self.trust.findData(settings.get("trust", "confidence")), 0))
            self.dropout_knob.set_value(settings.get("dropout", DEFAULTS["dropout"]))
            self.seed_box.setValue(int(settings.get("seed", DEFAULTS["seed"])))
            label = settings.get("label")
            if label:
                self._wanted_label = str(label)
                if self.label_box.findText(label) >= 0:
                    self.label_box.setCurrentText(label)
        finally:
            for widget, was in zip(widgets, blocked):
                widget.blockSignals(was)
        for knob in (self.gate, self.dropout_knob, *self.level_knobs.values()):
            knob.show_value()      # the value labels (the sliders moved with their signals blocked)
        self.update_hidden()
