"""The main window: library | embedding view | inspector, panels below, menus, status bar, drops."""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.core.project import SUFFIX
from mmstudio.ui.compare.window import CompareActions
from mmstudio.ui.dialogs import ModelDialog, PreferencesDialog, ProjectionDialog, about_text
from mmstudio.ui.export import add_figure_menu, export_figure_dialog, export_metrics_dialog, export_table_dialog
from mmstudio.ui.filter_bar import QtFilterBar
from mmstudio.ui.guard import guarded
from mmstudio.ui.help import add_help_menu
from mmstudio.ui.inspector.inspector import QtInspector
from mmstudio.ui.inspector.library import QtLibrary
from mmstudio.ui.job_progress import QtJobProgress
from mmstudio.ui.map.view import QtEmbeddingView
from mmstudio.ui.model_note import QtModelNote
from mmstudio.ui.panel_strip import QtPanelStrip
from mmstudio.ui.panel_visibility import watch_dock
from mmstudio.ui.project import ProjectActions
from mmstudio.ui.title import QtWindowTitle
from mmstudio.ui.widgets.elided import QtElidedLabel
from mmstudio.ui.window_layout import side_widths
from mmstudio.ui.workers import QtRunner
from mmstudio.ui.workspace import Workspace

MAX_RECENT = 10
QUIET_PROGRESS = {"warm-up"}  # background jobs whose step counts mean nothing to a user
QUIT_WAIT_MS = 300  # at quit, how long running jobs get to stop at their next job.check() (then app.run exits)
LAYOUT_VERSION = 2  # saveState's version: states of the layout before the panel strip are not restored


class QtMainWindow(QtWidgets.QMainWindow):
    def __init__(self, settings: QtCore.QSettings | None = None):
        super().__init__()
        self.settings = settings or QtCore.QSettings("mmstudio", "mmstudio")
        self.setWindowTitle("mmstudio")
        self.setAcceptDrops(True)
        self.runner = QtRunner(self)
        self.workspace = Workspace(self.runner, model=self.settings.value("model", "builtin"),
                                   device=self.settings.value("device", "auto"), parent=self)
        self.view = QtEmbeddingView(self.workspace)
        self.view.reprojectRequested.connect(self.reproject_dialog)
        self.setCentralWidget(self.view)
        self.filter_bar = QtFilterBar(self.workspace)   # one filter: the map, the library and the panels
        self.view.layout().insertWidget(0, self.filter_bar)   # above the map only: the docks keep their height
        add_figure_menu(self.view.plot, self, "map")
        self.library = QtLibrary(self.workspace)
        self.inspector = QtInspector(self.workspace)
        self.log = QtWidgets.QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.docks = {}
        self.strip = QtPanelStrip(self)   # the bottom panels' tabs and the Log's last line
        self.addToolBar(QtCore.Qt.ToolBarArea.BottomToolBarArea, self.strip)
        self._told_log_file = False
        self.model_error: QtWidgets.QMessageBox | None = None
        self.model_dialog: ModelDialog | None = None
        self._dock("Library", self.library, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        self._dock("Inspector", self.inspector, QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self._dock("Log", self.log, QtCore.Qt.DockWidgetArea.BottomDockWidgetArea)
        self.panels: dict[str, QtWidgets.QWidget] = {}
        self._status_bar()
        self.projects = ProjectActions(self)
        self.title = QtWindowTitle(self)   # the project's name, unsaved changes, the model
        self._menus()
        self._panels()
        self.model_note = QtModelNote(self)   # over the map: the built-in model on media it does not know
        self.workspace.message.connect(self.log_line)
        self.workspace.modelFailed.connect(self._model_failed)
        self.workspace.modelChanged.connect(lambda _: self._update_status())
        self.workspace.tableChanged.connect(self._update_status)
        self.workspace.datasetChanged.connect(self._update_status)
        self.runner.failed.connect(self._job_failed)
        self.runner.started.connect(self._job_started)
        self.runner.ended.connect(self._job_ended)
        self.resize(1400, 860)
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.value("state")
        if state is None or not self.restoreState(state):   # none yet, or of an older layout
            QtCore.QTimer.singleShot(0, self._default_sizes)
        self._update_status()

    def _panels(self) -> None:
        """The analysis panels, as tabs below the map (the Log is the last tab)."""
        from mmstudio.ui.selection.panel import QtSelectionPanel

        selection = QtSelectionPanel(self.workspace, self.view)
        selection.lazy = True
        self.add_panel("Selection", selection)
        from mmstudio.ui.alignment.panel import QtAlignmentPanel

        alignment = QtAlignmentPanel(self.workspace, self.view)
        alignment.lazy = True
        self.add_panel("Alignment", alignment)
        from mmstudio.ui.fusion.panel import QtFusionPanel

        self.add_panel("Fusion lab", QtFusionPanel(self.workspace, self.view))
        from mmstudio.ui.principles.panel import QtPrinciplesPanel

        self.add_panel("Principles", QtPrinciplesPanel(self.workspace))
        from mmstudio.ui.retrieval.panel import add_retrieval_panel

        add_retrieval_panel(self, alignment)
        self.add_panel("Compare", self.compare.panel)

    def _default_sizes(self) -> None:
        """The map gets the space: the side docks take their share of the width (window_layout's rule),
        the bottom panels are closed until raised from the strip (which sizes them)."""
        self.resizeDocks([self.docks["Library"], self.docks["Inspector"]], list(side_widths(self.width())),
                         QtCore.Qt.Orientation.Horizontal)

    def saveState(self, version: int = LAYOUT_VERSION) -> QtCore.QByteArray:  # noqa: N802 (Qt's name)
        return super().saveState(version)

    def restoreState(self, state, version: int = LAYOUT_VERSION) -> bool:  # noqa: N802 (Qt's name)
        return super().restoreState(state, version)

    # ------------------------------------------------------------------ layout
    def _dock(self, title: str, widget: QtWidgets.QWidget, area) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[title] = dock
        if area == QtCore.Qt.DockWidgetArea.BottomDockWidgetArea:
            others = [d for d in self.docks.values() if d is not dock and self.dockWidgetArea(d) == area]
            if others:
                self.tabifyDockWidget(others[0], dock)
            self.strip.add(title, dock)
        return dock

    def add_panel(self, title: str, widget: QtWidgets.QWidget) -> QtWidgets.QDockWidget:
        """A panel in the bottom tabs (alignment, fusion lab, principles lab…)."""
        self.panels[title] = widget
        dock = self._dock(title, widget, QtCore.Qt.DockWidgetArea.BottomDockWidgetArea)
        self.view_menu.addAction(dock.toggleViewAction())
        watch_dock(dock, widget)  # a panel computes when its tab comes forward
        return dock

    def _status_bar(self) -> None:
        bar = self.statusBar()
        self.device_label = QtWidgets.QLabel()
        self.model_label = QtWidgets.QLabel()
        self.count_label = QtWidgets.QLabel()
        self.job_label = QtElidedLabel(minimum=60)   # a job's status never widens the window
        self.job_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Preferred)
        self.progress = QtJobProgress(self.runner, quiet=QUIET_PROGRESS)
        self.cancel = QtWidgets.QPushButton("Cancel")
        self.cancel.setVisible(False)
        self.cancel.clicked.connect(self.runner.cancel_all)
        for widget in (self.model_label, self.device_label, self.count_label):
            bar.addWidget(widget)
        bar.addPermanentWidget(self.job_label)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel)

    def _menus(self) -> None:
        menu = self.menuBar()
        file = menu.addMenu("&File")
        file.addAction("Open &Files…", QtGui.QKeySequence.StandardKey.Open, self.open_files)
        file.addAction("Open F&older…", QtGui.QKeySequence("Ctrl+Shift+O"), self.open_folder)
        file.addAction("Open &Manifest…", self.open_manifest)
        self.compare = CompareActions(self)   # File > Compare With: a second map beside this one, the Compare panel
        self.compare.add_to(file)
        file.addSeparator()
        self.projects.add_to(file)
        file.addSeparator()
        self.recent_menu = file.addMenu("Open &Recent")
        self._fill_recent()
        file.addSeparator()
        file.addAction("&Export Embeddings…", QtGui.QKeySequence("Ctrl+E"), self.export_table)
        file.addAction("Export &View (PNG, SVG, PDF)…", QtGui.QKeySequence("Ctrl+Shift+E"), self.export_view)
        file.addAction("Export &Window as PNG…", self.export_window)
        file.addAction("Export Me&trics (JSON, CSV)…", lambda: export_metrics_dialog(self))
        file.addSeparator()
        file.addAction("&Quit", QtGui.QKeySequence.StandardKey.Quit, self.close)
        model = menu.addMenu("&Model")
        model.addAction("&Model…", QtGui.QKeySequence("Ctrl+M"), self.choose_model)
        device = model.addMenu("&Device")
        group = QtGui.QActionGroup(self)
        for name in ("auto", "cpu", "cuda", "mps"):
            action = device.addAction(name)
            action.setCheckable(True)
            action.setChecked(name == self.workspace.device)
            action.triggered.connect(lambda _=False, n=name: self.choose_device(n))
            group.addAction(action)
        self.view_menu = menu.addMenu("&View")
        self.view_menu.addAction("&Reproject…", QtGui.QKeySequence("Ctrl+R"), self.reproject_dialog)
        self.view_menu.addAction("&Zoom to Selection", QtGui.QKeySequence("Ctrl+2"), self.view.zoom_to_selection)
        links = self.view_menu.addAction("&Link Samples")
        links.setCheckable(True)
        links.setShortcut(QtGui.QKeySequence("Ctrl+L"))
        links.toggled.connect(self.view.links.setChecked)
        self.view_menu.addSeparator()
        for dock in self.docks.values():
            self.view_menu.addAction(dock.toggleViewAction())
        edit = menu.addMenu("&Edit")
        edit.addAction("&Preferences…", QtGui.QKeySequence.StandardKey.Preferences, self.preferences)
        help_menu = menu.addMenu("&Help")
        add_help_menu(self, help_menu)
        help_menu.addAction("&About mmstudio", self.about)

    # ------------------------------------------------------------------ opening
    def open_paths(self, paths) -> None:
        paths = [str(p) for p in paths]
        projects = [p for p in paths if p.endswith(SUFFIX)]
        if projects:  # a project file replaces what is open
            self.projects.open(projects[-1])
            paths = [p for p in paths if not p.endswith(SUFFIX)]
        if not paths:
            return
        recent = [p for p in self.settings.value("recent", []) or [] if p not in paths]
        self.settings.setValue("recent", (paths + recent)[:MAX_RECENT])
        self._fill_recent()
        self.workspace.open_paths(paths)

    def open_files(self) -> None:
        from mmstudio.ui.file_filters import open_filters

        files, _ = QtWidgets.QFileDialog.getOpenFileNames(self, "Open media, datasets, shards or tables",
                                                          filter=open_filters())
        self.open_paths(files)

    def open_folder(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Open a folder of media, a dataset or shards")
        if folder:
            self.open_paths([folder])

    def open_manifest(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open a manifest or a caption file",
            filter="Manifests and caption files (*.csv *.jsonl *.json);;COCO captions (*.json);;All files (*)")
        if path:
            self.open_paths([path])

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.value("recent", []) or []:
            self.recent_menu.addAction(path, lambda p=path: self.open_paths([p]))
        self.recent_menu.setEnabled(not self.recent_menu.isEmpty())

    @guarded(None)
    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    @guarded(None)
    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    # ------------------------------------------------------------------ model, view, export
    def choose_model(self) -> None:
        """The model dialog, window-modal (open(), not exec(): the window keeps running)."""
        if self.model_dialog is not None:
            self.model_dialog.close()
            self.model_dialog.deleteLater()
        dialog = ModelDialog(self.workspace.model_name, self.settings.value("recent_models", []) or [], self,
                             runner=self.runner)
        dialog.accepted.connect(lambda: self._model_chosen(dialog.value()))
        self.model_dialog = dialog
        dialog.open()

    def _model_chosen(self, name: str) -> None:
        if name:
            recent = [m for m in self.settings.value("recent_models", []) or [] if m != name]
            self.settings.setValue("recent_models", [name] + recent[:8])
            self.workspace.set_model(name)

    def choose_device(self, device: str) -> None:
        self.settings.setValue("device", device)
        self.workspace.set_model(self.workspace.model_name, device)

    def reproject_dialog(self) -> None:
        dialog = ProjectionDialog(self.workspace.projection, self)
        if dialog.exec():
            self.workspace.reproject(**dialog.values())

    def export_table(self) -> None:
        export_table_dialog(self)

    def export_view(self) -> None:
        export_figure_dialog(self.view.plot, self, "map")

    def export_window(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export the window", "mmstudio.png", "PNG (*.png)")
        if path:
            self.grab().save(path)
            self.log_line(f"wrote {path}")

    def preferences(self) -> None:
        PreferencesDialog(self.settings, self).exec()

    def about(self) -> None:
        QtWidgets.QMessageBox.about(self, "About mmstudio", about_text())

    # ------------------------------------------------------------------ status and log
    def log_line(self, text: str) -> None:
        self.log.appendPlainText(text)
        self.strip.log_line(text, error=text.startswith("error:"))

    def _job_failed(self, message: str) -> None:
        """One line in the Log (and the status bar); the traceback is in the log file."""
        first = message.splitlines()[0] if message else "a job failed"
        self.log_line("error: " + first)
        if not self._told_log_file:
            from mmstudio.core.logfile import log_path

            self.log_line(f"  (the details of errors are written to {log_path()})")
            self._told_log_file = True
        self.statusBar().showMessage(first, 10000)

    def _model_failed(self, name: str, reason: str) -> None:
        """Why the model could not be loaded, and the window's way to another (not a command line)."""
        if self.model_error is not None:
            self.model_error.close()
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "Model", f"Could not load the model {name}.",
                                    QtWidgets.QMessageBox.StandardButton.Ok, self)
        box.setInformativeText(
            f"{reason.rstrip('.')}.\n\n{self.workspace.model_name} stays in use. To use another model, choose Model > Model… "
            "(Ctrl+M) and type a Hugging Face id, or press Folder… there to pick a model folder (config.json and "
            ".safetensors weights). Without internet, download the model on a machine that has it and copy its "
            "folder here.")
        box.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        box.open()  # not exec(): the window keeps running (and a test can read and close it)
        self.model_error = box

    def _job_started(self, job) -> None:
        label = self.job_label   # a job may report after the window is gone (its runner outlives it)
        job.signals.status.connect(lambda text, j=job: _set_text(label, f"{j.label}: {text}"))
        self._job_ended(None)

    def _job_ended(self, _job) -> None:
        running = self.runner.running
        self.cancel.setVisible(bool(running))
        self.job_label.setText(", ".join(j.label for j in running))
        self._update_status()

    def _update_status(self) -> None:
        ws = self.workspace
        encoder = ws.encoder
        self.model_label.setText(f"model: {ws.model_name}")
        self.device_label.setText(f"device: {encoder.device if encoder else ws.device}"
                                  + (f" ({encoder.precision})" if encoder else ""))
        items = len(ws.table) if ws.table is not None else 0
        samples = len(ws.dataset)
        if not samples and items:   # a table opened without its media: its own samples, once counted
            from mmstudio.core.tables.categories import cached, categories

            if cached(ws.table, "sample_id"):
                samples = len(categories(ws.table, "sample_id").names)
        self.count_label.setText(f"{samples:,} samples · {items:,} items" + ws.problems_counted())
        self.title.update()

    @guarded(None)
    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.projects.clean_exit()
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("state", self.saveState())
        self.settings.sync()
        self.hide()                  # gone from the screen at once; the jobs stop behind it
        for dialog in (self.model_error, self.model_dialog):
            if dialog is not None:
                dialog.close()
        self.runner.shutdown(QUIT_WAIT_MS)
        super().closeEvent(event)


def _set_text(label: QtWidgets.QLabel, text: str) -> None:
    if shiboken6.isValid(label):
        label.setText(text)


def default_paths() -> list[Path]:
    return []
