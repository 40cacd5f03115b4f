"""Projection speed: mmstudio's UMAP path vs plain umap-learn, PCA preview, adding points.

Data: N × 512 float32 vectors in 30 Gaussian clusters around random directions on the
sphere, L2-normalised (within-cluster cosine ≈ 0.5, between ≈ 0), fixed seed.

1. 10,000 points end to end, each side a fresh process (process start, imports, reading the
   vectors, writing the layout and exit included), both in this run:
   - baseline: ``python -c`` loading an .npy and running ``umap.UMAP(metric="cosine").fit_transform(x)``;
   - mmstudio: ``python -m mmstudio project TABLE.npz --out OUT.npz --no-cache`` (exact kNN by a
     chunked torch matmul → umap-learn with ``precomputed_knn``, 200 epochs, numba's disk cache on;
     no layout cache, so it really fits).
   mmstudio runs twice: the first run fills numba's disk cache if it is empty (what the very
   first run on a machine pays); the second is what every later run costs, and is the one
   compared. ``--cold-numba`` adds a run with an empty ``NUMBA_CACHE_DIR`` to show the first-ever cost.
   Trustworthiness (``sklearn.manifold.trustworthiness``, 15 neighbours, cosine) of both
   layouts on all 10,000 points (or ``--tw-sample`` rows).
2. 100,000 points, mmstudio only, fresh process (target ≤ 90 s).
3. PCA preview of 100,000 × 512 in a warm process (target ≤ 0.5 s).
4. Adding 100 points to a 10,000-point map (target ≤ 1 s): ``place_points``; and umap-learn's
   own ``transform`` on the baseline's fitted model, for comparison.
5. ``--threshold``: exact kNN vs umap-learn's nearest-neighbour descent (compiled) by size.

    python benchmarks/projection.py [--n 10000] [--big 100000] [--threshold] [--cold-numba]
                                    [--skip-big] [--tw-sample 0]
    python benchmarks/projection.py --gpu [--big 100000]   # on a CUDA machine: GPU kNN and a whole UMAP
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work" / "projection"


def clustered(n: int, d: int = 512, k: int = 30, spread: float = 1.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, d)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(0, k, n)
    x = centres[labels] + spread * rng.standard_normal((n, d)).astype(np.float32) / np.sqrt(d)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


def data_file(n: int, seed: int = 0) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"x{n}_s{seed}.npy"
    if not path.exists():
        np.save(path, clustered(n, seed=seed)[0])
    return path


# --- the two sides, each run in its own fresh process ------------------------------------------
BASELINE = """
import sys, time, json, numpy as np
x = np.load(sys.argv[1])
import umap
reducer = umap.UMAP(metric="cosine")
y = reducer.fit_transform(x)
np.save(sys.argv[2], y)
extra = {"fitted": time.time()}
if len(sys.argv) > 3:  # umap-learn's own transform of new points, for the add-points comparison
    new = np.load(sys.argv[3])
    for run in ("first", "second"):
        t = time.perf_counter(); reducer.transform(new); extra[f"transform_{run}_s"] = time.perf_counter() - t
print(json.dumps({"end": time.time(), **extra}))
"""

def table_file(n: int) -> Path:
    """The same vectors as an mmstudio table (NPZ: read without pyarrow, like the .npy baseline)."""
    path = WORK / f"table{n}.npz"
    if not path.exists():
        sys.path.insert(0, str(ROOT))
        from mmstudio.core.tables.table import EmbeddingTable

        x = np.load(data_file(n))
        ids = np.array([f"p{i}" for i in range(n)], dtype=object)
        EmbeddingTable(ids, np.full(n, "image", dtype=object), ids, np.full(n, None, dtype=object), x).write(path)
    return path


def run_baseline(args: list[str]) -> dict:
    start = time.time()
    done = subprocess.run([sys.executable, "-c", BASELINE, *args], capture_output=True, text=True, cwd=ROOT)
    wall = time.time() - start
    if done.returncode:
        raise SystemExit(f"baseline failed:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # Timed from the process start to the layout saved: the transform comparison that follows,
    # and the process's exit, are left out (which favours the baseline by its exit time).
    out["wall_s"] = out.pop("fitted") - start
    out["after_s"] = start + wall - out.pop("end")
    return out


def run_mmstudio(n: int, out: Path, env: dict | None = None) -> dict:
    """``python -m mmstudio project TABLE --out OUT --no-cache``, as a user runs it."""
    cmd = [sys.executable, "-m", "mmstudio", "project", str(table_file(n)), "--out", str(out), "--no-cache"]
    start = time.time()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                          env=dict(env or os.environ, PYTHONPATH=str(ROOT)))
    wall = time.time() - start
    if done.returncode:
        raise SystemExit(f"mmstudio project failed:\n{done.stderr[-3000:]}")
    summary = [ln.strip() for ln in done.stderr.splitlines() if ln.startswith(("projected", "  steps"))]
    return {"wall_s": wall, "summary": " / ".join(summary)}


def trust(x, y, sample: int) -> float:
    from sklearn.manifold import trustworthiness

    if sample and sample < len(x):
        rows = np.random.default_rng(0).choice(len(x), sample, replace=False)
        x, y = x[rows], y[rows]
    return float(trustworthiness(x, y, n_neighbors=15, metric="cosine"))


def line(what: str, value: float, target: str, ratio: float | None = None, unit: str = "s") -> str:
    extra = f"  ratio {ratio:.2f}" if ratio is not None else ""
    return f"{what:<58} {value:9.3f} {unit}   target {target}{extra}"


def end_to_end(n: int, cold_numba: bool, tw_sample: int, report: dict) -> None:
    x_path = data_file(n)
    new_path = WORK / "new100.npy"
    np.save(new_path, clustered(100, seed=99)[0])
    base_y, fast_out = WORK / f"baseline_y{n}.npy", WORK / f"mmstudio_{n}.npz"
    table_file(n)
    runs = {}
    if cold_numba:
        with tempfile.TemporaryDirectory() as empty:
            runs["mmstudio, empty numba cache"] = run_mmstudio(n, fast_out, dict(os.environ, NUMBA_CACHE_DIR=empty))
    runs["mmstudio, 1st run"] = run_mmstudio(n, fast_out)
    runs["baseline"] = run_baseline([str(x_path), str(base_y), str(new_path)])
    runs["mmstudio"] = run_mmstudio(n, fast_out)
    x = np.load(x_path)
    fast_y = _xy(fast_out)
    np.save(WORK / f"mmstudio_y{n}.npy", fast_y)
    tw_base, tw_fast = trust(x, np.load(base_y), tw_sample), trust(x, fast_y, tw_sample)
    t_base, t_fast = runs["baseline"]["wall_s"], runs["mmstudio"]["wall_s"]
    for name, r in runs.items():
        detail = "to the layout saved; exit not counted" if "after_s" in r else r["summary"]
        print(f"  {name:<30} {r['wall_s']:7.2f} s  ({detail})")
    print(line(f"UMAP {n:,} x 512 end to end: baseline / mmstudio", t_base / t_fast, "≥ 8", unit="x"))
    print(line("trustworthiness, baseline", tw_base, "-", unit=""))
    print(line("trustworthiness, mmstudio", tw_fast, "within 0.01 of the baseline", unit="")
          + f"  difference {tw_fast - tw_base:+.4f}")
    report.update({"n": n, "baseline_s": round(t_base, 2), "mmstudio_s": round(t_fast, 2),
                   "speedup": round(t_base / t_fast, 2), "tw_baseline": round(tw_base, 4),
                   "tw_mmstudio": round(tw_fast, 4), "tw_rows": tw_sample or n,
                   "mmstudio_first_run_s": round(runs["mmstudio, 1st run"]["wall_s"], 2),
                   "mmstudio_summary": runs["mmstudio"]["summary"],
                   "umap_transform_100_s": round(runs["baseline"]["transform_second_s"], 3),
                   "umap_transform_100_first_s": round(runs["baseline"]["transform_first_s"], 3)})
    print(line("umap-learn transform of 100 new points (2nd call; 1st "
               f"{runs['baseline']['transform_first_s']:.2f} s)", runs["baseline"]["transform_second_s"], "-"))
    if cold_numba:
        report["mmstudio_empty_numba_cache_s"] = round(runs["mmstudio, empty numba cache"]["wall_s"], 2)


def _xy(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as data:
        return np.stack([data["column/x"], data["column/y"]], axis=1).astype(np.float32)


def _fmt(timing: dict) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in timing.items())


def big(n: int, report: dict) -> None:
    out = WORK / f"mmstudio_{n}.npz"
    table_file(n)
    r = run_mmstudio(n, out)
    print(f"  mmstudio {n:,}: {r['summary']}")
    print(line(f"UMAP {n:,} x 512 end to end (fresh process)", r["wall_s"], "≤ 90 s", 90 / r["wall_s"]))
    report.update({"big_n": n, "big_s": round(r["wall_s"], 2), "big_summary": r["summary"]})


def in_process(n_big: int, n_map: int, report: dict) -> None:
    sys.path.insert(0, str(ROOT))
    from mmstudio.analysis.projection.project import pca_2d, place_points

    x = np.load(data_file(n_big))
    t = time.perf_counter()
    pca_2d(x[:2000])  # imports torch, as the app already has
    warm_import = time.perf_counter() - t
    times = []
    for _ in range(3):
        t = time.perf_counter()
        pca_2d(x)
        times.append(time.perf_counter() - t)
    print(line(f"PCA preview {n_big:,} x 512 (best of 3; first incl. torch import {warm_import:.2f} s)",
               min(times), "≤ 0.5 s", 0.5 / min(times)))
    report.update({"pca_s": round(min(times), 3), "pca_all_s": [round(v, 3) for v in times]})
    map_x = np.load(data_file(n_map))
    map_xy = np.load(WORK / f"mmstudio_y{n_map}.npy")
    new = np.load(WORK / "new100.npy")
    place_points(map_x, map_xy, new[:5])
    times = []
    for _ in range(3):
        t = time.perf_counter()
        placed = place_points(map_x, map_xy, new)
        times.append(time.perf_counter() - t)
    assert placed.shape == (100, 2)
    print(line(f"add 100 points to a {n_map:,}-point map (best of 3)", min(times), "≤ 1 s", 1 / min(times)))
    report.update({"add100_s": round(min(times), 4)})


def threshold(sizes: list[int], report: dict) -> None:
    sys.path.insert(0, str(ROOT))
    from pynndescent import NNDescent

    from mmstudio.analysis.projection.knn import exact_knn
    from mmstudio.analysis.projection.umap_fit import umap_module

    umap_module()

    def descent(x):  # what umap-learn runs (umap_.nearest_neighbors), compiled already
        n = len(x)
        index = NNDescent(x, n_neighbors=15, metric="cosine", n_trees=min(64, 5 + int(round(n ** 0.5 / 20.0))),
                          n_iters=max(5, int(round(np.log2(n)))), max_candidates=60, low_memory=True, n_jobs=-1,
                          compressed=False)
        return index.neighbor_graph

    t = time.perf_counter()
    descent(clustered(2000, seed=5)[0])
    compile_s = time.perf_counter() - t
    exact_knn(clustered(2000, seed=5)[0], 15)
    print(f"  nearest-neighbour descent: first call in this process {compile_s:.1f} s (compiling)")
    rows = []
    for n in sizes:
        x = clustered(n, seed=1)[0]
        t = time.perf_counter()
        exact_i, _ = exact_knn(x, 15)
        t_exact = time.perf_counter() - t
        t = time.perf_counter()
        nnd_i, _ = descent(x)
        t_nnd = time.perf_counter() - t
        recall = float(np.mean([len(set(a) & set(b)) / 15 for a, b in zip(exact_i, nnd_i)]))
        rows.append({"n": n, "exact_s": round(t_exact, 2), "nn_descent_s": round(t_nnd, 2), "recall": round(recall, 4)})
        print(f"  kNN {n:>7,}: exact {t_exact:6.2f} s   nn-descent {t_nnd:6.2f} s   nn-descent recall {recall:.4f}"
              f"   load {os.getloadavg()[0]:.1f}", flush=True)
    report.update({"threshold": rows, "nn_descent_compile_s": round(compile_s, 1)})


def gpu_check(n_big: int, report: dict) -> None:
    """On a CUDA machine: the exact kNN on the GPU equals the CPU's, its speed, and a whole UMAP."""
    sys.path.insert(0, str(ROOT))
    import torch

    from mmstudio.analysis.projection.knn import exact_knn
    from mmstudio.analysis.projection.project import project

    report["gpu"] = torch.cuda.get_device_name(0)
    x = clustered(20_000, seed=1)[0]
    t = time.perf_counter()
    gi, gd = exact_knn(x, 15, device="cuda")
    first = time.perf_counter() - t
    ci, cd = exact_knn(x, 15, device="cpu")
    same = float((gi == ci).mean())
    print(f"  exact kNN 20,000: GPU = CPU for {same:.5f} of neighbours (max |dist diff| {np.abs(gd - cd).max():.2e}); "
          f"first GPU call {first:.2f} s")
    big = clustered(n_big, seed=2)[0]
    times = []
    for _ in range(3):
        t = time.perf_counter()
        exact_knn(big, 15, device="cuda")
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    print(line(f"exact kNN {n_big:,} x 512 on the GPU (best of 3)", min(times), "-"))
    results = []
    for run in ("first (numba compiles)", "second"):
        t = time.perf_counter()
        result = project(big, cache=False)
        results.append(time.perf_counter() - t)
        print(f"  UMAP {n_big:,} in-process, {run}: {results[-1]:.2f} s; kNN {result.knn}; "
              f"{_fmt(result.timing)}")
    report.update({"gpu_knn_same": same, "gpu_knn_big_s": round(min(times), 3),
                   "gpu_umap_big_s": [round(v, 2) for v in results]})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--cold-numba", action="store_true", help="also run mmstudio with an empty numba cache")
    parser.add_argument("--threshold", nargs="*", type=int, default=None, metavar="N",
                        help="measure exact kNN vs nn-descent at these sizes (default 5k 10k 20k 40k)")
    parser.add_argument("--tw-sample", type=int, default=0, help="trustworthiness on this many rows (0: all)")
    parser.add_argument("--gpu", action="store_true", help="only the GPU checks (a CUDA machine)")
    args = parser.parse_args()
    import torch

    if args.gpu:
        report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"}
        print(report["machine"])
        gpu_check(args.big, report)
        print(json.dumps(report))
        return 0

    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
                         f"load before {os.getloadavg()[0]:.1f}"}
    print(report["machine"])
    if args.threshold is not None:
        threshold(args.threshold or [5_000, 10_000, 20_000, 40_000], report)
    end_to_end(args.n, args.cold_numba, args.tw_sample, report)
    if not args.skip_big:
        big(args.big, report)
    in_process(args.big, args.n, report)
    report["load_after"] = round(os.getloadavg()[0], 1)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
