"""Projection speed: mmstudio's map (exact UMAP, or a landmark map above a size) vs plain umap-learn.

Data (``embedding_like``): N × d float32 vectors that look like a multimodal model's embeddings: 60
clusters of Zipf-like sizes grouped under 8 broader topics, each with a low-rank spread of its own
(rank 12) plus isotropic noise, every row one of three modalities shifted by that modality's offset
(the modality gap), L2-normalised; fixed seed. Within a cluster cos ≈ 0.35 (same modality) / 0.28
(across), between clusters ≈ 0.04; no principal axis holds more than 4% of the variance.

Targets (Step 15), each side a fresh process (start, imports, reading, the map, writing), run one
after the other in this run; wall and CPU seconds (the child's own, from ``wait4``), its peak resident memory
(``VmHWM``) and the load average before and after are recorded for each side:

- ``--targets 10k``: 10,000 × 512 end to end, plain ``umap.UMAP(metric="cosine").fit_transform`` vs
  ``mmstudio project --no-cache`` (mmstudio twice: the first fills numba's disk cache if it is empty;
  the second is compared). Target ≥ 8×.
- ``--targets 100k``: 100,000 × 512 end to end, the same two; target ≥ 8× and trustworthiness (15
  neighbours, cosine, on a fixed 5,000-row subsample) within 0.02 of the baseline's.
- ``--targets 1m``: 1,000,000 × 128: ``mmstudio project`` (target: map written in ≤ 180 s, peak memory
  ≤ 8 GB; trustworthiness on the subsample within 0.03 of a full UMAP of the subsample) and plain
  umap-learn under a time limit (``--plain-limit``, default 1,800 s) and a memory limit (``--plain-mb``)
  enforced by a watchdog that kills it: what happened is reported.
- ``--landmark-threshold N ...``: in one warm process, the exact path vs the landmark path at these sizes
  (wall, CPU, trustworthiness): where the landmark map starts paying (``LANDMARK_MIN_ROWS``).
- ``--refinement N``: the landmark map of N rows with and without the refinement pass (``REFINE``).
- ``--in-process``: PCA preview of 100,000 × 512 (target ≤ 0.5 s) and adding 100 points to a 10,000-point
  map (target ≤ 1 s), as before.
- ``--knn-threshold N ...``: exact kNN vs umap-learn's nearest-neighbour descent (compiled) by size.

    python benchmarks/projection.py --targets 10k 100k [--targets 1m] [--in-process]
    python benchmarks/projection.py --landmark-threshold 10000 20000 50000
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
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work" / "projection"
MODALITIES = np.array(["image", "text", "audio"], dtype=object)
TW_ROWS = 5000


def embedding_like(n: int, d: int = 512, seed: int = 0, clusters: int = 60):
    """``(vectors, cluster labels, modality codes)``; see the module's note."""
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((8, d))
    topics /= np.linalg.norm(topics, axis=1, keepdims=True)
    centres = topics[rng.integers(0, 8, clusters)] + 0.8 * rng.standard_normal((clusters, d)) / np.sqrt(d)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    sizes = 1.0 / np.arange(1, clusters + 1) ** 0.7
    labels = rng.choice(clusters, n, p=sizes / sizes.sum())
    gap = rng.standard_normal((3, d))
    gap /= np.linalg.norm(gap, axis=1, keepdims=True)
    modality = rng.integers(0, 3, n)
    rank = 12
    bases = rng.standard_normal((clusters, rank, d)).astype(np.float32) / np.sqrt(d)
    scales = (0.9 / np.sqrt(np.arange(1, rank + 1))).astype(np.float32)
    x = np.empty((n, d), np.float32)
    for s in range(0, n, 50_000):
        part = labels[s:s + 50_000]
        z = rng.standard_normal((len(part), rank)).astype(np.float32) * scales
        v = np.einsum("nr,nrd->nd", z, bases[part])
        v += centres[part] + 0.45 * gap[modality[s:s + 50_000]]
        v += 0.35 * rng.standard_normal((len(part), d)).astype(np.float32) / np.sqrt(d)
        x[s:s + len(part)] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return x, labels, modality


def clustered(n: int, d: int = 512, k: int = 30, spread: float = 1.0, seed: int = 0):
    """The earlier data (30 isotropic clusters): the kNN threshold and the GPU check use it."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, d)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(0, k, n)
    x = centres[labels] + spread * rng.standard_normal((n, d)).astype(np.float32) / np.sqrt(d)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


def data_file(n: int, d: int = 512, seed: int = 0) -> Path:
    """The vectors as .npy (what the baseline reads) and as an mmstudio table (.npz, with modalities)."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"emb{n}x{d}_s{seed}.npy"
    table = table_path(path)
    if not path.exists() or not table.exists():
        sys.path.insert(0, str(ROOT))
        from mmstudio.core.tables.table import EmbeddingTable

        x, _, modality = embedding_like(n, d, seed)
        np.save(path, x)
        ids = np.array([f"p{i}" for i in range(n)], dtype=object)
        EmbeddingTable(ids, MODALITIES[modality], ids, np.full(n, None, dtype=object), x).write(table)
    return path


def table_path(npy: Path) -> Path:
    return npy.with_name(npy.stem + "_table.npz")


def tw_rows(n: int) -> np.ndarray:
    """The fixed subsample trustworthiness is measured on."""
    return np.sort(np.random.default_rng(0).choice(n, min(n, TW_ROWS), replace=False))


# --- the two sides, each run in its own fresh process ------------------------------------------
BASELINE = """
import sys, time, json, numpy as np
x = np.load(sys.argv[1])
import umap
reducer = umap.UMAP(metric="cosine")
y = reducer.fit_transform(x)
np.save(sys.argv[2], y)
print(json.dumps({"fitted": time.time()}), flush=True)
"""


def run_child(cmd: list[str], *, env=None, limit_s: float | None = None, limit_mb: float | None = None) -> dict:
    """Run ``cmd`` in a fresh process: wall seconds, the child's CPU seconds (``wait4``), its peak resident
    memory (``VmHWM``, read every 0.1 s), the load average before and after, its output; killed past
    ``limit_s`` seconds or ``limit_mb`` MB resident."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        load_before = os.getloadavg()[0]
        start = time.time()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT, env=dict(env or os.environ, PYTHONPATH=str(ROOT)))
        killed: list[str] = []
        peak = [0.0]
        stop = threading.Event()

        def watch():
            while not stop.wait(0.1):
                rss, hwm = _memory_mb(proc.pid)
                peak[0] = max(peak[0], hwm)
                if limit_s is not None and time.time() - start > limit_s:
                    killed.append(f"time limit {limit_s:.0f} s")
                elif limit_mb is not None and rss > limit_mb:
                    killed.append(f"memory limit {limit_mb:,.0f} MB")
                else:
                    continue
                proc.kill()
                return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.time() - start
        stop.set()
        watcher.join()
        out.seek(0)
        err.seek(0)
        return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
                "peak_mb": round(peak[0], 1), "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                "rc": proc.returncode, "killed": killed[0] if killed else "", "stdout": out.read(), "stderr": err.read(),
                "start": start}


def _memory_mb(pid: int) -> tuple[float, float]:
    """The process's resident memory now and its peak (``VmRSS``, ``VmHWM``), in MB. (``wait4``'s
    ``ru_maxrss`` will not do: Linux carries the parent's peak over the child's ``exec``.)"""
    found = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for row in f:
                if row.startswith(("VmRSS:", "VmHWM:")):
                    found[row[:5]] = int(row.split()[1]) / 1024
    except OSError:
        pass
    return found.get("VmRSS", 0.0), found.get("VmHWM", 0.0)


def baseline(npy: Path, out: Path, **limits) -> dict:
    """Plain umap-learn in a fresh process, timed from its start to the layout saved (its exit is not
    counted, which favours it by that much)."""
    r = run_child([sys.executable, "-c", BASELINE, str(npy), str(out)], **limits)
    if r["rc"] == 0:
        fitted = json.loads(r["stdout"].strip().splitlines()[-1])["fitted"]
        r["exit_s"] = round(r["start"] + r["wall_s"] - fitted, 2)
        r["wall_s"] = round(fitted - r["start"], 2)
    return r


def mmstudio(table: Path, out: Path, env=None, extra=()) -> dict:
    """``python -m mmstudio project TABLE --out OUT --no-cache``, as a user runs it (exit included)."""
    r = run_child([sys.executable, "-m", "mmstudio", "project", str(table), "--out", str(out), "--no-cache", *extra],
                  env=env)
    if r["rc"]:
        raise SystemExit(f"mmstudio project failed:\n{r['stderr'][-3000:]}")
    r["summary"] = " / ".join(ln.strip() for ln in r["stderr"].splitlines() if ln.startswith(("projected", "  steps")))
    return r


def trust(x, y, rows) -> float:
    from sklearn.manifold import trustworthiness

    return float(trustworthiness(x[rows], y[rows], n_neighbors=15, metric="cosine"))


def _xy(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as data:
        return np.stack([data["column/x"], data["column/y"]], axis=1).astype(np.float32)


def side(name: str, r: dict) -> str:
    extra = f"; {r['summary']}" if r.get("summary") else ""
    extra += f"; killed: {r['killed']}" if r.get("killed") else ""
    return (f"  {name:<22} wall {r['wall_s']:8.2f} s  CPU {r['cpu_s']:8.2f} s  peak {r['peak_mb'] / 1024:5.2f} GB  "
            f"load {r['load'][0]:.1f} → {r['load'][1]:.1f}{extra}")


def compact(r: dict) -> dict:
    return {k: v for k, v in r.items() if k not in ("stdout", "stderr", "start")}


def versus_plain(n: int, d: int, report: dict, cold_numba: bool) -> None:
    """``n`` × ``d``: plain umap-learn vs ``mmstudio project`` end to end, trustworthiness of both."""
    npy = data_file(n, d)
    table = table_path(npy)
    base_y, ours = WORK / f"baseline_y{n}x{d}.npy", WORK / f"mmstudio_{n}x{d}.npz"
    runs = {}
    if cold_numba:
        with tempfile.TemporaryDirectory() as empty:
            runs["mmstudio, empty numba cache"] = mmstudio(table, ours, dict(os.environ, NUMBA_CACHE_DIR=empty))
    runs["mmstudio, 1st run"] = mmstudio(table, ours)
    runs["baseline"] = baseline(npy, base_y)
    runs["mmstudio"] = mmstudio(table, ours)
    if runs["baseline"]["rc"]:
        raise SystemExit(f"baseline failed:\n{runs['baseline']['stderr'][-3000:]}")
    x = np.load(npy)
    rows = tw_rows(n)
    tw_base, tw_ours = trust(x, np.load(base_y), rows), trust(x, _xy(ours), rows)
    print(f"{n:,} × {d}, end to end (fresh processes):")
    for name, r in runs.items():
        print(side(name, r))
    wall, cpu = runs["baseline"]["wall_s"] / runs["mmstudio"]["wall_s"], runs["baseline"]["cpu_s"] / runs["mmstudio"]["cpu_s"]
    print(f"  ratio baseline / mmstudio: wall {wall:.2f}×, CPU {cpu:.2f}×   (target ≥ 8×)")
    print(f"  trustworthiness on {len(rows):,} rows: baseline {tw_base:.4f}, mmstudio {tw_ours:.4f} "
          f"(difference {tw_ours - tw_base:+.4f}; target within 0.02 at 100,000 rows)")
    report[f"{n}x{d}"] = {"runs": {k: compact(v) for k, v in runs.items()}, "ratio_wall": round(wall, 2),
                          "ratio_cpu": round(cpu, 2), "tw_baseline": round(tw_base, 4), "tw_mmstudio": round(tw_ours, 4),
                          "tw_rows": len(rows)}
    if n <= 20_000:
        floor(runs, report[f"{n}x{d}"])


def floor(runs: dict, entry: dict) -> None:
    """What no change to mmstudio's exact path removes: the interpreter's start, importing what umap-learn's
    layout needs (``umap_fit.umap_module``: umap-learn, and with it scikit-learn, SciPy, numba, pynndescent —
    each umap submodule loads the package's __init__, which imports them all) and umap-learn's own layout
    epochs, against an 8× target's budget; the rest of the run is the kNN, the graph, reading and writing."""
    bare = run_child([sys.executable, "-c", "pass"])
    imports = run_child([sys.executable, "-c", "from mmstudio.analysis.projection.umap_fit import umap_module; umap_module()"])
    steps = dict(part.split(" ")[:2] for part in runs["mmstudio"]["summary"].split("steps: ")[-1].split(", "))
    layout = float(steps.get("layout", "nan"))
    budget = runs["baseline"]["wall_s"] / 8
    fixed = bare["wall_s"] + imports["wall_s"] + layout
    print(f"  floor: python start {bare['wall_s']:.2f} s + importing umap-learn {imports['wall_s']:.2f} s (CPU "
          f"{imports['cpu_s']:.2f}) + umap-learn's 200 layout epochs {layout:.2f} s = {fixed:.2f} s; the rest of "
          f"mmstudio's run {runs['mmstudio']['wall_s'] - fixed:.2f} s; an 8× target allows {budget:.2f} s in all")
    entry["floor"] = {"python_s": bare["wall_s"], "import_umap_s": imports["wall_s"], "import_umap_cpu_s": imports["cpu_s"],
                      "layout_s": layout, "budget_8x_s": round(budget, 2)}


def million(n: int, d: int, report: dict, plain_limit: float, plain_mb: float, skip_plain: bool) -> None:
    """``n`` × ``d``: the landmark map end to end (time, peak memory), its trustworthiness on the subsample
    against a full UMAP of the subsample; then plain umap-learn within limits."""
    npy = data_file(n, d)
    ours = WORK / f"mmstudio_{n}x{d}.npz"
    r = mmstudio(table_path(npy), ours)
    x = np.load(npy, mmap_mode="r")
    rows = tw_rows(n)
    sub = np.ascontiguousarray(x[rows])
    t = time.perf_counter()
    import umap

    sub_y = umap.UMAP(metric="cosine").fit_transform(sub)
    sub_s = time.perf_counter() - t
    from sklearn.manifold import trustworthiness

    tw_ours = float(trustworthiness(sub, _xy(ours)[rows], n_neighbors=15, metric="cosine"))
    tw_sub = float(trustworthiness(sub, sub_y, n_neighbors=15, metric="cosine"))
    print(f"{n:,} × {d}, end to end (fresh process):")
    print(side("mmstudio", r))
    print(f"  map written in {r['wall_s']:.1f} s (target ≤ 180 s), peak memory {r['peak_mb'] / 1024:.2f} GB (target ≤ 8 GB)")
    print(f"  trustworthiness on {len(rows):,} rows: mmstudio's map {tw_ours:.4f}, a full UMAP of those rows "
          f"{tw_sub:.4f} ({sub_s:.1f} s; difference {tw_ours - tw_sub:+.4f}, target within 0.03)")
    entry = {"mmstudio": compact(r), "tw_mmstudio": round(tw_ours, 4), "tw_umap_of_subsample": round(tw_sub, 4)}
    if not skip_plain:
        plain = baseline(npy, WORK / f"baseline_y{n}x{d}.npy", limit_s=plain_limit, limit_mb=plain_mb)
        print(side("plain umap-learn", plain))
        if plain["rc"] == 0:
            tw_plain = trust(np.asarray(x), np.load(WORK / f"baseline_y{n}x{d}.npy"), rows)
            print(f"  plain umap-learn finished; trustworthiness on the subsample {tw_plain:.4f}")
            entry["tw_plain"] = round(tw_plain, 4)
        else:
            why = plain["killed"] or f"exit code {plain['rc']}: {plain['stderr'].strip().splitlines()[-1:]}"
            print(f"  plain umap-learn did not finish: {why}")
        entry["plain"] = compact(plain)
    report[f"{n}x{d}"] = entry


def refinement(n: int, report: dict) -> None:
    """In one warm process: the landmark map of ``n`` × 512 with and without the refinement pass (umap-learn's
    layout optimisation of the placed rows against the fixed landmarks, as its ``transform`` runs it)."""
    sys.path.insert(0, str(ROOT))
    from mmstudio.analysis.projection import landmark_map as lmap
    from mmstudio.analysis.projection.project import landmark_count

    warm = embedding_like(3000, 512, seed=5)
    lmap.landmark_map(warm[0], 1000, snapshots=0, preview=False, refine=True)
    x, _, modality = embedding_like(n, 512, seed=1)
    rows = tw_rows(n)
    out = []
    for epochs in (None, 20, 66):
        lmap.REFINE_EPOCHS = epochs or 0
        load = os.getloadavg()[0]
        t, c = time.perf_counter(), time.process_time()
        fit = lmap.landmark_map(x, landmark_count(n), groups=modality, snapshots=0, preview=False, refine=epochs is not None)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        tw = trust(x, fit.xy, rows)
        name = "no refinement" if epochs is None else f"refined, {epochs} epochs"
        print(f"  {n:,} {name:<22} wall {wall:7.2f} s  CPU {cpu:7.2f} s  refinement {fit.timing.get('refine', 0):6.2f} s  "
              f"trustworthiness {tw:.4f}  load {load:.1f}", flush=True)
        out.append({"refine_epochs": epochs, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "tw": round(tw, 4),
                    "refine_s": round(fit.timing.get("refine", 0), 2), "load": round(load, 1)})
    lmap.REFINE_EPOCHS = 0
    report["refinement"] = out


def landmark_threshold(sizes: list[int], report: dict) -> None:
    """In one warm process: the exact path vs the landmark path (``landmark_count(n)`` landmarks)."""
    sys.path.insert(0, str(ROOT))
    from sklearn.manifold import trustworthiness

    from mmstudio.analysis.projection.project import landmark_count, project

    warm = embedding_like(3000, 512, seed=5)[0]
    project(warm, cache=False, landmarks=None, snapshots=0)
    project(warm, cache=False, landmarks=1000, snapshots=0)
    rows_out = []
    for n in sizes:
        x, _, modality = embedding_like(n, 512, seed=1)
        rows = tw_rows(n)
        entry = {"n": n, "landmarks": landmark_count(n)}
        for name, option in (("exact", None), ("landmarks", landmark_count(n))):
            if option is not None and option >= n:
                continue
            load = os.getloadavg()[0]
            t, c = time.perf_counter(), time.process_time()
            result = project(x, cache=False, landmarks=option, groups=MODALITIES[modality], snapshots=0)
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            tw = float(trustworthiness(x[rows], result.xy[rows], n_neighbors=15, metric="cosine"))
            entry[name] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "tw": round(tw, 4),
                           "load": [round(load, 1), round(os.getloadavg()[0], 1)]}
            print(f"  {n:>9,} {name:<9} wall {wall:7.2f} s  CPU {cpu:7.2f} s  trustworthiness {tw:.4f}  "
                  f"load {load:.1f}", flush=True)
        rows_out.append(entry)
    report["landmark_threshold"] = rows_out


def line(what: str, value: float, target: str, ratio: float | None = None, unit: str = "s") -> str:
    extra = f"  ratio {ratio:.2f}" if ratio is not None else ""
    return f"{what:<58} {value:9.3f} {unit}   target {target}{extra}"


def _fmt(timing: dict) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in timing.items())


def in_process(n_big: int, n_map: int, report: dict) -> None:
    """PCA preview of ``n_big`` × 512 and 100 points added to an ``n_map``-point map, in this process."""
    sys.path.insert(0, str(ROOT))
    from mmstudio.analysis.projection.project import pca_2d, place_points, project

    x = np.load(data_file(n_big))
    pca_2d(x[:2000])
    times = []
    for _ in range(3):
        t = time.perf_counter()
        pca_2d(x)
        times.append(time.perf_counter() - t)
    print(line(f"PCA preview {n_big:,} x 512 (best of 3)", min(times), "≤ 0.5 s", 0.5 / min(times)))
    report.update({"pca_s": round(min(times), 3), "pca_all_s": [round(v, 3) for v in times]})
    map_x = np.load(data_file(n_map))
    map_xy = project(map_x, cache=False, snapshots=0).xy
    new = embedding_like(100, 512, seed=99)[0]
    place_points(map_x, map_xy, new[:5])
    times = []
    for _ in range(3):
        t = time.perf_counter()
        placed = place_points(map_x, map_xy, new)
        times.append(time.perf_counter() - t)
    assert placed.shape == (100, 2)
    print(line(f"add 100 points to a {n_map:,}-point map (best of 3)", min(times), "≤ 1 s", 1 / min(times)))
    report.update({"add100_s": round(min(times), 4)})


def knn_threshold(sizes: list[int], report: dict) -> None:
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
    report.update({"knn_threshold": rows, "nn_descent_compile_s": round(compile_s, 1)})


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
    parser.add_argument("--targets", nargs="*", default=[], choices=("10k", "100k", "1m"),
                        help="the end-to-end comparisons to run (see above)")
    parser.add_argument("--cold-numba", action="store_true", help="also run mmstudio with an empty numba cache")
    parser.add_argument("--plain-limit", type=float, default=1800, help="plain umap-learn at 1M: seconds allowed")
    parser.add_argument("--plain-mb", type=float, default=24 * 1024, help="plain umap-learn at 1M: resident MB allowed")
    parser.add_argument("--skip-plain", action="store_true", help="1M: no plain umap-learn run")
    parser.add_argument("--landmark-threshold", nargs="*", type=int, default=None, metavar="N")
    parser.add_argument("--refinement", type=int, default=0, metavar="N",
                        help="the landmark map of N rows with and without the refinement pass")
    parser.add_argument("--in-process", action="store_true", help="PCA preview and adding points")
    parser.add_argument("--knn-threshold", nargs="*", type=int, default=None, metavar="N",
                        help="exact kNN vs nn-descent at these sizes (default 5k 10k 20k 40k)")
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--gpu", action="store_true", help="only the GPU checks (a CUDA machine)")
    args = parser.parse_args()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GB"
    report = {"machine": machine, "load_before": [round(v, 2) for v in os.getloadavg()]}
    print(machine, "load", report["load_before"], flush=True)
    if args.gpu:
        gpu_check(args.big, report)
        print(json.dumps(report))
        return 0
    if args.knn_threshold is not None:
        knn_threshold(args.knn_threshold or [5_000, 10_000, 20_000, 40_000], report)
    if args.landmark_threshold is not None:
        landmark_threshold(args.landmark_threshold or [10_000, 15_000, 20_000, 30_000, 50_000], report)
    if args.refinement:
        refinement(args.refinement, report)
    for target in args.targets:
        if target == "1m":
            million(1_000_000, 128, report, args.plain_limit, args.plain_mb, args.skip_plain)
        else:
            versus_plain(10_000 if target == "10k" else 100_000, 512, report, args.cold_numba)
    if args.in_process:
        in_process(args.big, 10_000, report)
    report["load_after"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
