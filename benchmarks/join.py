"""Items joining an open map: how long until the first of them is drawn, until all are, and whether the
points already on the map move.

The window (offscreen) opens the demo world and waits until its map is final and every job has ended;
then a folder of ``--scenes`` demo scenes (3 items each), never embedded before (each run gets a fresh
copy of a cache that holds only the demo), is opened as File > Open would. A 5 ms ``QTimer`` on the GUI
thread watches the event loop: at each tick it notes how many points the map draws, and the longest
time between two ticks. Reported per run:

    first     seconds from the open to the first added point drawn
    all       … to every added point drawn
    settled   … to the map final and every job ended (an automatic refit, if one runs, included)
    moved     the largest distance any of the demo's points moved on the screen (in the map's
              normalised units) from before the open until every added point was drawn, and until
              the end (a refit that runs by itself moves them, animated)
    gap       the event loop's longest gap, in ms

``--baseline DIR`` runs the same against another checkout's code (e.g. ``/work/main``) in the same run;
each run is a fresh process. ``--cached`` adds runs where the folder is in the cache already.

    python benchmarks/join.py [--scenes 2000] [--baseline ../main] [--cached] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work" / "join"
DEMO = ROOT / "mmstudio" / "resources" / "demo"


# ====================================================================== in the child
def child(folder: str, expected: int) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    from PySide6 import QtCore

    from mmstudio.ui.app import build_window, make_app

    app = make_app()  # noqa: F841  (kept alive while the window runs)
    settings = QtCore.QSettings(str(Path(os.environ["MMSTUDIO_CACHE_DIR"]) / "settings.ini"),
                                QtCore.QSettings.Format.IniFormat)
    settings.setValue("open_demo", "false")
    window = build_window([str(DEMO)], settings)
    window.resize(1400, 860)
    ws, view = window.workspace, window.view

    def idle() -> bool:
        return (not window.runner.running and ws.table is not None and ws.layout_final
                and getattr(view, "_animation", None) is None and len(view.cloud.xy) == len(ws.table))

    def run_until(done, timeout: float, on_tick=None) -> float:
        loop, start = QtCore.QEventLoop(), time.perf_counter()
        state = {"last": start, "gap": 0.0}

        def tick():
            now = time.perf_counter()
            state["gap"] = max(state["gap"], now - state["last"])
            state["last"] = now
            if now >= state.setdefault("tell", start + 10):   # a line every 10 s on stderr, to follow a slow run
                state["tell"] = now + 10
                print(f"{now - start:5.0f} s: {len(view.cloud.xy):,} points drawn; jobs "
                      f"{[j.kind for j in window.runner.running]}", file=sys.stderr, flush=True)
            if on_tick is not None:
                on_tick(now - start)
            if done() or now - start > timeout:
                loop.quit()

        timer = QtCore.QTimer()
        timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        timer.timeout.connect(tick)
        timer.start(5)
        loop.exec()
        timer.stop()
        return state["gap"]

    run_until(idle, 600)
    n0 = len(ws.table)
    before = np.array(view.cloud.xy[:n0])
    seen = {"first": None, "all": None, "moved_all": None}

    def watch(t):
        drawn = len(view.cloud.xy)
        if seen["first"] is None and drawn > n0:
            seen["first"] = t
        if seen["all"] is None and drawn >= n0 + expected:
            seen["all"] = t
            seen["moved_all"] = float(np.abs(np.array(view.cloud.xy[:n0]) - before).max())

    start = time.perf_counter()
    QtCore.QTimer.singleShot(0, lambda: window.open_paths([folder]))
    gap = run_until(lambda: len(ws.table or []) >= n0 + expected and idle(), 1800, watch)
    settled = time.perf_counter() - start
    moved = float(np.abs(np.array(view.cloud.xy[:n0]) - before).max())
    result = {"first": seen["first"], "all": seen["all"], "settled": settled, "moved_all": seen["moved_all"],
              "moved": moved,
              "gap_ms": gap * 1000, "items": len(ws.table) - n0}
    window.runner.cancel_all()
    window.runner.wait(30000)
    return result


# ====================================================================== in the parent
def prepare(scenes: int, cached: bool) -> tuple[Path, Path, Path]:
    """The folder of new scenes, a cache holding only the demo (and its map), and one holding both."""
    WORK.mkdir(parents=True, exist_ok=True)
    world = WORK / f"world-{scenes}"
    if not (world / "manifest.csv").is_file():
        print(f"preparing: {scenes:,} demo scenes ({3 * scenes:,} files)…", flush=True)
        subprocess.run([sys.executable, "-c", "import sys; from mmstudio.demo.make import make_world; "
                        "make_world(sys.argv[1], n=int(sys.argv[2]), seed=77)", str(world), str(scenes)],
                       check=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    demo_cache, full_cache = WORK / "cache-demo", WORK / f"cache-{scenes}"
    embed = ("import sys; from mmstudio.core.sources.inputs import load_paths; from mmstudio.core.cache import "
             "EmbeddingCache; from mmstudio.encoders.registry import load_encoder; from mmstudio.encoders.embed "
             "import embed_dataset; c = EmbeddingCache(); embed_dataset(load_paths(sys.argv[1:]), "
             "load_encoder('builtin', cache=c), cache=c)")
    for cache, paths in ((demo_cache, [DEMO]), (full_cache, [DEMO, world])):
        if not cache.is_dir() and (cached or cache == demo_cache):
            subprocess.run([sys.executable, "-c", embed, *map(str, paths)], check=True,
                           env=dict(os.environ, PYTHONPATH=str(ROOT), MMSTUDIO_CACHE_DIR=str(cache)))
    return world, demo_cache, full_cache


def run_child(code: Path, world: Path, cache: Path, expected: int) -> dict:
    scratch = WORK / "run-cache"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(cache, scratch)
    shutil.rmtree(scratch / "layouts", ignore_errors=True)   # each run fits the demo's map itself
    env = dict(os.environ, PYTHONPATH=str(code), MMSTUDIO_CACHE_DIR=str(scratch), QT_QPA_PLATFORM="offscreen",
               OMP_WAIT_POLICY="PASSIVE")
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(world), str(expected)],
                          env=env, capture_output=True, text=True, timeout=3600)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    (WORK / f"last-{code.name}.log").write_text(done.stderr)   # the child's progress lines, for a slow run
    if line is None:
        return {"error": done.stderr.strip()[-1500:]}
    return json.loads(line[len("RESULT "):])


def show(name: str, r: dict) -> str:
    if "error" in r:
        return f"{name:8s} error: {r['error']}"
    return (f"{name:8s} first {r['first']:6.2f} s   all {r['all']:6.2f} s   settled {r['settled']:6.2f} s   "
            f"moved {r['moved_all']:.3f} / {r['moved']:.3f}   gap {r['gap_ms']:5.0f} ms   ({r['items']:,} items)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=2000)
    parser.add_argument("--baseline", type=Path, help="another checkout whose code gives the 'before' rows")
    parser.add_argument("--cached", action="store_true", help="also open the folder with its items in the cache")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, alternating")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = child(args.child[0], int(args.child[1]))
        print("RESULT " + json.dumps(result), flush=True)
        os._exit(0)
    world, demo_cache, full_cache = prepare(args.scenes, args.cached)
    load = os.getloadavg()
    print(f"{platform.machine()}, {os.cpu_count()} cores, load {load[0]:.1f} {load[1]:.1f}, Qt offscreen; "
          f"{3 * args.scenes:,} items joining the demo's 72", flush=True)
    results = {}
    for cached, cache in ((False, demo_cache), *(((True, full_cache),) if args.cached else ())):
        for run in range(args.repeat):   # before and after alternate: a shared machine's load moves both
            for name, code in ((("before", args.baseline.resolve()),) if args.baseline else ()) + (("after", ROOT),):
                key = f"{name}{' cached' if cached else ''}"
                results.setdefault(key, []).append(run_child(code, world, cache, 3 * args.scenes))
                print(show(key, results[key][-1]), flush=True)
    load = os.getloadavg()
    print(f"load at the end {load[0]:.1f} {load[1]:.1f}")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
