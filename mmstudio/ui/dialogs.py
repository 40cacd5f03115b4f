"""The window's dialogs: model, projection parameters, preferences, about."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from mmstudio import __version__


class ModelDialog(QtWidgets.QDialog):
    """builtin, a Hugging Face hub id, or a local folder; the name box offers one checkpoint of each family
    (:data:`mmstudio.encoders.hf.families.FAMILIES`), and the checkpoints of any family found in the local
    Hugging Face cache are listed (:mod:`mmstudio.encoders.catalog`): those mmstudio can use with their
    family, modalities and embedding size, the others greyed with the reason. A click picks one."""

    def __init__(self, current: str, recent: list[str], parent=None, runner=None, note: str | None = None):
        super().__init__(parent)
        self.setWindowTitle("Model")
        self.name = QtWidgets.QComboBox()
        self.name.setEditable(True)
        self.name.addItems(list(dict.fromkeys(["builtin", current, *recent])))
        self._add_family_examples()
        self.name.setCurrentText(current)
        self.name.setToolTip("builtin, a Hugging Face id such as openai/clip-vit-base-patch32, or a folder")
        browse = QtWidgets.QPushButton("Folder…")
        browse.clicked.connect(self._browse)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.name, 1)
        row.addWidget(browse)
        self.cache_label = QtWidgets.QLabel("Looking in the local Hugging Face cache…")
        self.cache_label.setWordWrap(True)
        self.checkpoints = QtWidgets.QTreeWidget()
        self.checkpoints.setHeaderLabels(["Checkpoint", "Family", "Modalities", "Size", "Note"])
        self.checkpoints.setRootIsDecorated(False)
        self.checkpoints.setMinimumHeight(170)
        self.checkpoints.itemClicked.connect(self._picked)
        self.checkpoints.itemDoubleClicked.connect(lambda item, _col: self._picked(item) and self.accept())
        note = QtWidgets.QLabel(note or "Switching re-encodes everything in the background; items already in the cache "
                                "for that model are instant. If the model cannot be loaded, the current one stays.")
        note.setWordWrap(True)
        buttons = ok_cancel(self)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.cache_label)
        layout.addWidget(self.checkpoints, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(860, 420)
        if runner is None:
            self.show_checkpoints(_scan(None))
        else:  # reading config.json files: off the window's thread
            runner.start("model-list", _scan, label="looking for models", on_done=self.show_checkpoints)

    def _add_family_examples(self) -> None:
        """One checkpoint of each family mmstudio loads, after the recent ones; its tooltip names the family."""
        from mmstudio.encoders.hf.families import FAMILIES

        for family in FAMILIES:
            example = family.examples[0]
            if self.name.findText(example) < 0:
                self.name.addItem(example)
            self.name.setItemData(self.name.findText(example), f"{family.name}: {', '.join(family.modalities)} "
                                  "(downloaded from the hub when not in the cache)", QtCore.Qt.ItemDataRole.ToolTipRole)

    def families(self) -> list[tuple[str, str]]:
        """(checkpoint, tooltip) of the family examples the name box offers, as shown."""
        role = QtCore.Qt.ItemDataRole.ToolTipRole
        return [(self.name.itemText(i), self.name.itemData(i, role)) for i in range(self.name.count())
                if self.name.itemData(i, role)]

    def show_checkpoints(self, found) -> None:
        """``found``: (the cache folders, the :class:`CachedModel` list) of :func:`_scan`."""
        from mmstudio.encoders.catalog import BUILTIN, default_hub_cache

        folders, models = found
        self.checkpoints.clear()
        self._add_row(BUILTIN.load_name, BUILTIN.name, BUILTIN.modalities, BUILTIN.dim, "the demo world only")
        for model in models:
            self._add_row(model.name if model.supported else model.hub_id, model.family or "—", model.modalities,
                          model.dim, model.reason or "", usable=model.supported, tip=str(model.folder))
        usable = sum(m.supported for m in models)
        where = ", ".join(str(f) for f in folders) or f"{default_hub_cache()} (not there)"
        if models:
            self.cache_label.setText(f"{usable} of {len(models)} checkpoint{'s' if len(models) != 1 else ''} in the "
                                     f"local Hugging Face cache ({where}) can be used:")
        else:
            self.cache_label.setText(f"No checkpoint in the local Hugging Face cache ({where}). Type a hub id "
                                     "(downloaded when there is internet) or press Folder… for a model folder.")
        for column in range(4):
            self.checkpoints.resizeColumnToContents(column)

    def _add_row(self, name, family, modalities, dim, note, usable=True, tip="") -> None:
        item = QtWidgets.QTreeWidgetItem([name, family, ", ".join(modalities), f"{dim}-d" if dim else "", note])
        item.setData(0, QtCore.Qt.ItemDataRole.UserRole, name if usable else None)
        item.setToolTip(0, tip or name)
        item.setToolTip(4, note)
        if not usable:
            item.setFlags(item.flags() & ~QtCore.Qt.ItemFlag.ItemIsEnabled)   # greyed, not pickable
        self.checkpoints.addTopLevelItem(item)

    def _picked(self, item) -> bool:
        name = item.data(0, QtCore.Qt.ItemDataRole.UserRole)
        if name:
            self.name.setCurrentText(name)
        return bool(name)

    def listed(self) -> list[tuple[str, bool, str]]:
        """(checkpoint, can be picked, note) of each row, as shown."""
        return [(it.text(0), bool(it.flags() & QtCore.Qt.ItemFlag.ItemIsEnabled), it.text(4))
                for it in (self.checkpoints.topLevelItem(i) for i in range(self.checkpoints.topLevelItemCount()))]

    def _browse(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Model folder (config.json + safetensors)")
        if folder:
            self.name.setCurrentText(folder)

    def value(self) -> str:
        return self.name.currentText().strip()


def _scan(_job):
    from mmstudio.encoders.catalog import cached_models, hub_cache_dirs

    folders = hub_cache_dirs()
    return folders, cached_models(folders)


class ProjectionDialog(QtWidgets.QDialog):
    def __init__(self, params: dict, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Projection")
        self.method = QtWidgets.QComboBox()
        self.method.addItems(["umap", "pca"])
        self.method.setCurrentText(params.get("method", "umap"))
        self.neighbours = QtWidgets.QSpinBox()
        self.neighbours.setRange(2, 200)
        self.neighbours.setValue(int(params.get("n_neighbors", 15)))
        self.min_dist = QtWidgets.QDoubleSpinBox()
        self.min_dist.setRange(0.0, 1.0)
        self.min_dist.setSingleStep(0.05)
        self.min_dist.setValue(float(params.get("min_dist", 0.1)))
        self.metric_box = QtWidgets.QComboBox()
        self.metric_box.addItems(["cosine", "euclidean"])
        self.metric_box.setCurrentText(params.get("metric", "cosine"))
        self.seed = QtWidgets.QLineEdit("" if params.get("seed") is None else str(params["seed"]))
        self.seed.setPlaceholderText("none (fast, multi-threaded)")
        self.seed.setToolTip("A fixed seed makes UMAP reproducible but single-threaded, hence slower")
        form = QtWidgets.QFormLayout(self)
        form.addRow("Method", self.method)
        form.addRow("Neighbours", self.neighbours)
        form.addRow("Min. distance", self.min_dist)
        form.addRow("Metric", self.metric_box)
        form.addRow("Seed", self.seed)
        note = QtWidgets.QLabel("A fixed seed makes umap-learn single-threaded: reproducible, but slower.")
        note.setWordWrap(True)
        form.addRow(note)
        buttons = ok_cancel(self)
        form.addRow(buttons)

    def values(self) -> dict:
        seed = self.seed.text().strip()
        return {"method": self.method.currentText(), "n_neighbors": self.neighbours.value(),
                "min_dist": self.min_dist.value(), "metric": self.metric_box.currentText(),
                "seed": int(seed) if seed.lstrip("-").isdigit() else None}


class PreferencesDialog(QtWidgets.QDialog):
    def __init__(self, settings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Preferences")
        self.model = QtWidgets.QLineEdit(settings.value("model", "builtin"))
        self.device = QtWidgets.QComboBox()
        self.device.addItems(["auto", "cpu", "cuda", "mps"])
        self.device.setCurrentText(settings.value("device", "auto"))
        self.demo = QtWidgets.QCheckBox("Open the demo world when started without files")
        self.demo.setChecked(settings.value("open_demo", "true") == "true")
        form = QtWidgets.QFormLayout(self)
        form.addRow("Model at start", self.model)
        form.addRow("Device", self.device)
        form.addRow(self.demo)
        buttons = ok_cancel(self, self._save)
        form.addRow(buttons)

    def _save(self) -> None:
        self.settings.setValue("model", self.model.text().strip() or "builtin")
        self.settings.setValue("device", self.device.currentText())
        self.settings.setValue("open_demo", "true" if self.demo.isChecked() else "false")
        self.accept()


def ok_cancel(dialog: QtWidgets.QDialog, accept=None) -> QtWidgets.QDialogButtonBox:
    """OK and Cancel buttons for ``dialog``: OK runs ``accept`` (default: the dialog's own)."""
    buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                         | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(accept or dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


def about_text() -> str:
    from mmstudio.encoders.sysinfo import lines
    from mmstudio.ui.versions import qt_versions

    rows = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in lines(qt=qt_versions()))
    return (f"<h3>mmstudio {__version__}</h3><p>A studio for looking inside multimodal models.</p>"
            f"<table cellspacing=4>{rows}</table>")
