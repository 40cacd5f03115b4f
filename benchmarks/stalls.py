"""GUI-thread stalls: the event loop's largest gap during each interaction, before and after.

The probe is a 5 ms ``QTimer`` on the GUI thread: whatever keeps the event loop from running
(a slot doing work, a paint, an import, a lock held by a worker) shows as a gap between two of
its firings. A watchdog thread samples the GUI thread's Python stack while a gap is open, so
each number comes with the place it was spent in. Each interaction runs in a fresh process
(imports, caches and lazily built things are cold, as for a person), driving the real window
(offscreen by default; ``--display :91`` for an X server):

    launch        launch on the demo world until the map is final and every job has ended
    principles    the Principles tab shown for the first time (its demo table built: 1,000 scenes)
    query         a text typed in the query box, Enter pressed
    aligner       the aligner trainer's Start pressed for the first time (the report shown first)
    switching     bottom tabs and principle pages switched while the aligner trains
    late-fusion   the late-fusion page's class separation changed
    join          6,000 newly encoded items (2,000 scenes) opened beside the demo and joining the map
    big-table     a 1,000,000-row Parquet table opened (its PCA preview drawn)
    thumbnails    hovering and selecting image and audio points of large media (cold thumbnails)
    quit          File > Quit while UMAP and a panel's job run: until the process has exited
    quit-starting File > Quit 2.5 s after a first launch on the demo (numba's cache emptied: UMAP compiling)
    big-…         the window at a million rows: open shards, hover, click, box, each filter, each colouring,
                  a large map arriving, the Selection tab on 100,000 rows (benchmarks/stalls_big.py)

Each gap comes with the GUI thread's own CPU time: "cpu" is the most it computed between two firings
(what our code blocked the loop for, whatever the machine's load); ``gap_cpu_ms`` is what it computed
during the largest gap and ``gap_proc_ms`` what the whole process did then: a gap the GUI thread spent
waiting while the process computed was a wait for the GIL (a job's thread held it); one where the process
too was idle was a wait for a core (the machine's load).

The "before" column runs the same script against another checkout's code (``--baseline DIR``,
e.g. ``/work/main``) in the same run; the ratio is before / after.

    python benchmarks/stalls.py [--baseline ../main] [--only query,aligner] [--rows 1000000] [--during-fit]

Each row also gives the window process's peak RSS (``VmHWM``, MiB).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work" / "stalls"
SCENARIOS = ("launch", "principles", "query", "aligner", "switching", "late-fusion", "join", "big-table",
             "thumbnails", "quit", "quit-starting")
BIG = ("big-idle", "big-shards", "big-hover", "big-click", "big-box", "big-filter-label", "big-filter-modality",
       "big-filter-range", "big-filter-contains", "big-colour-label", "big-colour-modality", "big-colour-numeric",
       "big-refit", "big-selection")   # benchmarks/stalls_big.py
LIMIT_MS = 100


# ====================================================================== the probe (in the child)
class GapProbe:
    """The largest gap between firings of a 5 ms GUI-thread timer, per window of time, with where
    the GUI thread was while the largest one was open."""

    def __init__(self, interval_ms: int = 5, sample_after_ms: float = 30.0):
        from PySide6 import QtCore

        self.gui_thread = threading.get_ident()
        self.timer = QtCore.QTimer()
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.sample_after = sample_after_ms / 1000
        self.last = time.perf_counter()
        self.max_gap = 0.0
        self.last_cpu = time.thread_time()  # the GUI thread's CPU time (the probe's timer runs on it)
        self.last_proc = time.process_time()  # every thread's
        self.gap_cpu = 0.0                  # of the largest gap, how much the GUI thread computed
        self.gap_proc = 0.0                 # and the whole process (its jobs too)
        self.max_cpu = 0.0                  # the most the GUI thread computed between two firings
        self.where: dict[str, int] = {}     # stack → samples, for the gap being measured
        self._open: dict[str, int] = {}     # samples of the gap now open
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watchdog, daemon=True)
        self.dump = None            # a file: every thread's stack is written there when a gap passes 150 ms
        self._armed = 0.0

    def start(self) -> None:
        self.last, self.last_cpu, self.last_proc = time.perf_counter(), time.thread_time(), time.process_time()
        self.timer.start()
        self._watch.start()

    def stop(self) -> None:
        self.timer.stop()
        self._stop.set()

    def mark(self) -> None:
        """Start a new window: the largest gap is measured from now."""
        self.last, self.last_cpu, self.last_proc = time.perf_counter(), time.thread_time(), time.process_time()
        self.max_gap, self.where, self._open = 0.0, {}, {}
        self.gap_cpu = self.max_cpu = self.gap_proc = 0.0

    def _tick(self) -> None:
        now, cpu, proc = time.perf_counter(), time.thread_time(), time.process_time()
        gap, used, all_used = now - self.last, cpu - self.last_cpu, proc - self.last_proc
        self.last, self.last_cpu, self.last_proc = now, cpu, proc
        if gap > self.max_gap:
            self.max_gap, self.where, self.gap_cpu, self.gap_proc = gap, self._open, used, all_used
        self.max_cpu = max(self.max_cpu, used)
        self._open = {}
        if self.dump is not None and now - self._armed > 0.02:
            import faulthandler

            if gap > 0.15:
                self.dump.write(f"--- the gap above: {gap * 1000:.0f} ms\n")
                self.dump.flush()
            faulthandler.dump_traceback_later(float(os.environ.get("STALLS_DUMP_AFTER", "0.15")), file=self.dump)  # a C thread: needs no GIL to dump
            self._armed = now

    def _watchdog(self) -> None:
        while not self._stop.wait(0.01):
            if time.perf_counter() - self.last > self.sample_after:
                frame = sys._current_frames().get(self.gui_thread)
                if frame is not None:
                    key = _describe(frame)
                    self._open[key] = self._open.get(key, 0) + 1

    def result(self) -> dict:
        top = sorted(self.where.items(), key=lambda kv: -kv[1])[:2]
        where = [k for k, _ in top]
        if not where and self.max_gap > 2 * self.sample_after:
            where = ["(no sample: another thread held the GIL)"]
        return {"gap_ms": round(self.max_gap * 1000, 1), "where": where,
                "gap_cpu_ms": round(self.gap_cpu * 1000, 1), "gap_proc_ms": round(self.gap_proc * 1000, 1),
                "max_cpu_ms": round(self.max_cpu * 1000, 1)}


def _describe(frame) -> str:
    """The innermost mmstudio frame and the innermost frame of all (file:line function)."""
    inner = f"{Path(frame.f_code.co_filename).name}:{frame.f_lineno} {frame.f_code.co_name}"
    f = frame
    while f is not None and "mmstudio" not in f.f_code.co_filename.replace("benchmarks", ""):
        f = f.f_back
    if f is None or f is frame:
        return "(in Qt's C++ code, or waiting for the GIL)" if frame.f_code is Harness.wait.__code__ else inner
    return f"{Path(f.f_code.co_filename).name}:{f.f_lineno} {f.f_code.co_name} → {inner}"


class Harness:
    """The window, the probe, and waiting on the event loop."""

    def __init__(self, paths=(), demo: bool = False):
        import tempfile

        from PySide6 import QtCore

        from mmstudio.ui.app import build_window, make_app

        self.app = make_app()
        settings_file = tempfile.mktemp(suffix=".ini", dir=WORK)
        self.settings = QtCore.QSettings(settings_file, QtCore.QSettings.Format.IniFormat)
        self.settings.setValue("open_demo", "true" if demo else "false")
        self.probe = GapProbe()
        if os.environ.get("STALLS_DUMP"):
            self.probe.dump = open(os.environ["STALLS_DUMP"], "a")
        self.window = build_window([str(p) for p in paths], self.settings)
        self.window.resize(1400, 860)
        self.app.processEvents()
        self.probe.start()
        self.jobs_seen: list[str] = []
        self.window.runner.started.connect(lambda job: self.jobs_seen.append(job.kind))

    @property
    def ws(self):
        return self.window.workspace

    def wait(self, condition, timeout: float = 300.0, what: str = "") -> float:
        """Run the event loop until ``condition()``; returns the seconds it took."""
        from PySide6 import QtCore

        start = time.perf_counter()
        loop = QtCore.QEventLoop()
        poll = QtCore.QTimer()
        poll.setInterval(10)

        def check():
            if condition() or time.perf_counter() - start > timeout:
                loop.quit()

        poll.timeout.connect(check)
        poll.start()
        if not condition():
            loop.exec()
        poll.stop()
        if not condition():
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what or condition}")
        return time.perf_counter() - start

    def pause(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        self.wait(lambda: time.perf_counter() >= end, seconds + 5)

    def later(self, action) -> None:
        """Run ``action`` from the event loop (as a click or a key press would)."""
        from PySide6 import QtCore

        QtCore.QTimer.singleShot(0, action)

    def map_jobs(self) -> list[str]:
        return [j.kind for j in self.window.runner.running
                if j.kind in ("model", "open", "project", "demo") or j.kind.startswith("encode")]

    def settled(self) -> bool:
        ws = self.ws
        busy = [j for j in self.window.runner.running if j.kind in ("model", "open", "project", "demo")
                or j.kind.startswith("encode")]
        return not busy and ws.table is not None and len(ws.xy) == len(ws.table) and ws.layout_final \
            and getattr(self.window.view, "_animation", None) is None

    def idle(self) -> bool:
        return not [j for j in self.window.runner.running if j.kind != "warm-up"]

    def raise_panel(self, title: str) -> None:
        dock = self.window.docks[title]
        dock.show()
        dock.raise_()

    def close(self) -> None:
        self.probe.stop()
        self.window.runner.cancel_all()
        from mmstudio.ui.app import dispose

        dispose(self.window)
        self.app.processEvents()


def measured(h: Harness, action, done, timeout: float = 300.0, what: str = "") -> dict:
    """The largest gap from ``action`` (run from the event loop) until ``done()``."""
    h.probe.mark()
    start = time.perf_counter()
    h.later(action)
    h.pause(0.02)
    h.wait(done, timeout, what)
    result = h.probe.result()
    result["seconds"] = round(time.perf_counter() - start, 2)
    return result


# ====================================================================== the interactions
def s_launch(args) -> dict:
    shutil.rmtree(Path(os.environ["MMSTUDIO_CACHE_DIR"]) / "principles", ignore_errors=True)
    h = Harness(demo=True)
    h.probe.mark()
    start = time.perf_counter()
    h.wait(h.settled, 300, "the demo's map")
    first = h.probe.result()
    first["seconds"] = round(time.perf_counter() - start, 2)
    h.probe.mark()
    start = time.perf_counter()
    h.pause(1.0)
    h.wait(h.idle, 300, "every job")  # what keeps running once the map is done (before: the panels' jobs)
    after = h.probe.result()
    after["seconds"] = round(time.perf_counter() - start, 2)
    panel_jobs = sorted({k.split("-")[0] for k in h.jobs_seen if k.startswith(("principles", "fusion", "alignment",
                                                                               "aligner"))})
    h.close()
    worst = max(first, after, key=lambda r: r["gap_ms"])
    return {**worst, "detail": f"map final after {first['seconds']} s (largest gap {first['gap_ms']} ms); "
                               f"then until every job ended ({after['seconds']} s): {after['gap_ms']} ms; panel jobs started: "
                               f"{', '.join(panel_jobs) or 'none'}"}


def s_principles(args) -> dict:
    shutil.rmtree(Path(os.environ["MMSTUDIO_CACHE_DIR"]) / "principles", ignore_errors=True)
    h = Harness(demo=True)
    h.wait(h.settled, 300, "the demo's map")
    h.wait(h.idle, 300, "launch jobs")
    panel = h.window.panels["Principles"]
    page = panel.pages[panel.current()]
    before = page.result
    result = measured(h, lambda: h.raise_panel("Principles"), lambda: page.result is not None and not panel.jobs,
                      600, "the first principle")
    h.close()
    result["detail"] = (f"first page ({page.name}) drawn after {result['seconds']} s"
                        + (" (computed at launch already)" if before is not None else ""))
    return result


def s_query(args) -> dict:
    from PySide6 import QtCore
    from PySide6.QtTest import QTest

    h = Harness(demo=True)
    h.wait(h.settled, 300, "the demo's map")
    h.wait(h.idle, 300, "launch jobs")
    box = h.window.view.query

    def type_and_enter():
        box.setText("a red circle and a dog barking")
        QTest.keyClick(box, QtCore.Qt.Key.Key_Return)

    result = measured(h, type_and_enter, lambda: h.ws.query is not None and h.idle(), 60, "the query's neighbours")
    rows = getattr(h.ws, "query_rows", [])
    h.close()
    result["detail"] = f"{len(rows)} nearest items listed"
    return result


def _alignment_ready(h: Harness):
    h.raise_panel("Alignment")
    panel = h.window.panels["Alignment"]
    h.wait(lambda: panel.report is not None and h.idle(), 300, "the alignment report")
    panel.tabs.setCurrentWidget(panel.aligner)
    h.pause(0.3)
    return panel.aligner


def s_aligner(args) -> dict:
    h = Harness(demo=True)
    h.wait(h.settled, 300, "the demo's map")
    h.wait(h.idle, 300, "launch jobs")
    aligner = _alignment_ready(h)
    finished = []
    aligner.finished.connect(lambda: finished.append(1))
    result = measured(h, aligner.start_button.click, lambda: bool(finished), 300, "the aligner")
    text = aligner.state.text()
    h.close()
    result["detail"] = text[:90]
    return result


def s_switching(args) -> dict:
    h = Harness(demo=True)
    h.wait(h.settled, 300, "the demo's map")
    h.wait(h.idle, 300, "launch jobs")
    aligner = _alignment_ready(h)
    aligner.steps_box.setValue(4000)
    aligner.start_button.click()
    h.wait(lambda: len(aligner.steps) >= 2, 120, "the aligner's first snapshots")
    principles = h.window.panels["Principles"]
    order = ["Fusion lab", "Principles", "Log", "Alignment"] * 2
    pages = ["late-fusion", "poe-moe", "complementarity"]
    h.probe.mark()
    worst: dict = {"gap_ms": 0.0, "where": []}
    switches = 0
    for i, title in enumerate(order):
        h.later(lambda t=title: h.raise_panel(t))
        h.pause(0.6)
        if title == "Principles":
            h.later(lambda p=pages[i % len(pages)]: principles.show_page(p))
            h.pause(0.6)
        switches += 1
    worst = h.probe.result()
    running = aligner.running()
    h.close()
    worst["detail"] = f"{switches} tab switches + principle pages, aligner {'still training' if running else 'done'}"
    return worst


def s_late_fusion(args) -> dict:
    h = Harness(demo=True)
    h.wait(h.settled, 300, "the demo's map")
    h.wait(h.idle, 300, "launch jobs")
    panel = h.window.panels["Principles"]
    h.raise_panel("Principles")
    panel.show_page("late-fusion")
    page = panel.pages["late-fusion"]
    h.wait(lambda: page.result is not None and not panel.jobs and h.idle(), 600, "the late-fusion page")
    first = page.result
    results = []
    for value in (2.5, 1.0):
        results.append(measured(h, lambda v=value: page.separation.setValue(v),
                                lambda f=first: page.result is not f and not panel.jobs, 300, "the new result"))
        first = page.result
    h.close()
    worst = max(results, key=lambda r: r["gap_ms"])
    worst["detail"] = f"two changes, new result after {', '.join(str(r['seconds']) for r in results)} s"
    return worst


def s_join(args) -> dict:
    h = Harness(demo=True)
    h.wait(h.settled, 300, "the demo's map")
    h.wait(h.idle, 300, "launch jobs")
    n0 = len(h.ws.table)
    folder = WORK / "join-world"
    result = measured(h, lambda: h.window.open_paths([str(folder)]),
                      lambda: len(h.ws.table) > n0 and len(h.ws.xy) == len(h.ws.table), 600, "the joined items")
    joined = len(h.ws.table) - n0
    h.probe.mark()
    t = h.wait(lambda: h.settled(), 900, "the joined map's UMAP")
    umap = h.probe.result()
    h.close()
    worst = max(result, umap, key=lambda r: r["gap_ms"])
    worst["detail"] = (f"{joined:,} items joined, PCA shown after {result['seconds']} s "
                       f"(gap {result['gap_ms']} ms); UMAP + animation {t:.1f} s more (gap {umap['gap_ms']} ms)")
    return worst


def s_big_table(args) -> dict:
    h = Harness()
    h.pause(1.0)
    path = WORK / f"big-{args.rows}.parquet"
    result = measured(h, lambda: h.window.open_paths([str(path)]),
                      lambda: h.ws.table is not None and len(h.ws.xy) == len(h.ws.table)
                      and len(h.window.view.cloud.xy) == len(h.ws.table), 600, "the PCA preview")
    h.probe.mark()
    h.pause(3.0)
    after = h.probe.result()
    h.close()
    worst = max(result, after, key=lambda r: r["gap_ms"])
    worst["detail"] = (f"{args.rows:,} rows, preview drawn after {result['seconds']} s (gap {result['gap_ms']} ms); "
                       f"next 3 s (UMAP running): {after['gap_ms']} ms")
    return worst


def s_thumbnails(args) -> dict:
    import numpy as np
    from PySide6 import QtCore
    from PySide6.QtTest import QTest

    h = Harness([WORK / "large-media"])
    h.wait(h.settled, 300, "the large media's map")
    h.wait(h.idle, 300, "launch jobs")
    view, table = h.window.view, h.ws.table
    rows = [int(r) for r in np.flatnonzero(np.isin(table.modality, ["image", "audio"]))]
    h.probe.mark()
    for row in rows:
        x, y = (float(v) for v in view.cloud.xy[row])
        scene = view.viewbox.mapViewToScene(QtCore.QPointF(x, y))
        pos = view.plot.mapFromScene(scene)
        h.later(lambda p=pos: QTest.mouseMove(view.plot.viewport(), p))
        h.pause(0.25)
        h.later(lambda r=row: h.ws.select([r]))
        h.pause(0.25)
    h.pause(1.0)
    result = h.probe.result()
    h.close()
    result["detail"] = f"{len(rows)} image/audio points hovered and selected"
    return result


QUIT_CHILD = r"""
import json, os, sys, time
from mmstudio.ui import app as appmod
from mmstudio.ui.app import run

folder = sys.argv[1]   # "": quit while the window is starting on the demo
original = appmod.build_window

def build(paths=(), settings=None, recovery=False):
    from PySide6 import QtCore
    window = original(paths, settings, recovery=False)
    poll = QtCore.QTimer(window)
    state = {"t": None}

    def step():
        kinds = [j.kind for j in window.runner.running]
        if not folder and state["t"] is None and kinds:
            state["t"] = time.time() + 2.5  # the model loading, the demo opening, UMAP compiling
        if "project" in kinds and window.workspace.table is not None and len(window.workspace.table) > 1000 \
                and state["t"] is None:
            state["t"] = time.time() + 3.0
            dock = window.docks["Principles"]; dock.show(); dock.raise_()  # a panel's job too
        if state["t"] is not None and time.time() > state["t"]:
            poll.stop()
            running = sorted({k.split("-")[0] for k in kinds})
            print(json.dumps({"quit_at": time.time(), "running": running}), flush=True)
            window.close()

    poll.timeout.connect(step)
    poll.start(50)
    return window

appmod.build_window = build
code = run([folder] if folder else [])
print(json.dumps({"returned_at": time.time()}), flush=True)
sys.exit(code)
"""


def quit_scenario(env: dict, starting: bool = False) -> dict:
    """File > Quit (window.close()) while UMAP and the principles' job run, in ``mmstudio``'s own
    ``run()``: the time until the process has exited, and whether anything was left half-written."""
    home = WORK / "quit-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = dict(env, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local"))
    shutil.rmtree(Path(env["MMSTUDIO_CACHE_DIR"]) / "layouts", ignore_errors=True)
    shutil.rmtree(Path(env["MMSTUDIO_CACHE_DIR"]) / "principles", ignore_errors=True)
    proc = subprocess.Popen([sys.executable, "-c", QUIT_CHILD, "" if starting else str(WORK / "join-world")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=900)
    exited = time.time()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    quit_at = next((d["quit_at"] for d in lines if "quit_at" in d), None)
    running = next((d["running"] for d in lines if "running" in d), [])
    if quit_at is None:
        return {"error": f"never quit (exit {proc.returncode}): {err[-600:]}"}
    cache = Path(env["MMSTUDIO_CACHE_DIR"])
    partial = [str(p.relative_to(cache)) for p in cache.rglob("*") if ".partial" in p.name or p.name.startswith(".tmp")]
    return {"gap_ms": round((exited - quit_at) * 1000), "where": [],
            "detail": f"running at quit: {', '.join(running)}; exit code {proc.returncode}; "
                      f"half-written files left: {', '.join(partial) or 'none'}"
                      + (f"; stderr: {err.strip().splitlines()[-1][:120]}" if err.strip() else "")}


CHILDREN = {"launch": s_launch, "principles": s_principles, "query": s_query, "aligner": s_aligner,
            "switching": s_switching, "late-fusion": s_late_fusion, "join": s_join, "big-table": s_big_table,
            "thumbnails": s_thumbnails}


def child_main(name: str, args) -> int:
    import faulthandler

    faulthandler.enable()  # a crash leaves its stack in the row's error
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if os.environ.get("STALLS_SWITCH_INTERVAL"):  # an experiment: Python's GIL switch interval (seconds)
        sys.setswitchinterval(float(os.environ["STALLS_SWITCH_INTERVAL"]))
    try:
        if name in BIG:
            import stalls_big

            result = stalls_big.CHILDREN[name](args)
        else:
            result = CHILDREN[name](args)
            from stalls_big import memory

            result.update(memory())
    except Exception as exc:  # a scenario that cannot finish says why, in its row
        import traceback

        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}"}
    print("RESULT " + json.dumps(result), flush=True)
    sys.stdout.flush()
    os._exit(0)  # the window and its jobs are gone; nothing else to wait for


# ====================================================================== inputs (in the parent, once)
def prepare(args, names=SCENARIOS) -> None:
    """The 2,000-scene world (encoded once into the benchmark's cache), the big table, large media: what
    the scenarios ``names`` use."""
    WORK.mkdir(parents=True, exist_ok=True)
    env_cache = WORK / "cache"
    os.environ["MMSTUDIO_CACHE_DIR"] = str(env_cache)
    world = WORK / "join-world"
    if {"join", "quit"} & set(names) and not (world / "manifest.csv").is_file():
        print("preparing: 2,000 demo scenes (6,000 files), encoded once into the cache…", flush=True)
        code = ("import sys; from mmstudio.demo.make import make_world; from mmstudio.core.sources.inputs import load_paths;"
                "from mmstudio.core.cache import EmbeddingCache; from mmstudio.encoders.registry import load_encoder;"
                "from mmstudio.encoders.embed import embed_dataset;"
                "m = make_world(sys.argv[1], n=2000, seed=99); c = EmbeddingCache();"
                "embed_dataset(load_paths([sys.argv[1]]), load_encoder('builtin', cache=c), cache=c)")
        subprocess.run([sys.executable, "-c", code, str(world)], check=True, env=dict(os.environ))
    big = WORK / f"big-{args.rows}.parquet"
    if "big-table" in names and not big.is_file():
        print(f"preparing: a {args.rows:,}-row table…", flush=True)
        code = ("import sys, numpy as np; from mmstudio.core.tables.table import EmbeddingTable; n = int(sys.argv[2]);"
                "rng = np.random.default_rng(0); c = rng.normal(size=(50, 128)).astype(np.float32);"
                "lab = rng.integers(0, 50, n); v = c[lab] + rng.normal(scale=0.7, size=(n, 128)).astype(np.float32);"
                "v /= np.linalg.norm(v, axis=1, keepdims=True); ids = np.array([f's{i}' for i in range(n)], object);"
                "mods = np.array(['image', 'text'], object)[np.arange(n) % 2];"
                "EmbeddingTable(ids, mods, np.array([''] * n, object), np.array([f'class {k}' for k in lab], object),"
                " v, model='synthetic').write(sys.argv[1])")
        subprocess.run([sys.executable, "-c", code, str(big), str(args.rows)], check=True)
    media = WORK / "large-media"
    if "thumbnails" in names and not media.is_dir():
        print("preparing: large photos and long sounds…", flush=True)
        code = r"""
import sys, numpy as np, soundfile as sf
from pathlib import Path
from PIL import Image
root = Path(sys.argv[1]); rng = np.random.default_rng(3)
for label in ("photos", "scans"):
    (root / label).mkdir(parents=True)
for i in range(8):
    label = "photos" if i % 2 == 0 else "scans"
    w, h = (6000, 4000) if i % 2 == 0 else (4000, 3000)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([(xx / w * 255), (yy / h * 255), ((xx + yy) / (w + h) * 255)], -1)
    img += rng.normal(0, 6, (h, w, 1)).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    stem = root / label / f"item_{i}"
    Image.fromarray(img).save(str(stem) + (".jpg" if i % 2 == 0 else ".png"), quality=92)
    t = np.arange(44100 * 240) / 44100
    sf.write(str(stem) + ".wav", (0.3 * np.sin(2 * np.pi * (220 + 40 * i) * t) * np.sin(t)).astype(np.float32), 44100)
    (Path(str(stem) + ".txt")).write_text(f"item {i}, a large {label[:-1]}\n")
"""
        subprocess.run([sys.executable, "-c", code, str(media)], check=True)


def forget_numba_cache() -> None:
    """Remove numba's compiled kernels of umap-learn, pynndescent and mmstudio (rebuilt on the next fit)."""
    import importlib.util

    for package in ("umap", "pynndescent"):
        spec = importlib.util.find_spec(package)
        if spec and spec.origin:
            for path in Path(spec.origin).parent.rglob("__pycache__/*.nb[ic]"):
                path.unlink(missing_ok=True)
    for root in (ROOT, *(p for p in WORK.glob("baseline"))):
        for path in (root / "mmstudio").rglob("__pycache__/*.nb[ic]"):
            path.unlink(missing_ok=True)


def run_child(name: str, code_root: Path, args) -> dict:
    env = dict(os.environ, MMSTUDIO_CACHE_DIR=str(WORK / "cache"), PYTHONPATH=str(code_root),
               OMP_WAIT_POLICY="PASSIVE")
    if args.display:
        env["DISPLAY"] = args.display
        env.pop("QT_QPA_PLATFORM", None)
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    shutil.rmtree(WORK / "cache" / "layouts", ignore_errors=True)  # every run computes its UMAP itself
    if name in ("quit", "quit-starting"):
        if name == "quit-starting":
            forget_numba_cache()  # as on a first start: UMAP's kernels are being compiled when Quit comes
        return quit_scenario(env, starting=name == "quit-starting")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--rows", str(args.rows)]
    cmd += ["--during-fit"] if args.during_fit else []
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-1500:]}"}
    if args.verbose:
        sys.stderr.write(done.stderr[-3000:])
    return json.loads(line[len("RESULT "):])


def cell(result: dict | None) -> str:
    if not result:
        return "—"
    if "error" in result:
        return "error"
    rss = f", {result['rss_peak_mib']:,} MiB" if "rss_peak_mib" in result else ""
    cpu = f" (cpu {result['max_cpu_ms']:.0f})" if "max_cpu_ms" in result else ""
    return f"{result['gap_ms']:.0f} ms{cpu}{rss}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, help="another checkout whose code gives the 'before' column")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose code gives the 'after' column")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the big table")
    parser.add_argument("--display", help="an X display (default: offscreen)")
    parser.add_argument("--during-fit", action="store_true",
                        help="big-…: interact while the map's fit of every row runs (default: it is stopped first)")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_main(args.child, args)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = set(names) - set(SCENARIOS) - set(BIG)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    prepare(args, names)
    if set(names) & set(BIG):
        import stalls_big

        stalls_big.prepare(args.rows)
    load = os.getloadavg()
    print(f"{platform.machine()}, {os.cpu_count()} cores, load {load[0]:.1f} {load[1]:.1f}, "
          f"{'display ' + args.display if args.display else 'Qt offscreen'}", flush=True)
    rows = []
    for name in names:
        before = run_child(name, args.baseline.resolve(), args) if args.baseline else None
        after = run_child(name, args.code.resolve(), args)
        rows.append((name, before, after))
        ratio = ""
        if before and after and "gap_ms" in before and "gap_ms" in after and after["gap_ms"]:
            ratio = f"  ({before['gap_ms'] / after['gap_ms']:.1f}×)"
        ok = "ok" if after.get("gap_ms", 1e9) <= (1000 if name.startswith("quit") else LIMIT_MS) else "OVER"
        print(f"{name:12s} before {cell(before):>27s}  after {cell(after):>27s}{ratio}  [{ok}]", flush=True)
        for label, r in (("before", before), ("after", after)):
            if r and "gap_cpu_ms" in r:
                print(f"    {label}: the largest gap: {r['gap_cpu_ms']:.0f} ms CPU on the GUI thread, "
                      f"{r['gap_proc_ms']:.0f} ms in the whole process", flush=True)
            if r:
                print(f"    {label}: {r.get('detail') or r.get('error')}" + (
                    f"\n      where: {' | '.join(r['where'])}" if r.get("where") else ""), flush=True)
    load = os.getloadavg()
    print(f"load at the end {load[0]:.1f} {load[1]:.1f}")
    print(json.dumps({n: {"before": b, "after": a} for n, b, a in rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
