"""A bug in a Python method that Qt's C++ calls (paint, data…) is logged, never a segfault."""

import os
import subprocess
import sys
from pathlib import Path

WORKLOAD = Path(__file__).with_name("guard_workload.py")


def run(*args):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, str(WORKLOAD), *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_an_exception_from_c_in_paint_or_data_reaches_the_excepthook_and_the_process_lives():
    done = run()
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "excepthook saw: ['IndexError'] True" in done.stdout, done.stdout
    assert "survived" in done.stdout


def test_the_view_stops_its_animation_when_new_points_arrive(demo_window, qtbot):
    """A final layout animates over ~0.4 s; items joined meanwhile must not get the old frames
    (set_xy with the old length: a numpy error inside paint, which used to crash the process)."""
    import numpy as np

    view, ws = demo_window.view, demo_window.workspace
    n = len(ws.table)
    view._animate(view._display, view._display[::-1].copy())
    assert view._animation is not None
    from mmstudio.core.tables.table import EmbeddingTable

    ws.table = EmbeddingTable.concat([ws.table, ws.table])
    ws.xy = np.concatenate([ws.xy, ws.xy + 0.1])
    ws.layoutChanged.emit(False)
    assert view._animation is None
    qtbot.wait(600)  # longer than the animation would have run
    assert len(view.cloud.xy) == 2 * n
    demo_window.view.plot.viewport().repaint()
    assert view.cloud.last_drawn > 0
