"""Embedding view frame times: mmstudio's PointCloudItem vs pyqtgraph's ScatterPlotItem.

Offscreen 1000×800 PlotWidget, the same pan/zoom sequence for both items, 100,000 and
1,000,000 clustered points; ScatterPlotItem with pxMode and one shared brush, no pen (its
fastest configuration). Also the hover lookup at 1,000,000 points (k-d tree, after it is
built) against a brute-force nearest-point scan.

    QT_QPA_PLATFORM=offscreen python benchmarks/render.py [--frames 12]
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


def clustered(n: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, (40, 2))
    labels = rng.integers(0, 40, n)
    return (centres[labels] + rng.normal(0, 1.0, (n, 2))).astype(np.float32), labels


def frame_times(widget, frames: int) -> float:
    """Median milliseconds per repaint over a pan/zoom sequence."""
    from PySide6 import QtWidgets

    view = widget.getViewBox()
    view.autoRange(padding=0.02)
    app = QtWidgets.QApplication.instance()
    times = []
    steps = [(0.0, 0.0, 1.0)] + [((-1) ** i * 2.0, (i % 3 - 1) * 1.5, 0.85 if i < frames // 2 else 1 / 0.85)
                                 for i in range(frames)]
    for dx, dy, zoom in steps:
        view.translateBy(x=dx, y=dy)
        view.scaleBy((zoom, zoom))
        app.processEvents()
        start = time.perf_counter()
        widget.viewport().repaint()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[1:])


def one(name: str, n: int, frames: int) -> float:
    """Frame time of one item at one size, in this process."""
    import numpy as np
    import pyqtgraph as pg
    from PySide6 import QtWidgets

    from mmstudio.ui.point_cloud import PointCloudItem

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    palette = (np.random.default_rng(1).integers(40, 255, (40, 3))).astype(np.uint8)
    xy, labels = clustered(n)
    widget = pg.PlotWidget()
    widget.resize(1000, 800)
    widget.show()
    if name == "scatter":
        item = pg.ScatterPlotItem(pos=xy, size=3, pxMode=True, pen=None, brush=pg.mkBrush(80, 140, 220))
    else:
        item = PointCloudItem()
        item.set_points(xy, palette[labels], np.zeros(n, np.int8))
    widget.addItem(item)
    app.processEvents()
    return frame_times(widget, frames)


def hover(n: int = 1_000_000) -> dict:
    import numpy as np

    from mmstudio.ui.point_cloud import PointCloudItem

    xy, labels = clustered(n)
    item = PointCloudItem()
    item.set_points(xy, np.zeros((n, 3), np.uint8), np.zeros(n, np.int8))
    start = time.perf_counter()
    item.tree  # built once (in the background in the app)
    build = time.perf_counter() - start
    queries = np.random.default_rng(2).normal(0, 10, (200, 2)).astype(np.float32)
    start = time.perf_counter()
    for q in queries:
        item.nearest(float(q[0]), float(q[1]), 0.5)
    tree_ms = (time.perf_counter() - start) / len(queries) * 1000
    start = time.perf_counter()
    for q in queries[:20]:
        int(np.argmin(((xy - q) ** 2).sum(axis=1)))
    scan_ms = (time.perf_counter() - start) / 20 * 1000
    return {"tree_ms": round(tree_ms, 3), "scan_ms": round(scan_ms, 1), "tree_build_s": round(build, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--one", nargs=2, metavar=("ITEM", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.one:  # each measurement in its own process: no item outlives its run
        print(json.dumps(one(args.one[0], int(args.one[1]), args.frames)))
        return 0
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Qt offscreen 1000×800"}
    for n in (100_000, 1_000_000):
        timings = {}
        for name in ("scatter", "pointcloud"):
            done = subprocess.run([sys.executable, __file__, "--frames", str(args.frames), "--one", name, str(n)],
                                  capture_output=True, text=True)
            if done.returncode:
                print(done.stderr[-2000:], file=sys.stderr)
                return 1
            timings[name] = json.loads(done.stdout.strip().splitlines()[-1])
        target = 16 if n == 100_000 else 40
        results[str(n)] = {"scatter_ms": round(timings["scatter"], 1), "pointcloud_ms": round(timings["pointcloud"], 1),
                           "speedup": round(timings["scatter"] / timings["pointcloud"], 1)}
        print(f"{n:>9,} points: ScatterPlotItem {timings['scatter']:.1f} ms/frame, PointCloudItem "
              f"{timings['pointcloud']:.1f} ms/frame (target ≤ {target} ms) → "
              f"{timings['scatter'] / timings['pointcloud']:.1f}× faster", flush=True)
    results["hover_1m"] = h = hover()
    print(f"hover lookup at 1,000,000 points: k-d tree {h['tree_ms']:.3f} ms (target ≤ 1 ms; built once in "
          f"{h['tree_build_s']:.2f} s) vs a brute-force scan {h['scan_ms']:.1f} ms")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
