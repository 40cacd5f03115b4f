"""Encoding on Ray vs the single-process engine, same files, one run; and opening a million-row shard folder.

Both engines encode the same demo world (``make_world``: PNG + WAV + TXT per scene, a manifest)
with the built-in model, without the cache, each in a fresh process started like ``mmstudio``
(``OMP_WAIT_POLICY=PASSIVE``). The local engine is ``embed_dataset`` + one Parquet file; the Ray
engine is ``embed_with_ray`` on a local Ray instance with all of this machine's CPUs, timed
with and without starting Ray. Their vectors are compared row by row.

The second part writes N synthetic rows (128-d, ids, paths, labels, two metadata columns) as
Parquet shards of 100,000 rows and as one file, and times ``EmbeddingTable.read`` of each.

    python benchmarks/distributed.py [--scenes 1700] [--workers N] [--open-rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"


def world(scenes: int) -> Path:
    from mmstudio.demo.make import make_world

    folder = WORK / f"world-{scenes}"
    if not (folder / "manifest.csv").is_file():
        make_world(folder, n=scenes, seed=11)
    return folder


def run_part(args) -> dict:
    """In a fresh process: one engine, timed."""
    out = Path(args.out)
    if args.part == "local":
        from mmstudio.core.sources.inputs import load_paths
        from mmstudio.encoders.embed import embed_dataset
        from mmstudio.encoders.registry import load_encoder

        start = time.perf_counter()
        encoder = load_encoder("builtin", device="cpu")
        table = embed_dataset(load_paths([args.world]), encoder)
        table.write(out)
        return {"seconds": time.perf_counter() - start, "rows": len(table), "errors": len(table.errors)}
    import ray

    from mmstudio.encoders.distributed.engine import embed_with_ray

    start = time.perf_counter()
    ray.init(include_dashboard=False, logging_level="WARNING")
    started = time.perf_counter()
    result = embed_with_ray([args.world], out, "builtin", cache=False, device="cpu", workers=args.workers)
    done = time.perf_counter()
    cpus = ray.cluster_resources().get("CPU")
    ray.shutdown()
    return {"seconds": done - start, "encode_seconds": done - started, "init_seconds": started - start,
            "rows": result.rows, "errors": len(result.errors), "shards": len(result.files), "cpus": cpus}


def spawn(part: str, folder: Path, out: Path, workers) -> dict:
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))
    cmd = [sys.executable, __file__, "--part", part, "--world", str(folder), "--out", str(out)]
    if workers:
        cmd += ["--workers", str(workers)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if proc.returncode != 0:
        sys.exit(f"{part} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(local_file: Path, shard_folder: Path) -> float:
    from mmstudio.core.tables.table import EmbeddingTable

    a, b = EmbeddingTable.read(local_file), EmbeddingTable.read(shard_folder)
    index = {k: i for i, k in enumerate(zip(b.sample_id, b.modality))}
    rows = np.array([index[k] for k in zip(a.sample_id, a.modality)])
    assert len(a) == len(b) and len(a.errors) == len(b.errors)
    return float(np.abs(a.vectors - b.vectors[rows]).max())


def synthetic_shards(rows: int, folder: Path, single: Path, per_shard: int = 100_000) -> None:
    from mmstudio.core.tables.table import EmbeddingTable

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    modalities = np.array(["image", "audio", "text"], dtype=object)
    parts = []
    for i, start in enumerate(range(0, rows, per_shard)):
        n = min(per_shard, rows - start)
        vectors = rng.standard_normal((n, 128), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        ids = np.array([f"s{j // 3:07d}" for j in range(start, start + n)], dtype=object)
        table = EmbeddingTable(ids, modalities[np.arange(start, start + n) % 3],
                               np.array([f"/data/corpus/{s}.png" for s in ids], dtype=object),
                               np.array(["circle", "square", "star"], dtype=object)[rng.integers(0, 3, n)], vectors,
                               {"color": np.array(["red", "green"], dtype=object)[rng.integers(0, 2, n)],
                                "size": rng.random(n)}, model="builtin", info={"identity": "synthetic"})
        table.write(folder / f"part-{i:05d}.parquet")
        parts.append(table)
    EmbeddingTable.concat(parts).write(single)


def time_open(path: Path, repeats: int = 3) -> tuple[list[float], int]:
    """Each time in a fresh process (nothing imported or cached in Python), page cache warm; sorted times."""
    code = ("import time; t = time.perf_counter(); from mmstudio.core.tables.table import EmbeddingTable; "
            f"tab = EmbeddingTable.read({str(path)!r}); print(time.perf_counter() - t, len(tab))")
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        times.append(float(out[0]))
    return sorted(times), int(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=1700, help="demo scenes (3 files each; default 1700 ≈ 5,000)")
    parser.add_argument("--workers", type=int, default=None, help="Ray encoder actors (default: half the CPUs)")
    parser.add_argument("--open-rows", type=int, default=1_000_000, help="rows of the shard-folder open test (0: skip)")
    parser.add_argument("--part", choices=("local", "ray"), help=argparse.SUPPRESS)
    parser.add_argument("--world", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        print(json.dumps(run_part(args)))
        return
    import torch

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"python {platform.python_version()}")
    if args.scenes:
        folder = world(args.scenes)
        items = 3 * args.scenes
        local = spawn("local", folder, WORK / "dist-local.parquet", None)
        ray_ = spawn("ray", folder, WORK / "dist-shards", args.workers)
        import ray as ray_module

        diff = compare(WORK / "dist-local.parquet", WORK / "dist-shards")
        lps, rps, rps_e2e = items / local["seconds"], items / ray_["encode_seconds"], items / ray_["seconds"]
        print(f"files: {items} ({args.scenes} scenes), ray {ray_module.__version__}, {ray_['cpus']:g} Ray CPUs, "
              f"{ray_['shards']} shards")
        print(f"local engine: {local['seconds']:.1f} s = {lps:.1f} items/s")
        print(f"ray engine:   {ray_['encode_seconds']:.1f} s = {rps:.1f} items/s "
              f"(+ {ray_['init_seconds']:.1f} s starting Ray: {rps_e2e:.1f} items/s end to end)")
        print(f"ratio ray/local: {rps / lps:.2f}× ({rps_e2e / lps:.2f}× with start-up); "
              f"max |Δ| between their vectors: {diff:.1e}")
    if args.open_rows:
        folder, single = WORK / f"shards-{args.open_rows}", WORK / f"single-{args.open_rows}.parquet"
        if not single.is_file():
            synthetic_shards(args.open_rows, folder, single)
        shard_s, n = time_open(folder)
        single_s, _ = time_open(single)
        print(f"open {n:,} rows × 128-d (best / median of {len(shard_s)}, fresh processes): shard folder "
              f"({len(list(folder.glob('*.parquet')))} shards) {shard_s[0]:.2f} / {shard_s[len(shard_s) // 2]:.2f} s, "
              f"one file {single_s[0]:.2f} / {single_s[len(single_s) // 2]:.2f} s; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
