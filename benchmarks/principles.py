"""Each principle's ``mmstudio principles NAME --json`` run time: today's default (five seeds)
against one seed of the same code, and against an older checkout (``--baseline-tree``, e.g. a
``git worktree`` of the commit before the seeds) — each in a fresh process, in the same run.

    python benchmarks/principles.py [--names a,b] [--repeats 2] [--baseline-tree /path/to/old/checkout]

Prints wall seconds and CPU seconds (user + system of the child: on a shared machine the CPU time is
the steadier number) and the ratios new/one-seed and new/baseline. The demo table is built into the
cache first (not timed)."""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Refused(Exception):
    pass


def timed(args: list[str], tree: Path) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # run in the tree: ``python -m`` puts the working folder first on sys.path, before PYTHONPATH
    done = subprocess.run([sys.executable, "-m", "mmstudio", *args], env=env, capture_output=True, text=True, cwd=tree)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode == 2:
        raise Refused(done.stderr.strip())
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} in {tree} failed:\n{done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def best(runs) -> tuple[float, float]:
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", default=None, help="comma-separated principles (default: all registered)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each, the fastest kept")
    parser.add_argument("--baseline-tree", type=Path, default=None, help="an older checkout to compare with")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from mmstudio.analysis.principles.registry import PRINCIPLES

    names = args.names.split(",") if args.names else list(PRINCIPLES)
    timed(["principles", "redundancy", "--seeds", "1"], ROOT)  # builds the demo table into the cache
    print(f"{'principle':<20} {'5 seeds wall/cpu':>17} {'1 seed wall/cpu':>16} {'ratio cpu':>9}"
          + (f" {'baseline wall/cpu':>18} {'vs baseline cpu':>15}" if args.baseline_tree else ""))
    for name in names:
        new = best([timed(["principles", name, "--json"], ROOT) for _ in range(args.repeats)])
        one, fewest = new, 1
        if name != "poe-moe":   # a closed form: no seeds
            for fewest in (1, 2):   # a principle that compares seeds refuses one
                try:
                    one = best([timed(["principles", name, "--json", "--seeds", str(fewest)], ROOT)
                                for _ in range(args.repeats)])
                    break
                except Refused:
                    continue
        label = name if fewest == 1 else f"{name} (2 seeds)"
        line = f"{label:<20} {new[0]:>8.2f}/{new[1]:<8.2f} {one[0]:>7.2f}/{one[1]:<8.2f} {new[1] / one[1]:>8.2f}×"
        if args.baseline_tree:
            old_names = subprocess.run([sys.executable, "-c", "from mmstudio.analysis.principles.registry import "
                                        "PRINCIPLES; print(','.join(PRINCIPLES))"], capture_output=True, text=True,
                                       env=dict(os.environ, PYTHONPATH=str(args.baseline_tree)),
                                       cwd=args.baseline_tree).stdout.split(",")
            if name in [n.strip() for n in old_names]:
                old = best([timed(["principles", name, "--json"], args.baseline_tree) for _ in range(args.repeats)])
                line += f" {old[0]:>9.2f}/{old[1]:<8.2f} {new[1] / old[1]:>14.2f}×"
            else:
                line += f" {'(new page)':>18}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
