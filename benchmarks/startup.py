"""Time from launching ``mmstudio`` to its window on screen, against importing torch first.

Each measurement is a fresh process, timed from just before it is spawned to the moment
the window has been shown and painted once (offscreen). The baseline is the same window
built after ``import torch, transformers`` — what an app that imports its model stack at
start would cost. Also checks that torch, transformers and umap are not loaded when the
window shows.

    python benchmarks/startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

CHILD = r"""
import sys, time, tempfile
heavy_first = sys.argv[1] == "heavy"
if heavy_first:
    import torch, transformers  # noqa: F401
from PySide6 import QtCore
from mmstudio.ui.app import make_app
from mmstudio.ui.main_window import QtMainWindow
app = make_app()
settings = QtCore.QSettings(tempfile.mktemp(suffix=".ini"), QtCore.QSettings.Format.IniFormat)
window = QtMainWindow(settings)
window.show()
app.processEvents()
window.repaint()
shown = time.time()
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "transformers", "umap"})
print(shown, ",".join(loaded), flush=True)
from mmstudio.ui.app import dispose
dispose(window)  # as the app does when it quits (PySide6 6.12 can abort in the last GC otherwise)
del window
import gc; gc.collect()
"""


def launch(mode: str) -> tuple[float, str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    start = time.time()
    done = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, env=env, timeout=300)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    shown, loaded = done.stdout.split()[:1][0], (done.stdout.split() + [""])[1]
    return float(shown) - start, loaded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    launch("light")  # warm the file cache for both
    light = [launch("light") for _ in range(args.runs)]
    heavy = [launch("heavy") for _ in range(args.runs)]
    t_light = statistics.median(t for t, _ in light)
    t_heavy = statistics.median(t for t, _ in heavy)
    loaded = light[0][1] or "none"
    print(f"{platform.machine()}, {os.cpu_count()} cores, Qt offscreen")
    print(f"window shown after {t_light:.2f} s (target ≤ 2 s); heavy modules loaded at that moment: {loaded}")
    print(f"importing torch + transformers first: {t_heavy:.2f} s → {t_heavy / t_light:.1f}× slower")
    print(json.dumps({"window_s": round(t_light, 2), "torch_first_s": round(t_heavy, 2), "loaded_at_show": loaded}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
