"""Ctrl-C at a moment drawn at random (seeded) in each long command: a clean exit 130 saying
"interrupted", no traceback, and nothing left behind in the output's folder (no half file, no
half folder, no temporary sibling).

The workloads are sized to run well past the latest moment drawn on an idle machine (a loaded
machine only makes them longer), so every run is really interrupted: one moment early (while
Python imports the command's libraries, where an import hook can swallow a KeyboardInterrupt or
Python can wrap it in another error) and one later, in the work itself. A moment is counted in
the command's own CPU time, so that it falls at the same point of the work on a busy machine
(counted on the wall clock, an "early" Ctrl-C on a machine running other tests beside it landed
before Python had started mmstudio at all).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import copy_into, shared, tiny_world  # noqa: E402

EARLY, LATE = (0.15, 0.9), (1.1, 2.2)   # seconds of the command's CPU time (see _wait_for_moment)
IDLE_GRACE = 30.0


def _world200(folder: Path) -> Path:
    return tiny_world(folder, n=200)


def _tiled(times: int):
    def build(folder: Path) -> Path:
        """The 200-scene world embedded with the built-in model, repeated ``times`` times (with the
        image paths a TensorBoard sprite sheet reads)."""
        import numpy as np

        from mmstudio.core.sources.inputs import load_paths
        from mmstudio.encoders.embed import embed_dataset
        from mmstudio.encoders.registry import load_encoder

        world = shared("world200", _world200)
        table = embed_dataset(load_paths([world]), load_encoder("builtin", device="cpu"))
        big = table.take(np.tile(np.arange(len(table)), times))
        big.sample_id = np.array([f"{s}-{i // len(table)}" for i, s in enumerate(big.sample_id)], dtype=object)
        path = folder / f"x{times}.parquet"
        big.write(path)
        return path
    return build


def _table(folder: Path, times: int = 20) -> str:
    """12,000 rows (36,000 for the quicker commands)."""
    return str(copy_into(shared(f"table-x{times}", _tiled(times)), folder, "in.parquet"))


def _two_tables(folder: Path) -> list[str]:
    """Two copies of the 12,000-row table (A and B of `mmstudio compare`)."""
    a = _table(folder)
    return [a, str(copy_into(Path(a), folder, "b.parquet"))]


def _manifest_x10(folder: Path) -> str:
    """A manifest listing the 200-scene world's files ten times (6,000 items)."""
    import csv

    world = shared("world200", _world200)
    rows = list(csv.DictReader((world / "manifest.csv").open(encoding="utf-8")))
    with (folder / "many.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for k in range(10):
            writer.writerows({**r, "id": f"{r['id']}-{k}", **{m: str(world / r[m]) for m in ("image", "audio", "text")}}
                             for r in rows)
    return "many.csv"


COMMANDS = {
    "demo-make": lambda f: ["demo", "make", "out", "--n", "3000"],
    "demo-train": lambda f: ["demo", "train", "--out", "out", "--scenes", "400", "--steps", "2000",
                             "--eval-scenes", "50"],
    "embed": lambda f: ["embed", _manifest_x10(f), "--no-cache", "--batch-size", "1", "--out", "out.parquet"],
    "export-tensorboard": lambda f: ["export", _table(f, 60), "--format", "tensorboard", "--out", "out"],
    "project": lambda f: ["project", _table(f), "--out", "out.parquet", "--no-cache"],
    "align": lambda f: ["align", _table(f)],
    "fuse": lambda f: ["fuse", _table(f, 60), "--label", "shape"],
    "principles": lambda f: ["principles", "dominance", "--table", _table(f), "--epochs", "200"],
    "screenshot": lambda f: ["screenshot", "out.png", _table(f)],
    "window": lambda f: [_table(f)],
    "compare": lambda f: ["compare", *_two_tables(f)],
}

_draw = random.Random(20260)
MOMENTS = [(name, round(_draw.uniform(*span), 2)) for name in COMMANDS for span in (EARLY, LATE)]


def _entries(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _cpu_seconds(pid: int) -> float | None:
    """The CPU time (user + system, all threads) a process has used so far; None where /proc cannot say."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime, stime (fields 14, 15)


def _wait_for_moment(proc: subprocess.Popen, moment: float) -> bool:
    """Wait until the command has used ``moment`` seconds of CPU (on an idle machine, ``moment`` seconds
    after its start; on a busy one the same point of its work, later), or, where /proc cannot say,
    ``moment`` seconds. A command that waits (a window with nothing left to do) is interrupted
    ``IDLE_GRACE`` seconds later. False: it ended first."""
    start = time.monotonic()
    while proc.poll() is None:
        cpu = _cpu_seconds(proc.pid)
        waited = time.monotonic() - start
        if (cpu if cpu is not None else waited) >= moment or waited >= moment + IDLE_GRACE:
            return True
        time.sleep(0.005)
    return False


def _interrupt(name, moment, argv, work, before, env) -> dict:
    with tempfile.TemporaryFile() as err_file:   # a file, not a pipe: nothing blocks while nobody reads
        proc = subprocess.Popen([sys.executable, "-m", "mmstudio", *argv], cwd=work, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err_file,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a terminal would
        if _wait_for_moment(proc, moment):
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return {"hung": True, "argv": argv}
        err_file.seek(0)
        err = err_file.read().decode("utf-8", errors="replace")
    return {"hung": False, "argv": argv, "code": proc.returncode, "err": err, "left": sorted(_entries(work) - before)}


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory) -> dict:
    """Every (command, moment) run: the inputs built one after the other (they share what they build),
    then the commands run and interrupted two at a time (a moment is counted on each one's own CPU clock)."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = []
    for name, moment in MOMENTS:
        tmp = tmp_path_factory.mktemp("interrupt")
        work = tmp / "case"
        work.mkdir()
        argv = COMMANDS[name](work)
        env = dict(os.environ, MMSTUDIO_CACHE_DIR=str(tmp / "cache"), MMSTUDIO_LOG_DIR=str(tmp / "log"),
                   QT_QPA_PLATFORM="offscreen")
        jobs.append((name, moment, argv, work, _entries(work), env))
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {(job[0], job[1]): pool.submit(_interrupt, *job) for job in jobs}
        return {key: future.result() for key, future in futures.items()}


@pytest.mark.parametrize("name, moment", MOMENTS, ids=[f"{n}-at-{m}s" for n, m in MOMENTS])
def test_ctrl_c_exits_130_and_leaves_nothing(name, moment, interrupted):
    run = interrupted[name, moment]
    argv = run["argv"]
    if run["hung"]:
        pytest.fail(f"mmstudio {name} did not end within 120 s of Ctrl-C at {moment} s")
    err = run["err"]
    shown = f"\n$ mmstudio {' '.join(argv)}  (Ctrl-C at {moment} s)\nexit {run['code']}\n{err[-3000:]}"
    assert run["code"] == 130, f"finished before the interrupt (make the workload longer)?{shown}"
    assert "Traceback" not in err and "Fatal Python error" not in err and "Exception ignored" not in err, shown
    assert err.strip().splitlines()[-1] == ("mmstudio: interrupted" if name == "window" else
                                            f"mmstudio {argv[0]}: interrupted"), shown
    assert not run["left"], f"left behind: {run['left']}{shown}"
