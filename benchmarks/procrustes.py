"""Procrustes on few rows and many dimensions: mmstudio's n × n route vs scipy's d × d SVD.

``mmstudio align`` on a 4096-d table of 180 rows (90 paired samples) did not finish in 300 s:
the orthogonal and similarity Procrustes each ran an SVD of the d × d matrix XᵀY whatever the
number of rows. mmstudio now factors X and Y (thin QR, d × n) and runs the SVD on an n × n
matrix; the residual and the disparity are the same numbers.

- **scipy** (the baseline): ``scipy.linalg.orthogonal_procrustes(X, Y)`` with the residual
  ‖XR − Y‖, plus ``scipy.spatial.procrustes(X, Y)`` for the disparity;
- **mmstudio**: ``orthogonal_procrustes`` and ``similarity_procrustes`` of
  :mod:`mmstudio.analysis.alignment.procrustes`.

Both in this process, one after the other, on the same seeded Gaussian pairs; the difference
between their residuals and disparities is printed too.

    python benchmarks/procrustes.py [--pairs 90] [--dim 4096]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=90)
    parser.add_argument("--dim", type=int, default=4096)
    args = parser.parse_args()
    import scipy.linalg
    import scipy.spatial

    from mmstudio.analysis.alignment.procrustes import orthogonal_procrustes, similarity_procrustes

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.pairs, args.dim))
    y = x @ rng.normal(size=(args.dim, 64)) @ rng.normal(size=(64, args.dim)) / 64 + rng.normal(size=x.shape)

    start = time.perf_counter()
    fit = orthogonal_procrustes(x, y)
    disparity = similarity_procrustes(x, y)
    ours = time.perf_counter() - start

    start = time.perf_counter()
    rotation, _ = scipy.linalg.orthogonal_procrustes(x, y)
    residual = float(np.linalg.norm(x @ rotation - y))
    reference = scipy.spatial.procrustes(x, y)[2]
    theirs = time.perf_counter() - start

    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"{args.pairs} pairs × {args.dim}-d")
    print(f"scipy (d × d SVD):    {theirs:8.2f} s")
    print(f"mmstudio (n × n SVD): {ours:8.3f} s   speed-up {theirs / ours:.0f}×")
    print(f"|Δ residual| {abs(fit.residual - residual):.2e}, |Δ disparity| {abs(disparity - reference):.2e}")


if __name__ == "__main__":
    main()
