"""The window at a million rows (Step 15): each interaction's largest event-loop gap, and the window's memory.

Part of ``benchmarks/stalls.py`` (its probe, harness and fresh process per scenario); these scenarios open
a 1,000,000-row table (``--rows``) of 128-d vectors with three modalities, 30 labels, a numeric column
(``score``, 1 % blank), a caption on every text row and a small category column (``split``), and then:

    big-idle            nothing done for 5 s once it is open: the noise floor of the machine (its load)
    big-shards          the same table as a folder of 8 Parquet shards opened (its PCA preview drawn)
    big-hover           the mouse swept across the map (60 moves, a tooltip for each point reached)
    big-click           8 clicks on points (each selects one; the inspector, the library, the map follow)
    big-box             two box drags (Box select), the second about a third of the points
    big-filter-label    the Label menu opened, None, then three labels ticked one by one
    big-filter-modality the Modality menu opened, audio unticked, then text
    big-filter-range    the Numbers menu opened, the score's minimum raised twice
    big-filter-contains "red dog" typed in the caption box, key by key
    big-colour-label    Colour by label (30 categories)
    big-colour-modality Colour by modality, back from label
    big-colour-numeric  Colour by score (a continuous scale)
    big-refit           a large map arriving as partial layouts (the landmark path's PCA preview, landmarks,
                        the rest placed block by block), then its final layout gliding in
    big-selection       the Selection tab raised, then 100,000 rows selected (gallery, counts, nearest items)

Every scenario lets the open and its PCA preview finish first and then stops the map's fit (a UMAP of a
million rows; ``--during-fit`` keeps it running, for the gaps it causes by holding the GIL). Each result
carries the process's peak RSS (``VmHWM``) and its RSS at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from stalls import WORK, Harness, measured  # noqa: E402

SCENARIOS = ("big-idle", "big-shards", "big-hover", "big-click", "big-box", "big-filter-label", "big-filter-modality",
             "big-filter-range", "big-filter-contains", "big-colour-label", "big-colour-modality",
             "big-colour-numeric", "big-refit", "big-selection")
SHARDS = 8
SELECTED = 100_000


def rich_path(rows: int) -> Path:
    return WORK / f"big-rich-{rows}.parquet"


def shards_path(rows: int) -> Path:
    return WORK / f"big-shards-{rows}"


MAKE_TABLE = r"""
import sys
import numpy as np
from pathlib import Path
from mmstudio.core.tables.table import EmbeddingTable

path, folder, n, shards = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(0)
sample = np.arange(n) // 3
samples = int(sample[-1]) + 1
label_of = rng.integers(0, 30, samples)
lab = label_of[sample]
modality = np.array(["image", "audio", "text"], object)[np.arange(n) % 3]
centres = rng.normal(size=(30, 128)).astype(np.float32)
offsets = rng.normal(scale=0.8, size=(3, 128)).astype(np.float32)
v = centres[lab] + offsets[np.arange(n) % 3]
v += rng.normal(scale=0.7, size=(n, 128)).astype(np.float32)
v /= np.linalg.norm(v, axis=1, keepdims=True)
ids = np.array([f"s{k}" for k in range(samples)], object)[sample]
labels = np.array([f"class {k}" for k in range(30)], object)[lab]
score = rng.normal(size=n) + lab * 0.1
score[rng.random(n) < 0.01] = np.nan
colours = np.array(["red", "green", "blue", "black", "white", "yellow"], object)
things = np.array(["dog", "cat", "car", "tree", "house", "bird", "boat"], object)
c, t = colours[rng.integers(0, 6, samples)], things[rng.integers(0, 7, samples)]
words = np.array([f"a {a} {b} seen from afar, number {k}" for k, (a, b) in enumerate(zip(c, t))], object)
caption = np.where(np.arange(n) % 3 == 2, words[sample], None)
split = np.array(["train", "val", "test"], object)[rng.choice(3, samples, p=[0.8, 0.1, 0.1])][sample]
table = EmbeddingTable(ids, modality, np.full(n, "", object), labels, v,
                       {"score": score, "caption": caption, "split": split}, model="synthetic")
table.write(path)
folder.mkdir(parents=True, exist_ok=True)
bounds = np.linspace(0, n, shards + 1).astype(int)
for i in range(shards):
    table.take(np.arange(bounds[i], bounds[i + 1])).write(folder / f"part-{i:05d}.parquet")
"""


def prepare(rows: int) -> None:
    if not rich_path(rows).is_file() or not shards_path(rows).is_dir():
        print(f"preparing: a {rows:,}-row table with labels, a score, captions (and as {SHARDS} shards)…", flush=True)
        subprocess.run([sys.executable, "-c", MAKE_TABLE, str(rich_path(rows)), str(shards_path(rows)), str(rows),
                        str(SHARDS)], check=True)


# ====================================================================== in the child
def memory() -> dict:
    """The process's peak RSS and its RSS now, in MiB (Linux)."""
    out = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("VmHWM:", "VmRSS:")):
                out["rss_peak_mib" if line.startswith("VmHWM") else "rss_mib"] = round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return out


def _drawn(h: Harness) -> bool:
    ws = h.ws
    return ws.table is not None and len(ws.table) > 0 and len(ws.xy) == len(ws.table) \
        and len(h.window.view.cloud.xy) == len(ws.table)


def stop_fit(h: Harness) -> None:
    """No UMAP of every row now (what a million rows would start by itself): the map stays the preview."""
    ws = h.ws
    ws.feed.held = True
    for job in list(h.window.runner.running):
        if job.kind == "project":
            job.dropped = True
            job.cancel()


def opened(args, path: Path | None = None) -> Harness:
    """The window with the big table open, its preview drawn, and (unless ``--during-fit``) nothing running."""
    h = Harness()
    # the interactions below measure the window alone: after the model's loading and UMAP's warm-up (numba
    # compiling holds the GIL for seconds at a time; the launch and quit scenarios measure that)
    h.wait(lambda: not h.window.runner.running, 600, "the model and the warm-up")
    h.window.open_paths([str(path or rich_path(args.rows))])
    h.wait(lambda: _drawn(h), 900, "the PCA preview")
    if not args.during_fit:
        stop_fit(h)
        h.wait(h.idle, 600, "the jobs to stop")
    h.pause(0.5)
    return h


def _pixel(h: Harness, x: float, y: float):
    from PySide6 import QtCore

    view = h.window.view
    return view.plot.mapFromScene(view.viewbox.mapViewToScene(QtCore.QPointF(float(x), float(y))))


def _finish(h: Harness, result: dict, detail: str) -> dict:
    h.close()
    result.update(memory())
    result["detail"] = detail
    return result


def s_big_idle(args) -> dict:
    h = opened(args)
    h.probe.mark()
    h.pause(5.0)
    return _finish(h, h.probe.result(), "5 s with nothing done (the table open, no job running)")


def s_big_shards(args) -> dict:
    h = Harness()
    h.wait(lambda: not h.window.runner.running, 600, "the model and the warm-up")
    result = measured(h, lambda: h.window.open_paths([str(shards_path(args.rows))]), lambda: _drawn(h), 900,
                      "the PCA preview")
    h.probe.mark()
    h.pause(3.0)
    after = h.probe.result()
    worst = max(result, after, key=lambda r: r["gap_ms"])
    return _finish(h, worst, f"{args.rows:,} rows in {SHARDS} shards, preview drawn after {result['seconds']} s "
                             f"(gap {result['gap_ms']} ms); next 3 s (UMAP starting): {after['gap_ms']} ms")


def s_big_hover(args) -> dict:
    import numpy as np
    from PySide6.QtTest import QTest

    h = opened(args)
    view = h.window.view
    xy = view.cloud.xy
    lo, hi = np.nanpercentile(xy, 5, axis=0), np.nanpercentile(xy, 95, axis=0)
    path = np.linspace(lo, hi, 60)
    hovered = set()
    h.probe.mark()
    start = time.perf_counter()
    for x, y in path:
        h.later(lambda p=_pixel(h, x, y): QTest.mouseMove(view.plot.viewport(), p))
        h.pause(0.04)
        if view.hovered is not None:
            hovered.add(view.hovered)
    h.pause(0.3)
    result = h.probe.result()
    result["seconds"] = round(time.perf_counter() - start, 2)
    return _finish(h, result, f"60 mouse moves over {result['seconds']} s, {len(hovered)} points hovered")


def s_big_click(args) -> dict:
    import numpy as np
    from PySide6 import QtCore
    from PySide6.QtTest import QTest

    h = opened(args)
    view, ws = h.window.view, h.ws
    rng = np.random.default_rng(1)
    rows = rng.choice(len(ws.table), 8, replace=False)
    picked = []
    h.probe.mark()
    for row in rows:
        x, y = view.cloud.xy[row]
        h.later(lambda p=_pixel(h, x, y): QTest.mouseClick(view.plot.viewport(), QtCore.Qt.MouseButton.LeftButton,
                                                           QtCore.Qt.KeyboardModifier.NoModifier, p))
        h.pause(0.6)
        h.wait(h.idle, 120, "the selection's jobs")
        picked.append(len(ws.selection))
    result = h.probe.result()
    return _finish(h, result, f"8 clicks, {sum(1 for p in picked if p == 1)} selected one point each")


def _drag(h: Harness, a, b, steps: int = 6) -> None:
    """A left drag from ``a`` to ``b`` (map coordinates) with real mouse events, from the event loop."""
    from PySide6 import QtCore
    from PySide6.QtTest import QTest

    viewport = h.window.view.plot.viewport()
    left, none = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier
    h.later(lambda: (QTest.mouseMove(viewport, _pixel(h, *a)), QTest.mousePress(viewport, left, none, _pixel(h, *a))))
    h.pause(0.05)
    for t in [(i + 1) / steps for i in range(steps)]:
        point = (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)
        h.later(lambda p=point: QTest.mouseMove(viewport, _pixel(h, *p)))
        h.pause(0.04)
    h.later(lambda: QTest.mouseRelease(viewport, left, none, _pixel(h, *b)))
    h.pause(0.05)


def s_big_box(args) -> dict:
    import numpy as np

    h = opened(args)
    view, ws = h.window.view, h.ws
    view.mode.setCurrentText("Box select")
    h.pause(0.6)   # a press soon after another release would be a double click
    xy = view.cloud.xy
    lo, mid, hi = (np.nanpercentile(xy, q, axis=0) for q in (30, 50, 70))
    sizes = []
    h.probe.mark()
    for a, b in ((lo, mid), (lo - (mid - lo), hi)):
        _drag(h, a, b)
        h.wait(h.idle, 120, "the selection's jobs")
        sizes.append(len(ws.selection))
        h.pause(0.6)
    result = h.probe.result()
    return _finish(h, result, "two box drags selected " + " and ".join(f"{s:,}" for s in sizes) + " points")


def _menu(h: Harness, menu, button) -> None:
    h.later(lambda: menu.popup(button.mapToGlobal(button.rect().bottomLeft())))
    h.pause(0.3)


def _filter_settled(h: Harness) -> bool:
    rf = h.ws.row_filter
    return h.idle() and (not rf.spec.active or rf.mask is not None)


def s_big_filter_label(args) -> dict:
    from PySide6 import QtCore

    h = opened(args)
    bar, ws = h.window.filter_bar, h.ws
    h.probe.mark()
    _menu(h, bar.label_menu, bar.label_button)
    h.later(lambda: bar.labels._tick_all(False))
    h.pause(0.3)
    h.wait(lambda: _filter_settled(h), 300, "the filter's index")
    for i in range(3):
        h.later(lambda i=i: bar.labels.list.item(i).setCheckState(QtCore.Qt.CheckState.Checked))
        h.pause(0.4)
        h.wait(lambda: _filter_settled(h), 120, "the filter")
    h.later(bar.label_menu.close)
    h.pause(0.3)
    result = h.probe.result()
    shown = int(h.window.view.cloud.visible.sum())
    return _finish(h, result, f"three labels ticked: {shown:,} of {len(ws.table):,} points shown")


def s_big_filter_modality(args) -> dict:
    from PySide6 import QtCore

    h = opened(args)
    bar, ws = h.window.filter_bar, h.ws
    h.probe.mark()
    _menu(h, bar.modality_menu, bar.modality_button)
    for value in ("audio", "text"):
        h.later(lambda v=value: bar.modalities.item(v).setCheckState(QtCore.Qt.CheckState.Unchecked))
        h.pause(0.4)
        h.wait(lambda: _filter_settled(h), 300, "the filter")
    h.later(bar.modality_menu.close)
    h.pause(0.3)
    result = h.probe.result()
    shown = int(h.window.view.cloud.visible.sum())
    return _finish(h, result, f"audio and text unticked: {shown:,} of {len(ws.table):,} points shown")


def s_big_filter_range(args) -> dict:
    h = opened(args)
    bar, ws = h.window.filter_bar, h.ws
    h.probe.mark()
    _menu(h, bar.range_menu, bar.range_button)
    low = bar.ranges.rows["score"][0]
    for value in (0.0, 1.5):
        h.later(lambda v=value: low.setValue(v))
        h.pause(0.4)
        h.wait(lambda: _filter_settled(h), 300, "the filter")
    h.later(bar.range_menu.close)
    h.pause(0.3)
    result = h.probe.result()
    shown = int(h.window.view.cloud.visible.sum())
    return _finish(h, result, f"score ≥ 1.5: {shown:,} of {len(ws.table):,} points shown")


def s_big_filter_contains(args) -> dict:
    from PySide6.QtTest import QTest

    h = opened(args)
    bar, ws = h.window.filter_bar, h.ws
    h.probe.mark()
    for ch in "red dog":
        h.later(lambda c=ch: QTest.keyClicks(bar.contains, c))
        h.pause(0.12)
    h.pause(0.5)
    h.wait(lambda: _filter_settled(h) and ws.row_filter.spec.contains == "red dog", 600, "the caption filter")
    h.pause(0.3)
    result = h.probe.result()
    shown = int(h.window.view.cloud.visible.sum())
    return _finish(h, result, f'"red dog" typed: {shown:,} of {len(ws.table):,} points shown')


def _colour(args, key: str, first: str | None = None) -> dict:
    h = opened(args)
    view = h.window.view
    if first:
        view.color_by.setCurrentText(first)
        h.pause(0.5)
    result = measured(h, lambda: view.color_by.setCurrentText(key), h.idle, 120, "the colours")
    h.pause(0.5)
    result = max(result, h.probe.result(), key=lambda r: r["gap_ms"])
    legend = len(view._legend_shown)
    return _finish(h, result, f"coloured by {key}" + (f" (from {first})" if first else "")
                   + f": {legend} legend entries" + (", a colour bar" if view._colours.scale else ""))


def s_big_colour_label(args) -> dict:
    return _colour(args, "label")


def s_big_colour_modality(args) -> dict:
    return _colour(args, "modality", first="label")


def s_big_colour_numeric(args) -> dict:
    return _colour(args, "score")


def s_big_refit(args) -> dict:
    """A large map arriving: with the landmark path (a workspace that takes the fit's partial layouts), a
    real Refit; without it, the same sequence of layouts the landmark path sends, emitted from a timer."""
    import numpy as np
    from PySide6 import QtCore

    h = opened(args)
    ws = h.ws
    n = len(ws.table)
    if hasattr(ws, "_fit_partial"):
        ws.feed.held = False
        result = measured(h, lambda: ws.reproject(method="umap"), lambda: h.idle() and ws.layout_final
                          and h.window.view._animation is None, 1800, "the landmark map")
        return _finish(h, result, f"Reproject (UMAP) of {n:,} rows through the landmark path, final after "
                                  f"{result['seconds']} s")
    rng = np.random.default_rng(2)
    preview = ws.xy.copy()
    final = (preview @ np.array([[0.0, 1.0], [-1.0, 0.0]], np.float32) + rng.normal(0, 0.05, preview.shape)
             ).astype(np.float32)
    landmarks = rng.choice(n, 30_000, replace=False)
    stand_in = final[landmarks[rng.integers(0, len(landmarks), n)]]
    blocks = np.array_split(np.setdiff1d(np.arange(n), landmarks), 15)
    frames = []
    xy = stand_in.copy()
    xy[landmarks] = final[landmarks]
    frames.append(xy.copy())
    for block in blocks:
        xy[block] = final[block]
        frames.append(xy.copy())   # as the landmark path sends them: a new array each time
    del xy, stand_in
    state = {"i": 0}

    def step():
        if state["i"] < len(frames):
            ws.xy = frames[state["i"]]
            frames[state["i"]] = None
            state["i"] += 1
            ws.layoutChanged.emit(False)
            QtCore.QTimer.singleShot(300, step)
        else:
            ws.map.fitted_layout(final)
            ws.xy, ws.fit_method, ws.layout_final = ws.map.xy, "umap", True
            ws.layoutChanged.emit(True)
            state["i"] += 1

    result = measured(h, step, lambda: state["i"] > len(frames) and h.window.view._animation is None, 300,
                      "the layouts")
    return _finish(h, result, f"{len(frames)} partial layouts of {n:,} rows 0.3 s apart (simulated: this "
                              f"workspace takes no partial fit layouts), then the final one gliding in")


def s_big_selection(args) -> dict:
    import numpy as np

    h = opened(args)
    ws, panel = h.ws, h.window.panels["Selection"]
    h.later(lambda: h.window.strip.open("Selection"))
    h.pause(1.0)
    h.wait(h.idle, 120, "the panel")
    rows = np.sort(np.random.default_rng(3).choice(len(ws.table), SELECTED, replace=False))
    ready = []
    panel.nearestReady.connect(lambda: ready.append(1))
    result = measured(h, lambda: ws.select(rows), lambda: bool(ready) and h.idle(), 300, "the selection panel")
    h.pause(0.5)
    result = max(result, h.probe.result(), key=lambda r: r["gap_ms"])
    return _finish(h, result, f"{SELECTED:,} rows selected with the Selection tab up: shown after "
                              f"{result['seconds']} s; summary: {panel.summary.text()[:60]}")


CHILDREN = {"big-idle": s_big_idle, "big-shards": s_big_shards, "big-hover": s_big_hover, "big-click": s_big_click, "big-box": s_big_box,
            "big-filter-label": s_big_filter_label, "big-filter-modality": s_big_filter_modality,
            "big-filter-range": s_big_filter_range, "big-filter-contains": s_big_filter_contains,
            "big-colour-label": s_big_colour_label, "big-colour-modality": s_big_colour_modality,
            "big-colour-numeric": s_big_colour_numeric, "big-refit": s_big_refit, "big-selection": s_big_selection}
assert set(CHILDREN) == set(SCENARIOS)

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
