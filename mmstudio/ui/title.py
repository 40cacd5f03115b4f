"""The window's title: the project's name, an unsaved-changes marker, mmstudio's version and the model.

"Unsaved" means what File > Save Project would write differs from the project file (or, for a
window with no project file, that something is open to save). The window compares the two
(everything a project keeps but the window's dock layout and the map's zoom) when what it shows
changes, and once a second for the panels' own settings; the marker is Qt's ``[*]``
(``setWindowModified``), drawn as the platform draws it.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6 import QtCore

from mmstudio import __version__

CHECK_MS = 1000          # the panels' settings have no common signal: look at them this often
UNTITLED = "untitled"


def fingerprint(project) -> str:
    """What of a project counts as its content (not the dock layout, the zoom or the sources not found)."""
    from mmstudio.core.project import project_to_dict

    data = project_to_dict(project)
    data.pop("window_state", None)
    data["sources"] = sorted(project.sources)
    data["panels"] = {k: v for k, v in data.get("panels", {}).items() if k != "Embedding view"}
    return json.dumps(data, sort_keys=True, default=str)


class QtWindowTitle(QtCore.QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.saved: str | None = None        # the fingerprint of the project file; None: no file yet
        self._soon = QtCore.QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(0)
        self._soon.timeout.connect(self.update)
        ws, view = window.workspace, window.view
        for signal in (ws.datasetChanged, ws.tableChanged, ws.selectionChanged, ws.modelChanged, ws.queryCleared,
                       ws.layoutChanged, view.color_by.currentTextChanged, view.links.toggled,
                       *(box.toggled for box in view.modality_boxes.values())):
            signal.connect(self._soon.start)
        window.projects.fileChanged.connect(self.file_changed)
        self._poll = QtCore.QTimer(self)
        self._poll.setInterval(CHECK_MS)
        self._poll.timeout.connect(self.update)
        self._poll.start()

    def file_changed(self, project) -> None:
        """The project was saved to, or opened from, its file: that is the state with nothing unsaved."""
        self.saved = fingerprint(project)
        self.update()

    def modified(self) -> bool:
        ws = self.window.workspace
        if self.saved is None:
            return bool(ws.sources)
        from mmstudio.ui.project import current_project

        return fingerprint(current_project(self.window)) != self.saved

    def name(self) -> str:
        path = self.window.projects.path
        return Path(path).stem if path else UNTITLED

    def update(self) -> None:
        window = self.window
        window.setWindowTitle(f"{self.name()}[*] — mmstudio {__version__} — {window.workspace.model_name}")
        window.setWindowModified(self.modified())
