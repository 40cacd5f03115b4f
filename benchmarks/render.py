"""Embedding view frame times: mmstudio's PointCloudItem vs pyqtgraph's ScatterPlotItem.

Offscreen 1000×800 PlotWidget, the same pan/zoom sequence for both items, 100,000 and
1,000,000 clustered points; ScatterPlotItem with pxMode and one shared brush, no pen (its
fastest configuration). Also the hover lookup at 1,000,000 points (k-d tree, after it is
built) against a brute-force nearest-point scan. And the zoomed-in frame: 10,000 and 100,000
points in view drawn as markers, one ``drawPixmap`` call per point (the code before Step 8,
kept here as the baseline) against fragments of one style atlas in one ``drawPixmapFragments``
call, with the Python→Qt calls each frame makes.

    QT_QPA_PLATFORM=offscreen python benchmarks/render.py [--frames 12] [--only markers]
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

    from mmstudio.ui.map.point_cloud import PointCloudItem

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


class PerPointMarkers:
    """The baseline: what PointCloudItem._draw_markers did before Step 8, one drawPixmap per point."""

    def __init__(self, item):
        self.item, self.pixmaps = item, {}

    def __call__(self, painter, order, px, py, dpr=1.0):
        from PySide6 import QtCore, QtGui

        from mmstudio.ui.map.point_cloud import PEN_WIDTH, SCALE, marker_path

        item = self.item
        for i in order.tolist():
            key = (int(item.shapes[i]), tuple(int(c) for c in item.rgb[i]), int(item.emphasis[i]))
            pix = self.pixmaps.get(key)
            if pix is None:
                size = item.marker_size * SCALE[key[2]]
                side = int(size) + 4
                pix = QtGui.QPixmap(side, side)
                pix.fill(QtCore.Qt.GlobalColor.transparent)
                p = QtGui.QPainter(pix)
                p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
                p.setPen(QtGui.QPen(QtGui.QColor(0, 0, 0, 90), PEN_WIDTH[key[2]]))
                p.setBrush(QtGui.QColor(*key[1]))
                p.drawPath(marker_path(key[0], side / 2, side / 2, size / 2))
                p.end()
                self.pixmaps[key] = pix
            half = pix.width() / 2
            painter.drawPixmap(QtCore.QPointF(float(px[i]) - half, float(py[i]) - half), pix)


def zoomed(impl: str, n: int, frames: int) -> dict:
    """Median ms per frame with ``n`` points in view, all drawn as markers; Qt calls per frame."""
    import numpy as np
    import pyqtgraph as pg
    from PySide6 import QtWidgets

    from mmstudio.ui.map.point_cloud import PointCloudItem

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 100, (n, 2)).astype(np.float32)
    palette = rng.integers(40, 255, (20, 3)).astype(np.uint8)
    widget = pg.PlotWidget()
    widget.resize(1000, 800)
    widget.show()
    item = PointCloudItem(marker_limit=10 ** 9)
    item.set_points(xy, palette[np.arange(n) % 20], np.arange(n) % 3)
    item.set_emphasis(selected=range(5), neighbours=range(5, 25))
    if impl == "per-point":
        item._draw_markers = PerPointMarkers(item)
    widget.addItem(item)
    view = widget.getViewBox()
    view.setRange(xRange=(-2, 102), yRange=(-2, 102), padding=0)
    app.processEvents()
    times = []
    for i in range(frames + 1):
        view.translateBy(x=0.3 * (-1) ** i, y=0.0)   # small pans: every point stays in view
        app.processEvents()
        start = time.perf_counter()
        widget.viewport().repaint()
        times.append((time.perf_counter() - start) * 1000)
    calls = [0]

    def count(frame, event, arg):
        owner = getattr(arg, "__self__", None)
        module = (owner if isinstance(owner, type) else type(owner)).__module__ if owner is not None else ""
        if event == "c_call" and module.startswith("PySide6"):
            calls[0] += 1

    sys.setprofile(count)
    widget.viewport().repaint()
    sys.setprofile(None)
    assert item.last_mode == "markers" and item.last_drawn == n, (item.last_mode, item.last_drawn)
    return {"ms": statistics.median(times[1:]), "qt_calls": calls[0]}


def hover(n: int = 1_000_000) -> dict:
    import numpy as np

    from mmstudio.ui.map.point_cloud import PointCloudItem

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
    parser.add_argument("--only", choices=["markers", "frames"], help="only the zoomed-in markers, or only the pan frames")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.one:  # each measurement in its own process: no item outlives its run
        name, n = args.one[0], int(args.one[1])
        print(json.dumps(zoomed(name, n, args.frames) if name in ("per-point", "atlas") else one(name, n, args.frames)))
        return 0
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Qt offscreen 1000×800"}

    def measure(name, n):
        done = subprocess.run([sys.executable, __file__, "--frames", str(args.frames), "--one", name, str(n)],
                              capture_output=True, text=True)
        if done.returncode:
            print(done.stderr[-2000:], file=sys.stderr)
            raise SystemExit(1)
        return json.loads(done.stdout.strip().splitlines()[-1])

    for n in (() if args.only == "frames" else (10_000, 100_000)):
        old, new = measure("per-point", n), measure("atlas", n)
        results[f"markers_{n}"] = {"per_point_ms": round(old["ms"], 1), "atlas_ms": round(new["ms"], 1),
                                   "speedup": round(old["ms"] / new["ms"], 1), "qt_calls": [old["qt_calls"], new["qt_calls"]]}
        print(f"{n:>9,} markers in view: one drawPixmap per point {old['ms']:.1f} ms/frame ({old['qt_calls']:,} Qt calls), "
              f"style atlas {new['ms']:.1f} ms/frame ({new['qt_calls']} Qt calls) → {old['ms'] / new['ms']:.1f}× faster",
              flush=True)
    if args.only == "markers":
        print(json.dumps(results))
        return 0
    for n in (100_000, 1_000_000):
        timings = {name: measure(name, n) for name in ("scatter", "pointcloud")}
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
