"""Aligner speed: mmstudio's projection-head trainer vs a textbook training loop and scikit-learn.

Same data, same train/held-out split, one run. Each method runs in a fresh process (numpy's
BLAS threads and torch's OpenMP threads slow each other down when they alternate in one
process). The timed part is the fit plus the held-out scoring; process start, imports and data
generation are not timed.

Data: 5,000 pairs of two 512-d "models" of one world: Y are clustered, L2-normalised vectors;
X = normalise(tanh(3 · Y A) + 0.4 · noise), A a random rotation, i.e. another space in which the
pairing is hidden (X against Y as they are retrieves at chance) and noisy enough that held-out
R@1 stays below 1.

- **aligner**: ``train_aligner`` (linear head and MLP head, InfoNCE, the defaults: 200 steps of
  512 pairs, scored every 20 steps with a 2-D snapshot each time);
- **textbook loop** (the naive baseline): the same linear head, loss, temperature, learning rate,
  batch size and number of steps written the way one writes it first: ``nn.Linear`` (default
  init), a ``DataLoader`` over a ``TensorDataset`` with ``shuffle=True``, held-out R@1 every 20
  steps by a Python loop over the queries;
- **sklearn**: ``sklearn.neural_network.MLPRegressor(hidden_layer_sizes=(512,))`` mapping X to Y
  by squared error with its defaults (Adam, stops when the training loss stalls), then held-out
  R@1 through it: the off-the-shelf way to fit a head;
- **reference** (quality only): the closed-form ridge map of :mod:`mmstudio.analysis.alignment.maps`.

Each method runs ``--repeat`` times (interleaved, each in a fresh process); the fastest run
counts, which is what the machine can do when nothing else is running on it.

    python benchmarks/alignment.py [--pairs 5000] [--dim 512] [--repeat 3]

**--scale**: retrieval on large tables, where exact stops being reasonable. For each size (pairs × d;
clustered synthetic pairs, 100 labels) one direction with label metrics is scored in a fresh process by

- **dense** (the baseline: the code before Step 15, kept as ``retrieve(method="dense")``): numpy row
  blocks of 64 MiB, partner ranks with float64 re-scoring of near ties, label top-10 with torch;
- **chunked**: ``retrieve(method="chunked")``, exact, tiles reduced by the compiled pass of
  ``mmstudio.analysis.alignment.chunked``;
- **sampled**: what ``mmstudio align`` does by default (``scope.plan``): exact below the work limit, else
  a seeded random sample of queries, each ranked among the whole gallery, with a 95 % interval.

Exact methods are timed on the first ``--timed-elements`` similarities' worth of (random) queries and
the time scaled to all queries (cost is linear in the number of queries: the time of one query, the
fixed part, counts once; the line says so); dense and
chunked score the same queries, and their ranks are checked equal. Wall and CPU seconds, the load
average, and the process's peak memory above what the data took (ru_maxrss − RSS before scoring).

    python benchmarks/alignment.py --scale [--sizes 10000x128,100000x128,...] [--timed-elements 4e8]
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
TEST_FRACTION = 0.2
NOISE = 0.4


def make_pairs(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from mmstudio.analysis.alignment.retrieval import normalise

    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(100, d))
    y = normalise(centres[rng.integers(0, len(centres), n)] + 1.5 * rng.normal(size=(n, d)))
    rotation, _ = np.linalg.qr(rng.normal(size=(d, d)))
    x = normalise(np.tanh(3 * y @ rotation) + NOISE * rng.normal(size=(n, d)))
    return x.astype(np.float32), y.astype(np.float32)


def split(n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(0).permutation(n)  # the split train_aligner draws with seed 0
    n_test = int(round(n * TEST_FRACTION))
    return order[n_test:], order[:n_test]


def held_out_r1(projected, targets) -> float:
    from mmstudio.analysis.alignment.retrieval import ranks_from_similarity, similarity_matrix

    return float(np.mean(ranks_from_similarity(similarity_matrix(projected, targets)) == 1))


def textbook_loop(x, y, train, test, steps: int = 200, batch: int = 512, lr: float = 5e-3,
                  temperature: float = 0.05, eval_every: int = 20) -> dict:
    """The aligner's linear head and InfoNCE as a first version would be written."""
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    torch.ones(2) @ torch.ones(2)
    start = time.perf_counter()
    head = torch.nn.Linear(x.shape[1], y.shape[1])
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(torch.tensor(x[train]), torch.tensor(y[train])), batch_size=batch,
                        shuffle=True, drop_last=True)
    x_test, y_test = torch.tensor(x[test]), F.normalize(torch.tensor(y[test]), dim=1)

    def score() -> float:
        with torch.no_grad():
            sims = F.normalize(head(x_test), dim=1) @ y_test.T
        return sum(int(torch.argmax(sims[i]) == i) for i in range(len(sims))) / len(sims)

    step, r1 = 0, score()
    while step < steps:
        for xb, yb in loader:
            logits = F.normalize(head(xb), dim=1) @ F.normalize(yb, dim=1).T / temperature
            target = torch.arange(len(xb))
            loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % eval_every == 0 or step == steps:
                r1 = score()
            if step == steps:
                break
    return {"seconds": time.perf_counter() - start, "r1": r1, "steps": step}


def run_one(method: str, n: int, d: int) -> dict:
    x, y = make_pairs(n, d)
    train, test = split(n)
    if method.startswith("aligner"):
        import torch

        from mmstudio.analysis.alignment.aligner import train_aligner

        torch.ones(2) @ torch.ones(2)  # load torch's kernels outside the timing
        head = method.split("-")[1]
        start = time.perf_counter()
        history = train_aligner(x, y, head=head, loss="infonce", test_fraction=TEST_FRACTION)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "r1": history.final_r1, "start_r1": float(history.heldout_r1[0]),
                "identity_r1": history.identity_r1, "steps": len(history.loss)}
    if method == "textbook":
        return textbook_loop(x, y, train, test)
    if method == "sklearn":
        from sklearn.neural_network import MLPRegressor

        start = time.perf_counter()
        model = MLPRegressor(hidden_layer_sizes=(512,), random_state=0).fit(x[train], y[train])
        r1 = held_out_r1(model.predict(x[test]), y[test])
        return {"seconds": time.perf_counter() - start, "r1": r1, "epochs": int(model.n_iter_)}
    if method == "ridge":
        from mmstudio.analysis.alignment.maps import fit_linear

        start = time.perf_counter()
        linear = fit_linear(x[train], y[train])
        r1 = held_out_r1(linear(x[test]), y[test])
        return {"seconds": time.perf_counter() - start, "r1": r1, "alpha": linear.alpha}
    raise ValueError(method)


def in_fresh_process(method: str, n: int, d: int, extra=()) -> dict:
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, __file__, "--run", method, "--pairs", str(n), "--dim", str(d), *extra],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


SCALE_SIZES = "10000x128,30000x128,30000x512,100000x128,100000x512,500000x128,1000000x128"


def scale_data(n: int, d: int, seed: int = 0):
    """``n`` unit pairs (x_i, y_i) around 100 labelled centres, in float32 chunks (little extra memory)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(100, d)).astype(np.float32)
    label = rng.integers(0, 100, n)
    x, y = np.empty((n, d), np.float32), np.empty((n, d), np.float32)
    for start in range(0, n, 50_000):
        part = slice(start, min(n, start + 50_000))
        base = centres[label[part]] + rng.standard_normal((len(label[part]), d), np.float32)
        x[part] = base + 1.5 * rng.standard_normal(base.shape, np.float32)
        y[part] = base + 1.5 * rng.standard_normal(base.shape, np.float32)
        x[part] /= np.linalg.norm(x[part], axis=1, keepdims=True)
        y[part] /= np.linalg.norm(y[part], axis=1, keepdims=True)
    return x, y, np.array([f"c{v}" for v in label], dtype=object)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def scale_one(method: str, n: int, d: int, timed_elements: float) -> dict:
    import resource
    import zlib

    from mmstudio.analysis.alignment.chunked import scan
    from mmstudio.analysis.alignment.retrieval import retrieve
    from mmstudio.analysis.alignment.scope import Scope, plan

    x, y, labels = scale_data(n, d)
    if method == "dense":
        import torch

        torch.topk(torch.ones(4, 4), 2)  # torch's import and first call outside the timing
    else:
        scan(x[:4], y[:8], np.arange(4), np.arange(8), codes=(np.zeros(4, np.int64), np.zeros(8, np.int64)))
    if method == "sampled":
        scope = plan(n, n, d)
    else:
        timed = int(min(n, max(1, timed_elements // n)))
        scope = Scope(n) if timed >= n else Scope(n, np.sort(np.random.default_rng(1).choice(n, timed, replace=False)), 1)
    before = _rss_mb()

    def timed_run(scope):
        start, cpu = time.perf_counter(), time.process_time()
        result = retrieve(x, y, query_labels=labels, gallery_labels=labels, keep_similarity=0, scope=scope,
                          method="dense" if method == "dense" else "chunked")
        return result, time.perf_counter() - start, time.process_time() - cpu

    result, seconds, cpu = timed_run(scope)
    factor = 1.0 if method == "sampled" else n / scope.scored
    fixed = fixed_cpu = 0.0
    if factor != 1.0:  # what does not grow with the queries (normalising the gallery, …) is counted once
        _, fixed, fixed_cpu = timed_run(Scope(n, scope.rows[:1], 1))
        fixed, fixed_cpu = min(fixed, seconds), min(fixed_cpu, cpu)
    out = {"seconds": seconds, "cpu": cpu, "scored": scope.scored, "fixed": fixed,
           "all_seconds": fixed + (seconds - fixed) * factor, "all_cpu": fixed_cpu + (cpu - fixed_cpu) * factor,
           "extrapolated": factor != 1.0, "block": result.block,
           "data_mb": before, "extra_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before,
           "r1": result.recall(1), "label_r1": result.label_r1, "crc": zlib.crc32(result.ranks.tobytes()),
           "sentence": result.summary()["scope"]["sentence"], "load": os.getloadavg()[0]}
    if scope.sampled and method == "sampled":
        out["interval"] = result.intervals()["R@1"]
    return out


def scale_main(args) -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}; "
          f"one direction (x → y) with label metrics; exact methods timed on ≤ {args.timed_elements:.3g} "
          "similarities and scaled to all queries where marked ~")
    for size in args.sizes.split(","):
        n, d = (int(v) for v in size.lower().split("x"))
        rows = {}
        for method in args.methods.split(","):
            rows[method] = r = in_fresh_process(f"scale-{method}", n, d, ["--timed-elements", str(args.timed_elements)])
            mark = "~" if r["extrapolated"] else " "
            print(f"{n:>9,} × {d:<4} {method:8} {mark}{r['all_seconds']:9.1f} s wall {mark}{r['all_cpu']:9.1f} s CPU "
                  f"(measured {r['seconds']:.1f} s on {r['scored']:,} queries, load {r['load']:.1f})  "
                  f"+{r['extra_mb']:.0f} MB over {r['data_mb']:.0f} MB of data  R@1 {r['r1']:.4f}"
                  + (f" [{r['interval'][0]:.4f}, {r['interval'][1]:.4f}]" if "interval" in r else "")
                  + f"  label R@1 {r['label_r1']:.4f}  — {r['sentence']}", flush=True)
        if len(rows) < 3:
            continue
        dense, chunked, sampled = rows["dense"], rows["chunked"], rows["sampled"]
        same = "equal" if dense["crc"] == chunked["crc"] else "DIFFERENT"
        print(f"{'':16} chunked is {dense['all_seconds'] / chunked['all_seconds']:.1f}× as fast as dense "
              f"(CPU {dense['all_cpu'] / chunked['all_cpu']:.1f}×); ranks of the {chunked['scored']:,} queries: {same}"
              + (f"; sampled R@1 interval {'covers' if sampled['interval'][0] <= chunked['r1'] <= sampled['interval'][1] else 'MISSES'} "
                 f"the exact {chunked['r1']:.4f}" if "interval" in sampled and not chunked["extrapolated"] else ""),
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=5000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each method; the fastest counts")
    parser.add_argument("--scale", action="store_true", help="retrieval on large tables: dense, chunked, sampled")
    parser.add_argument("--sizes", default=SCALE_SIZES, help="pairs×dim, comma-separated (with --scale)")
    parser.add_argument("--methods", default="dense,chunked,sampled", help="with --scale")
    parser.add_argument("--timed-elements", type=float, default=4e8,
                        help="similarities an exact method is timed on before scaling to all queries (with --scale)")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        if args.run.startswith("scale-"):
            print(json.dumps(scale_one(args.run[6:], args.pairs, args.dim, args.timed_elements)))
        else:
            print(json.dumps(run_one(args.run, args.pairs, args.dim)))
        return
    if args.scale:
        scale_main(args)
        return
    import torch

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; {args.pairs} pairs × {args.dim}-d, "
          f"{int(round(args.pairs * TEST_FRACTION))} held out")
    methods = ("aligner-linear", "aligner-mlp", "textbook", "sklearn", "ridge")
    runs = {m: [] for m in methods}
    for _ in range(args.repeat):  # interleaved, so a busy spell on the machine hits every method alike
        for m in methods:
            runs[m].append(in_fresh_process(m, args.pairs, args.dim))
    results = {}
    for name, rs in runs.items():
        times = sorted(r["seconds"] for r in rs)
        results[name] = r = dict(rs[0], seconds=times[0])
        extra = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                          for k, v in r.items() if k not in ("seconds", "r1"))
        print(f"{name:15} {r['seconds']:7.2f} s (best of {len(times)}; all: {', '.join(f'{t:.2f}' for t in times)})"
              f"   held-out R@1 {r['r1']:.3f}   ({extra})")
    ours = results["aligner-linear"]["seconds"]
    for name in ("textbook", "sklearn", "ridge"):
        r = results[name]
        print(f"aligner-linear is {r['seconds'] / ours:.2f}× as fast as {name}, "
              f"held-out R@1 {results['aligner-linear']['r1']:.3f} vs {r['r1']:.3f}")
    for name in ("aligner-linear", "aligner-mlp"):
        verdict = "meets" if results[name]["seconds"] <= 10 else "misses"
        print(f"target ≤ 10 s for {args.pairs} pairs: {name} {verdict} it ({results[name]['seconds']:.2f} s)")


if __name__ == "__main__":
    main()
