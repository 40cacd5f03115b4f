"""The window's real paint path, repeated until it has made ``--calls`` void Qt calls, in a process
of its own: the map zoomed in (markers), hover tooltips shown and hidden, the inspector's
picture and attention map for a newly selected item. Prints one JSON line: the void calls
made from Python, and how ``sys.getrefcount(None)`` moved over the same rounds played again
without the counter. ``--emulate-bad-binding`` makes the void calls drop references to None,
to check that the test sees a bad binding.

Run by tests/ui/test_none_refcount.py. On a binding that drops references to None (PySide6
6.12.0 on Python 3.11) the drop equals the number of void calls; the references are given
back before exit, so the run reports instead of aborting.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ui_helpers import DEMO, settled  # noqa: E402
from void_calls import VoidCallCounter  # noqa: E402


def wait(app, condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("the window did not settle")
        app.processEvents()
        time.sleep(0.01)


def emulate_bad_binding(calls: dict[str, int], rate: float = 0.63) -> None:
    """Wrap the void Qt methods the paint path calls so that each call drops a reference to None
    with probability ``rate``, as PySide6 6.12.0 on Python 3.11 does on every one."""
    import ctypes
    import inspect
    import random

    from PySide6 import QtCore, QtGui, QtWidgets

    draw = random.Random(0)
    for key in calls:
        owner_name, _, name = key.rpartition(".")
        owner = next((getattr(m, owner_name) for m in (QtCore, QtGui, QtWidgets) if hasattr(m, owner_name)), None)
        original = getattr(owner, name, None)
        if original is None:      # a method of a class of another module (pyqtgraph's signals)
            continue

        def bad(*args, _original=original, **kwargs):
            result = _original(*args, **kwargs)
            if draw.random() < rate:
                ctypes.pythonapi.Py_DecRef(ctypes.py_object(None))
            return result

        static = isinstance(inspect.getattr_static(owner, name), staticmethod)   # app.processEvents()
        setattr(owner, name, staticmethod(bad) if static else bad)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--emulate-bad-binding", action="store_true",
                        help="drop a reference to None on 63 %% of the void calls (to check that the test sees it)")
    args = parser.parse_args()

    import numpy as np
    from PySide6 import QtCore

    from mmstudio.ui.app import build_window, dispose, make_app

    app = make_app()
    settings = QtCore.QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QtCore.QSettings.Format.IniFormat)
    settings.setValue("open_demo", "false")
    window = build_window([DEMO], settings)
    window.workspace.projection["method"] = "pca"  # the map at once: this is about painting, not UMAP
    window.resize(1200, 800)
    wait(app, lambda: settled(window) and len(window.view.cloud.xy) > 0, 600)

    view, ws = window.view, window.workspace
    table = ws.table
    images = np.flatnonzero(table.modality == "image")
    cloud = view.cloud
    centre = cloud.xy[images[0]]
    view.viewbox.setRange(xRange=(centre[0] - 0.6, centre[0] + 0.6), yRange=(centre[1] - 0.6, centre[1] + 0.6),
                          padding=0)
    app.processEvents()

    def scene_pos(row: int):
        return view.viewbox.mapViewToScene(QtCore.QPointF(*map(float, cloud.xy[row])))

    rect = view.viewbox.viewRect()
    empty = next(QtCore.QPointF(x, y) for x in np.linspace(rect.left(), rect.right(), 25)[1:-1]
                 for y in np.linspace(rect.top(), rect.bottom(), 25)[1:-1]
                 if cloud.nearest(x, y, 3 * view._data_radius()) is None)
    def one_round(i: int) -> None:
        row = int(images[i % len(images)])
        view.plot.viewport().repaint()                       # the map, markers
        modes.add(cloud.last_mode)
        view._hover(scene_pos(row))                          # a tooltip with a thumbnail
        view._hover(view.viewbox.mapViewToScene(empty))      # nothing there: the tooltip hides
        if i % 10 == 0:
            ws.select([row])                                 # inspector: picture, attention, neighbours
            window.inspector.repaint()
        app.processEvents()

    modes: set[str] = set()
    for i in range(60):  # warm up: caches filled, every kind of object the loop makes already alive once
        one_round(i)
    # The void calls are counted in one pass, and None's count is read over the same rounds played
    # again without the counter: the profile hook that counts them raises None's count by itself
    # (~13,000 over 5,000 calls, more than a bad binding drops), which hid the drop it is here to see.
    counter = VoidCallCounter()
    rounds = 0
    with counter:
        while counter.total < args.calls and rounds < 5000:
            one_round(rounds)
            rounds += 1
    if args.emulate_bad_binding:
        emulate_bad_binding(counter.calls)
    gc.collect()
    before = sys.getrefcount(None)
    for i in range(rounds):
        one_round(i)
    gc.collect()
    drop = before - sys.getrefcount(None)
    print(json.dumps({"void_calls": counter.total, "none_drop": drop, "rounds": rounds, "modes": sorted(modes),
                      "calls": counter.calls}), flush=True)
    if drop > 0:  # give the references back, so the process ends normally and the test reads the numbers
        import ctypes

        for _ in range(drop):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
    dispose(window)
    return 0


if __name__ == "__main__":
    sys.exit(main())
