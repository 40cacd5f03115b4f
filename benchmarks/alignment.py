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


def in_fresh_process(method: str, n: int, d: int) -> dict:
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, __file__, "--run", method, "--pairs", str(n), "--dim", str(d)],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=5000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each method; the fastest counts")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_one(args.run, args.pairs, args.dim)))
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
