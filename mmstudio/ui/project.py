"""Projects in the window: what is shown → :class:`~mmstudio.core.project.Project` and back, plus
File > Save/Open Project, autosave to the recovery file and the offer to restore after a crash.

The file format, atomic saving and the recovery file live in :mod:`mmstudio.core.project`.
"""

from __future__ import annotations

import base64
import time

from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.core.project import (
    SUFFIX,
    Colouring,
    Project,
    ProjectError,
    Projection,
    autosave,
    clear_recovery,
    load_project,
    load_recovery,
    rows_from_selection,
    save_project,
    selection_from_rows,
)

AUTOSAVE_MS = 60_000
FILTER = f"mmstudio projects (*{SUFFIX})"


def current_project(window) -> Project:
    """Everything the window shows that a project keeps."""
    ws, view = window.workspace, window.view
    table = ws.table
    selection = selection_from_rows(table.sample_id, table.modality, ws.selection) if table is not None else []
    panels = {title: panel.settings() for title, panel in window.panels.items() if hasattr(panel, "settings")}
    low, high = view.viewbox.viewRange()
    panels["Embedding view"] = {"range": [list(map(float, low)), list(map(float, high))]}
    return Project(
        sources=list(ws.sources), model=ws.model_name, device=ws.device,
        precision=getattr(ws.encoder, "precision", "auto") or "auto",
        projection=Projection(**{k: ws.projection[k] for k in ("method", "n_neighbors", "min_dist", "metric", "seed")}),
        colouring=Colouring(colour_by=view.color_by.currentText() or "modality",
                            hidden_modalities=[m for m, box in view.modality_boxes.items() if not box.isChecked()],
                            link_samples=view.links.isChecked(),
                            categories={column: dict(colours) for column, colours in ws.category_colours.items()}),
        selection=selection, subsets=ws.subsets.saved(),
        query=ws.query[0] if ws.query is not None else "", panels=panels,
        window_state=base64.b64encode(bytes(window.saveState())).decode("ascii"))


def apply_project(window, project: Project) -> None:
    """Re-open the project's sources with its model and parameters; once the final layout is
    there, put back the colouring, selection, query and panel settings."""
    ws, view = window.workspace, window.view
    ws.clear()
    ws.category_colours = {column: dict(colours) for column, colours in project.colouring.categories.items()}
    ws.subsets.restore(project.subsets)   # members by sample id and modality: they find their rows as they come
    ws.projection.update(project.projection.as_dict())
    if project.model != ws.model_name or project.device != ws.device or ws.encoder is None:
        ws.set_model(project.model, project.device)
    if project.window_state and not window.restoreState(QtCore.QByteArray(base64.b64decode(project.window_state))):
        window.log_line("the project's window layout could not be restored (kept the current one)")
    for title, settings in project.panels.items():
        panel = window.panels.get(title)
        if panel is not None and hasattr(panel, "apply_settings"):
            panel.apply_settings(settings)

    def finish(final: bool) -> None:
        if not final or ws.table is None:
            return
        ws.layoutChanged.disconnect(finish)
        colouring = project.colouring
        if view.color_by.findText(colouring.colour_by) >= 0:
            view.color_by.setCurrentText(colouring.colour_by)
        for modality, box in view.modality_boxes.items():
            box.setChecked(modality not in colouring.hidden_modalities)
        view.links.setChecked(colouring.link_samples)
        if project.query:
            view.query.setText(project.query)
            ws.set_query(project.query)
        ws.select(rows_from_selection(ws.table.sample_id, ws.table.modality, project.selection))
        box = project.panels.get("Embedding view", {}).get("range")
        if box:
            view.viewbox.setRange(xRange=box[0], yRange=box[1], padding=0)
        window.log_line(f"project restored: {len(ws.table):,} items")

    ws.layoutChanged.connect(finish)
    if project.sources:
        window.open_paths(project.sources)


class ProjectActions(QtCore.QObject):
    """File > Open/Save Project, the autosave timer and the restore offer, for one window."""

    fileChanged = QtCore.Signal(object)   # the Project as its file now holds it (saved or opened)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.path: str | None = None
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(AUTOSAVE_MS)
        self.timer.timeout.connect(self.autosave)

    def add_to(self, menu) -> None:
        menu.addAction("Open &Project…", self.open_dialog)
        menu.addAction("&Save Project", QtGui.QKeySequence("Ctrl+S"), self.save)
        menu.addAction("Save Project &As…", QtGui.QKeySequence("Ctrl+Shift+S"), self.save_as)

    # ------------------------------------------------------------------ saving and opening
    def save(self) -> bool:
        return self.save_to(self.path) if self.path else self.save_as()

    def save_as(self) -> bool:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, "Save project", f"untitled{SUFFIX}", FILTER)
        return bool(path) and self.save_to(path if path.endswith(SUFFIX) else path + SUFFIX)

    def save_to(self, path) -> bool:
        project = current_project(self.window)
        try:
            save_project(project, path)
        except ProjectError as exc:
            self.window.log_line(f"error: {exc}")
            QtWidgets.QMessageBox.warning(self.window, "Save project", str(exc))
            return False
        self.path = str(path)
        clear_recovery()
        self.window.log_line(f"saved the project to {path}")
        self.fileChanged.emit(project)
        return True

    def open_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, "Open project", filter=FILTER)
        if path:
            self.open(path)

    def open(self, path) -> bool:
        try:
            project, problems = load_project(path)
        except ProjectError as exc:
            self.window.log_line(f"error: {exc}")
            QtWidgets.QMessageBox.warning(self.window, "Open project", str(exc))
            return False
        self.path = str(path)
        for line in problems:
            self.window.log_line(f"{path}: {line}")
        if problems and not _headless():
            QtWidgets.QMessageBox.warning(self.window, "Open project",
                                          "The project is open, with these problems:\n" + "\n".join(problems))
        apply_project(self.window, project)
        self.fileChanged.emit(project)
        return True

    # ------------------------------------------------------------------ recovery
    def autosave(self) -> None:
        if self.window.workspace.sources:
            try:
                autosave(current_project(self.window), self.path)
            except ProjectError as exc:
                self.window.log_line(f"autosave failed: {exc}")

    def start_autosave(self) -> bool:
        """Offer the last autosave when the previous session did not end cleanly, then autosave
        every minute. True when the user chose to restore it."""
        restored = False
        recovery = load_recovery()
        if recovery is not None and recovery.project.sources:
            answer = QtWidgets.QMessageBox.question(
                self.window, "Restore", f"mmstudio did not close cleanly. Restore the session autosaved "
                f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(recovery.saved_at))}?")
            if answer == QtWidgets.QMessageBox.StandardButton.Yes:
                self.path = str(recovery.origin) if recovery.origin else None
                apply_project(self.window, recovery.project)
                restored = True
        clear_recovery()
        self.timer.start()
        return restored

    def clean_exit(self) -> None:
        self.timer.stop()
        clear_recovery()


def _headless() -> bool:
    app = QtWidgets.QApplication.instance()
    return app is None or app.platformName() in ("offscreen", "minimal")
