"""``mmstudio screenshot``: build the window offscreen, wait until it has settled, save it as a PNG."""

from __future__ import annotations

import gc
import os
import tempfile
import time
from pathlib import Path

def settle(app, window, timeout: float) -> bool:
    """Process events until loading, encoding and projection are done (True), or time runs out."""
    ws = window.workspace
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        app.processEvents()
        busy = window.runner.running  # the UMAP warm-up included: the status bar shows it
        animating = getattr(window.view, "_animation", None) is not None
        done = not busy and not animating and ws.table is not None and (ws.layout_final or len(ws.table) == 0)
        if done:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 0.5:  # let the last animation finish
                return True
        else:
            quiet_since = None
        time.sleep(0.02)
    return False


def screenshot(out, paths=(), *, panel: str | None = None, size=(1400, 860), select: str | None = None,
               query: str | None = None, timeout: float = 600.0) -> Path:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore

    from mmstudio.ui.app import build_window, make_app

    app = make_app()
    settings = QtCore.QSettings(str(Path(tempfile.mkdtemp()) / "screenshot.ini"), QtCore.QSettings.Format.IniFormat)
    window = build_window(paths, settings)
    window.resize(*size)
    if not settle(app, window, timeout):
        raise TimeoutError(f"the window did not settle within {timeout:.0f} s")
    ws = window.workspace
    if select:
        import numpy as np

        rows = np.flatnonzero(ws.table.sample_id == select)
        if len(rows) == 0 and select.isdigit():
            rows = np.array([int(select)])
        ws.select(rows)
    if query:
        window.view.query.setText(query)
        ws.set_query(query)  # a job, like the panel's below: settle again
    if panel:
        dock = window.docks.get(panel) or next((d for t, d in window.docks.items() if t.lower() == panel.lower()), None)
        if dock is None:
            raise ValueError(f"no panel {panel!r}; panels: {', '.join(window.docks)}")
        dock.show()
        dock.raise_()
    if (query or panel) and not settle(app, window, timeout):
        raise TimeoutError(f"the window did not settle within {timeout:.0f} s")
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    from mmstudio.ui.app import dispose

    dispose(window)
    del window
    gc.collect()  # while Qt is up (see dispose)
    return out
