"""Which queries a retrieval measure is computed on, and what that allows one to say.

Scoring every query of ``n`` against a gallery of ``g`` items costs ``n × g`` similarities of ``d``
products each. :func:`plan` scores them all (**exact**) while ``n × g × (d + SCAN_COST) ≤ EXACT_WORK``,
and above that a **random sample** of queries (seeded, without replacement), each still ranked exactly
among the *whole* gallery, so its rank is the one it would have in the exact run. The sample has
``EXACT_WORK / (g × (d + SCAN_COST))`` queries (the same work as the largest exact run), at least
``MIN_SAMPLE``. ``EXACT_WORK`` is about a minute per direction on the 2-core CPU of benchmarks/README.md
("alignment.py --scale"), where the measurement that chose it is.

A sampled measure carries a 95 % interval for the value over all queries, with the finite-population
correction f = (N − m)/(N − 1) of sampling m of N without replacement (an exact run's interval is the value):

- shares (R@k, label R@1): Wilson's score interval with the sample size m / f;
- means (mean rank, mAP@10, label mAP@10, losses): mean ± 1.96 · s · √(f / m), s the sample's standard deviation;
- the median rank: the sample's order statistics m/2 ∓ 1.96 · √m / 2 (distribution-free; no correction).

Checked by coverage over seeds (tests/analysis/test_chunked.py): with 500 of 3,000 queries every interval
held the exact value in 93–100 % of 200 samples. The ranks' distribution is skewed, so with few queries the
mean rank's normal interval is too narrow (87 % with 150): the default samples are ``MIN_SAMPLE`` or more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Z = 1.959963984540054       # the two-sided 95 % normal quantile
EXACT_WORK = 1.8e12         # n × g × (d + SCAN_COST) scored exactly; above it, a sample of queries
SCAN_COST = 100             # the pass over a similarity, in units of one product of the d it costs
MIN_SAMPLE = 2000


@dataclass(frozen=True)
class Scope:
    """The queries of one retrieval direction that were scored: all ``total``, or a seeded sample."""

    total: int
    rows: np.ndarray | None = None   # indices of the scored queries (sorted); None: all of them
    seed: int | None = None

    @property
    def scored(self) -> int:
        return self.total if self.rows is None else len(self.rows)

    @property
    def sampled(self) -> bool:
        return self.rows is not None

    def take(self, values):
        """``values`` (one per query) of the scored queries."""
        return values if self.rows is None else np.asarray(values)[self.rows]

    def sentence(self, block: int | None = None, noun: str = "queries") -> str:
        """How the queries were scored, e.g. "exact, all 5,000 queries, in blocks of 1,024" or "a random
        sample of 20,000 of 500,000 queries (seed 0), 95 % intervals"."""
        if not self.sampled:
            blocks = f", in blocks of {block:,}" if block and block < self.total else ""
            return f"exact, all {self.total:,} {noun}{blocks}"
        return f"a random sample of {self.scored:,} of {self.total:,} {noun} (seed {self.seed}), 95 % intervals"

    def to_dict(self, block: int | None = None, noun: str = "queries") -> dict:
        return {"method": "sample" if self.sampled else "exact", "total": self.total, "scored": self.scored,
                "seed": self.seed, "block": block, "sentence": self.sentence(block, noun)}


def sample_size(total: int, gallery: int, dim: int, *, work: float = EXACT_WORK, least: int = MIN_SAMPLE) -> int:
    """How many of ``total`` queries :func:`plan` scores against ``gallery`` items of width ``dim``."""
    per_query = max(1, gallery) * (max(1, dim) + SCAN_COST)
    if total * per_query <= work:
        return total
    return min(total, max(least, int(work // per_query)))


def plan(total: int, gallery: int, dim: int, *, queries: int | None = None, seed: int = 0) -> Scope:
    """All queries, or a seeded random sample of them: ``queries`` of them when given (0: all), else by
    :func:`sample_size`."""
    m = sample_size(total, gallery, dim) if queries is None else (total if queries <= 0 else min(total, queries))
    if m >= total:
        return Scope(total)
    rows = np.sort(np.random.default_rng(seed).choice(total, m, replace=False))
    return Scope(total, rows, seed)


def correction(m: int, total: int) -> float:
    """The finite-population correction (N − m)/(N − 1) of a sample of m of N without replacement."""
    return 0.0 if m >= total else (total - m) / (total - 1)


def share_interval(hits, total: int) -> tuple[float, float]:
    """Wilson's 95 % interval for the share of hits among ``total`` from the sample ``hits`` (0/1)."""
    hits = np.asarray(hits, np.float64)
    m = len(hits)
    if m == 0:
        return float("nan"), float("nan")
    p = float(hits.mean())
    f = correction(m, total)
    if f == 0:
        return p, p
    n = m / f
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * np.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return float(min(p, max(0.0, centre - half))), float(max(p, min(1.0, centre + half)))  # holds p̂ (rounding)


def mean_interval(values, total: int, low: float | None = None, high: float | None = None) -> tuple[float, float]:
    """The normal 95 % interval for the mean over ``total`` from the sample ``values``, cut to the values'
    possible range [``low``, ``high``] where one is known."""
    values = np.asarray(values, np.float64)
    m = len(values)
    if m == 0:
        return float("nan"), float("nan")
    mean = float(values.mean())
    if m < 2 or correction(m, total) == 0:
        return (mean, mean) if m >= total else (float("nan"), float("nan"))
    half = Z * float(values.std(ddof=1)) * np.sqrt(correction(m, total) / m)
    return (float(mean - half if low is None else max(low, mean - half)),
            float(mean + half if high is None else min(high, mean + half)))


def median_interval(values, total: int) -> tuple[float, float]:
    """The distribution-free 95 % interval for the median from the sample's order statistics."""
    values = np.sort(np.asarray(values, np.float64))
    m = len(values)
    if m == 0:
        return float("nan"), float("nan")
    if m >= total:
        median = float(np.median(values))
        return median, median
    low = int(np.floor(m / 2 - Z * np.sqrt(m) / 2))
    high = int(np.ceil(m / 2 + Z * np.sqrt(m) / 2))
    return float(values[max(0, low - 1)]), float(values[min(m - 1, high - 1)])
