"""Encoding on Ray vs the single-process engine, same files, one run; what each stage costs per item;
and opening a million-row shard folder.

Both engines encode the same demo world (``make_world``: PNG + WAV + TXT per scene, a manifest)
with the built-in model, without the cache, each in a fresh process started like ``mmstudio``
(``OMP_WAIT_POLICY=PASSIVE``). The local engine is ``embed_dataset`` + one Parquet file; the Ray
engine is ``embed_with_ray`` on a local Ray instance with all of this machine's CPUs, timed
with and without starting Ray. Their vectors are compared row by row. ``--before REV`` runs both
engines a second time from the code of git revision REV (exported into ``benchmarks/_work``), the
two trees alternating round by round (``--rounds``). CPU seconds are those of each part's whole
process tree, Ray's daemons and workers included: this process becomes their subreaper and
collects them when they exit. The load average is sampled around every part (the machine is shared).

``--costs N``: per item, on one thread (thread CPU time), for N demo scenes with the built-in model
and N photo-like 640×480 JPEGs + captions with a CLIP-shaped 224 px model (random weights): decoding,
preparing (the decode tasks' work since the preparing moved out of the actors), the model, and the
pickled bytes of a decoded item and of a prepared one (what the object store carries).

The last part writes N synthetic rows (128-d, ids, paths, labels, two metadata columns) as
Parquet shards of 100,000 rows and as one file, and times ``EmbeddingTable.read`` of each.

    python benchmarks/distributed.py [--scenes 1700] [--workers N] [--before REV] [--rounds 1]
                                     [--costs 200] [--open-rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import resource
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
    import mmstudio

    if args.part == "local":
        from mmstudio.core.sources.inputs import load_paths
        from mmstudio.encoders.embed import embed_dataset
        from mmstudio.encoders.registry import load_encoder

        start = time.perf_counter()
        encoder = load_encoder("builtin", device="cpu")
        table = embed_dataset(load_paths([args.world]), encoder)
        table.write(out)
        return {"seconds": time.perf_counter() - start, "rows": len(table), "errors": len(table.errors),
                "code": str(Path(mmstudio.__file__).parent)}
    import ray

    from mmstudio.encoders.distributed.engine import embed_with_ray

    start = time.perf_counter()
    ray.init(include_dashboard=False, logging_level="WARNING")
    started = time.perf_counter()
    result = embed_with_ray([args.world], out, "builtin", cache=False, device="cpu", workers=args.workers)
    done = time.perf_counter()
    cpus = ray.cluster_resources().get("CPU")
    worker_code = ray.get(ray.remote(_code).remote())
    ray.shutdown()
    return {"seconds": done - start, "encode_seconds": done - started, "init_seconds": started - start,
            "rows": result.rows, "errors": len(result.errors), "shards": len(result.files), "cpus": cpus,
            "code": str(Path(mmstudio.__file__).parent), "worker_code": worker_code}


def _code() -> str:
    import mmstudio

    return str(Path(mmstudio.__file__).parent)


def _reaper() -> None:
    """Make this process the subreaper of its descendants (Linux), so that Ray's daemons and workers,
    orphaned when their parents exit, are collected here and their CPU time counted in RUSAGE_CHILDREN."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _reap(deadline: float = 60.0) -> int:
    """Wait for every descendant left; the number still running after ``deadline`` seconds (not counted)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return 0
        if pid == 0:
            time.sleep(0.1)
    return len([p for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p) == os.getpid()])


def _parent(proc: Path) -> int:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def spawn(part: str, folder: Path, out: Path, workers, tree: Path = ROOT) -> dict:
    """One part in a fresh process importing mmstudio from ``tree``; its wall time, its process tree's CPU
    seconds and the load average around it."""
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"), PYTHONPATH=str(tree))
    cmd = [sys.executable, __file__, "--part", part, "--world", str(folder), "--out", str(out)]
    if workers:
        cmd += ["--workers", str(workers)]
    load, cpu = os.getloadavg()[0], _children_cpu()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600, cwd=tree)
    left = _reap()
    if proc.returncode != 0:
        sys.exit(f"{part} failed:\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    codes = {result["code"], result.get("worker_code", result["code"])}
    if codes != {str(tree / "mmstudio")}:
        sys.exit(f"{part} ran {codes}, not {tree / 'mmstudio'}")
    result.update(cpu_seconds=_children_cpu() - cpu, load=(load, os.getloadavg()[0]), left_running=left)
    return result


def export_tree(rev: str) -> Path:
    """mmstudio/ as it was at git revision ``rev``, in benchmarks/_work/before-<commit>/."""
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    folder = WORK / f"before-{commit}"
    if not (folder / "mmstudio").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", commit, "mmstudio"], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def compare(local_file: Path, shard_folder: Path) -> float:
    from mmstudio.core.tables.table import EmbeddingTable

    a, b = EmbeddingTable.read(local_file), EmbeddingTable.read(shard_folder)
    index = {k: i for i, k in enumerate(zip(b.sample_id, b.modality))}
    rows = np.array([index[k] for k in zip(a.sample_id, a.modality)])
    assert len(a) == len(b) and len(a.errors) == len(b.errors)
    return float(np.abs(a.vectors - b.vectors[rows]).max())


def engines(args) -> None:
    folder = world(args.scenes)
    items = 3 * args.scenes
    trees = [("after", ROOT)] + ([(f"before ({args.before})", export_tree(args.before))] if args.before else [])
    runs: dict = {name: [] for name, _ in trees}
    for r in range(args.rounds):
        for name, tree in (trees if r % 2 == 0 else trees[::-1]):
            tag = name.split()[0]
            local = spawn("local", folder, WORK / f"dist-local-{tag}.parquet", None, tree)
            ray_ = spawn("ray", folder, WORK / f"dist-shards-{tag}", args.workers, tree)
            diff = compare(WORK / f"dist-local-{tag}.parquet", WORK / f"dist-shards-{tag}")
            runs[name].append((local, ray_, diff))
    import ray as ray_module

    print(f"files: {items} ({args.scenes} scenes), ray {ray_module.__version__}, {runs['after'][0][1]['cpus']:g} Ray CPUs, "
          f"{runs['after'][0][1]['shards']} shards; CPU s = the part's whole process tree (Ray's daemons and workers too)")
    for name, rounds in runs.items():
        for local, ray_, diff in rounds:
            lps, rps, rps_e2e = items / local["seconds"], items / ray_["encode_seconds"], items / ray_["seconds"]
            print(f"[{name}] local: {local['seconds']:.1f} s, {local['cpu_seconds']:.1f} CPU s = {lps:.1f} items/s "
                  f"(load {local['load'][0]:.1f}→{local['load'][1]:.1f}) | ray: {ray_['encode_seconds']:.1f} s = "
                  f"{rps:.1f} items/s (+ {ray_['init_seconds']:.1f} s starting Ray: {rps_e2e:.1f} items/s), "
                  f"{ray_['cpu_seconds']:.1f} CPU s (load {ray_['load'][0]:.1f}→{ray_['load'][1]:.1f}) | "
                  f"ray/local {rps / lps:.2f}× ({rps_e2e / lps:.2f}× with start-up), CPU ray/local "
                  f"{ray_['cpu_seconds'] / local['cpu_seconds']:.2f}×; max |Δ| vs the local vectors {diff:.1e}"
                  + (f"; {ray_['left_running']} Ray processes not collected" if ray_["left_running"] else ""))


def _per_item_ms(seconds: float, n: int) -> float:
    return 1000 * seconds / max(n, 1)


def stage_costs(scenes: int) -> list[dict]:
    """One thread: decode, prepare, model per item (thread CPU ms), pickled bytes decoded vs prepared."""
    import torch

    from mmstudio.core.sources.inputs import load_paths
    from mmstudio.encoders.embed import decode_item
    from mmstudio.encoders.prepared import split_prepared
    from mmstudio.encoders.registry import load_encoder

    torch.set_num_threads(1)
    sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests")]
    import tiny_models
    from encode import make_images, make_texts

    clip = WORK / "clip-224-32-w128-l2"
    tiny_models.build_tiny_clip(clip, image_size=224, patch_size=32, hidden=128, layers=2, heads=4, proj_dim=128)
    demo = load_paths([world(scenes)])
    photos = load_paths([*make_images(WORK / "images", scenes), *make_texts(WORK / "texts", scenes)])
    rows = []
    for label, model, dataset in (("built-in model, demo world", "builtin", demo),
                                  ("CLIP-shaped 224/32 (random weights), 640×480 JPEGs + captions", str(clip), photos)):
        encoder = load_encoder(model, device="cpu", precision="fp32")
        preparer = encoder.without_model()
        for modality in encoder.modalities:
            refs = [s.items[modality] for s in dataset.samples if modality in s.items][:scenes]
            if not refs:
                continue
            size = encoder.batch_size(modality)
            t = time.thread_time()
            media = [decode_item(ref, preparer)[0] for ref in refs]
            decode = time.thread_time() - t
            prepare = model_s = 0.0
            prepared_bytes = []
            encoder.encode(modality, preparer.prepare(modality, media[:size]))  # warm-up
            for start in range(0, len(media), size):
                t = time.thread_time()
                batch = preparer.prepare(modality, media[start:start + size])
                items = split_prepared(batch, len(media[start:start + size]))
                prepare += time.thread_time() - t
                prepared_bytes += [len(pickle.dumps(i, protocol=pickle.HIGHEST_PROTOCOL)) for i in items]
                t = time.thread_time()
                encoder.encode(modality, batch)
                model_s += time.thread_time() - t
            decoded_bytes = [len(pickle.dumps(m, protocol=pickle.HIGHEST_PROTOCOL)) for m in media]
            rows.append({"model": label, "modality": modality, "items": len(refs), "batch": size,
                         "decode_ms": _per_item_ms(decode, len(refs)), "prepare_ms": _per_item_ms(prepare, len(refs)),
                         "model_ms": _per_item_ms(model_s, len(refs)),
                         "decoded_bytes": float(np.mean(decoded_bytes)), "prepared_bytes": float(np.mean(prepared_bytes))})
    return rows


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
    parser.add_argument("--before", help="also run both engines from this git revision's code (e.g. main)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of both engines (trees alternate)")
    parser.add_argument("--costs", type=int, default=200, help="items per modality of the per-stage costs (0: skip)")
    parser.add_argument("--open-rows", type=int, default=1_000_000, help="rows of the shard-folder open test (0: skip)")
    parser.add_argument("--part", choices=("local", "ray", "costs"), help=argparse.SUPPRESS)
    parser.add_argument("--world", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part == "costs":
        print(json.dumps(stage_costs(args.costs)))
        return
    if args.part:
        print(json.dumps(run_part(args)))
        return
    _reaper()
    import torch

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"python {platform.python_version()}; load average {os.getloadavg()[0]:.1f}")
    if args.scenes:
        engines(args)
    if args.costs:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        done = subprocess.run([sys.executable, __file__, "--part", "costs", "--costs", str(args.costs)],
                              capture_output=True, text=True, env=env, check=True, cwd=ROOT)
        print(f"per item, one thread (thread CPU ms; bytes pickled), load average {os.getloadavg()[0]:.1f}:")
        for r in json.loads(done.stdout.strip().splitlines()[-1]):
            print(f"  {r['model']}, {r['modality']} ({r['items']} items, batch {r['batch']}): decode "
                  f"{r['decode_ms']:.2f} + prepare {r['prepare_ms']:.2f} ms, model {r['model_ms']:.2f} ms; decoded "
                  f"{r['decoded_bytes'] / 1e3:.1f} kB, prepared {r['prepared_bytes'] / 1e3:.1f} kB")
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
