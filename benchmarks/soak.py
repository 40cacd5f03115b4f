"""The window used for N minutes as a person would, watched for leaks, stalls and errors.

Runs the soak script of the test suite (``tests/soak_script.py``: hover, wheel zoom, clicks, box
and lasso drags, typed queries, every panel tab, every fusion knob, the attention map's word,
method and text, the library, folders dropped on the window), on the app as it starts for a new
user (the 300-scene demo world, the real principles demo), on a real X display (``--display``)
or offscreen. It records the RSS and ``sys.getrefcount(None)`` every 15 s, the event loop's
gaps (a 10 ms QTimer), and every Python exception raised inside a Qt callback or Qt warning.

The baseline, in the same run: the same gap probe over the idle window (its largest gap is what
the machine alone costs), and the RSS once the warm-up is over (growth is measured from there).

    python benchmarks/soak.py --minutes 30 [--display :92] [--warm-up 4] [--seed 0] [--out FILE]

Exit status 1 when an error was seen. Uses its own cache and log folders (never the user's).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to use the window (after the warm-up)")
    parser.add_argument("--warm-up", type=float, default=4.0, help="minutes of use before growth is measured")
    parser.add_argument("--display", help="an X display (e.g. :92); offscreen without it")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="JSON report (default benchmarks/_work/soak-<time>.json)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mmstudio-soak-"))
    os.environ["MMSTUDIO_CACHE_DIR"] = str(work / "cache")
    os.environ["MMSTUDIO_LOG_DIR"] = str(work / "log")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")      # as `mmstudio` starts
    if args.display:
        os.environ["DISPLAY"], os.environ["QT_QPA_PLATFORM"] = args.display, "xcb"
    else:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"

    from PySide6 import QtCore
    from soak_script import Probe, SoakDriver, folder_maker, idle, wait_idle

    from mmstudio.ui.app import build_window, dispose, make_app

    app = make_app()
    settings = QtCore.QSettings(str(work / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    window = build_window([], settings)                       # opens the demo world, as for a new user
    window.resize(1400, 900)
    probe = Probe().start()
    driver = SoakDriver(window, seed=args.seed, new_folder=folder_maker(work / "added", n=3), probe=probe)
    began = time.perf_counter()

    def log(text: str) -> None:
        print(f"[{(time.perf_counter() - began) / 60:5.1f} min] {text}", flush=True)

    probe.doing = "opening the demo"
    if not wait_idle(driver, 1800):
        log("the demo did not settle in 30 minutes")
    start = probe.sample()
    log(f"demo open: {len(window.workspace.table):,} items, RSS {start[1]:.0f} MiB")

    probe.doing = "idle"                                      # the baseline: the loop with nothing to do
    quiet = time.perf_counter() + 600
    while window.runner.running and time.perf_counter() < quiet:   # the UMAP warm-up too
        driver.pump(50)
    idle_from = len(probe.gaps)
    driver.pump(10_000)
    idle_gaps = sorted(g for g, _, _ in probe.gaps[idle_from:])[::-1][:3]
    del probe.gaps[idle_from:]
    log(f"idle loop: largest gaps {[round(g, 3) for g in idle_gaps]} s")

    driver.tour()
    deadline = time.perf_counter() + args.warm_up * 60
    while time.perf_counter() < deadline:
        driver.step()
    wait_idle(driver, 600)
    warm = probe.sample()
    log(f"warmed up: {driver.events:,} events, RSS {warm[1]:.0f} MiB")

    measured_from = len(probe.gaps)
    deadline = time.perf_counter() + args.minutes * 60
    next_sample = time.perf_counter() + 15
    while time.perf_counter() < deadline:
        driver.step()
        if time.perf_counter() >= next_sample:
            next_sample += 15
            point = probe.sample()
            if len(probe.samples) % 20 == 0:
                log(f"{driver.events:,} events, RSS {point[1]:.0f} MiB, errors {len(probe.errors)}")
    probe.doing = "finishing"
    settled = wait_idle(driver, 600)
    end = probe.sample()
    probe.stop()

    after = [(t, rss) for t, rss, _ in probe.samples if t >= warm[0]]
    slope = _slope(after) * 3600                              # MiB per hour
    gaps = sorted(probe.gaps[measured_from:], reverse=True)
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load": _load(), "platform": os.environ["QT_QPA_PLATFORM"] + (f" {args.display}" if args.display else ""),
        "minutes": args.minutes, "warm_up_minutes": args.warm_up, "seed": args.seed,
        "events": driver.events, "actions": dict(driver.done), "seconds_per_action": {
            k: round(v / driver.done[k], 4) for k, v in driver.seconds.items()},
        "items_at_end": len(window.workspace.table), "settled_at_end": settled and idle(window),
        "rss_mb": {"start": round(start[1], 1), "after_warm_up": round(warm[1], 1), "end": round(end[1], 1),
                   "max": round(max(r for _, r, _ in probe.samples), 1)},
        "rss_slope_mb_per_hour": round(slope, 2),
        "none_refcount": {"start": start[2], "after_warm_up": warm[2], "end": end[2]},
        "idle_gaps_s": [round(g, 3) for g in idle_gaps],
        "largest_gaps": [{"seconds": round(g, 3), "at_min": round(t / 60, 2), "doing": what} for g, t, what in gaps[:12]],
        "gaps_over": {f"{ms}ms": sum(g > ms / 1000 for g, _, _ in gaps) for ms in (100, 250, 500, 1000)},
        "errors": probe.errors,
        "samples": [(round(t, 1), round(r, 1), n) for t, r, n in probe.samples],
    }
    out = args.out or ROOT / "benchmarks" / "_work" / f"soak-{time.strftime('%Y%m%d-%H%M')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    _print(report, out)
    dispose(window)
    del window
    app.processEvents()
    return 1 if probe.errors else 0


def _slope(points) -> float:
    """Least-squares slope of (t, y) points (y per second); 0 for fewer than two."""
    if len(points) < 2:
        return 0.0
    import numpy as np

    t, y = np.array(points, float).T
    return float(np.polyfit(t, y, 1)[0])


def _load() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _print(r: dict, out: Path) -> None:
    rss = r["rss_mb"]
    print(f"\nsoak: {r['minutes']:g} min after a {r['warm_up_minutes']:g} min warm-up, {r['platform']}, "
          f"{r['machine']}, {r['load']}")
    print(f"  {r['events']:,} input events, {sum(r['actions'].values()):,} actions, {r['items_at_end']:,} items at the end")
    print(f"  RSS: start {rss['start']} MiB, after warm-up {rss['after_warm_up']} MiB, end {rss['end']} MiB "
          f"(max {rss['max']}); slope after warm-up {r['rss_slope_mb_per_hour']:+.1f} MiB/h; "
          f"end / after warm-up = {rss['end'] / rss['after_warm_up']:.3f}")
    n = r["none_refcount"]
    print(f"  sys.getrefcount(None): start {n['start']:,}, after warm-up {n['after_warm_up']:,}, end {n['end']:,}")
    print(f"  event-loop gaps: idle baseline {r['idle_gaps_s']} s; over 100/250/500/1000 ms: "
          + "/".join(str(v) for v in r["gaps_over"].values()))
    for gap in r["largest_gaps"][:8]:
        print(f"    {gap['seconds']:.3f} s at {gap['at_min']:.1f} min ({gap['doing']})")
    print(f"  errors: {len(r['errors']) or 'none'}")
    for error in r["errors"][:3]:
        print("    " + error.strip().replace("\n", "\n    "))
    print(f"  report: {out}")


if __name__ == "__main__":
    sys.exit(main())
