"""The base of every principle's result: plain data (arrays, numbers, a statement) and
``to_dict()`` for JSON, with the verdict the statement was derived from.

A principle's statement is computed from its numbers: each claim is a :class:`Check` (a criterion
with the numbers it compared), and the verdict says whether the claims held on this data:
``"shown"`` (all), ``"not shown"`` (the principle's main claim failed) or ``"mixed"``.

Principles that learn run several seeds (:data:`SEEDS`; each seed draws its own split and
initialisation): every headline number is a mean with a 95 % interval over the seeds
(:func:`estimate`), and a difference is claimed when the interval of its per-seed values clears the
threshold (:func:`above`), so neither a lucky seed nor a difference the seeds cannot resolve is
claimed. :func:`margin` (two standard errors of an accuracy on the test split) is the size below
which a difference is not counted as an effect at all.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from mmstudio.core.values import plain

SHOWN, NOT_SHOWN, MIXED = "shown", "not shown", "mixed"
SEEDS = 5  # seeds every principle that learns runs by default


def seed_list(seed: int = 0, count: int = SEEDS) -> list[int]:
    """The seeds a principle runs: ``seed`` and ``count - 1`` more, far enough apart that a
    principle's ``seed + 1`` (a second generator) never repeats another seed's."""
    return [int(seed) + 1000 * i for i in range(max(int(count), 1))]


def estimate(values) -> dict:
    """A headline number over seeds: ``{"mean", "ci95", "values"}``, the interval a Student-t one
    (mean ± t₀.₉₇₅,ₙ₋₁ · s/√n); one value has no interval (``ci95`` = [value, value])."""
    from scipy.stats import t

    v = np.asarray(list(values), np.float64)
    mean = float(v.mean())
    if len(v) < 2:
        return {"mean": mean, "ci95": [mean, mean], "values": v.tolist()}
    half = float(t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return {"mean": mean, "ci95": [mean - half, mean + half], "values": v.tolist()}


def ci_text(e: dict, digits: int = 2) -> str:
    """``0.83 [0.80, 0.86]``."""
    lo, hi = e["ci95"]
    return f"{e['mean']:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def above(diffs, threshold: float = 0.0) -> bool:
    """Whether per-seed differences are above ``threshold`` beyond the seeds' noise: the lower end of
    their 95 % interval exceeds it (a paired comparison; with one seed, the value itself)."""
    return estimate(diffs)["ci95"][0] > threshold


@dataclass
class Check:
    """One claim of a principle: whether it held, and the sentence that says so with its numbers."""

    claim: str          # what the principle claims, e.g. "a redundant task survives losing a modality"
    held: bool
    evidence: str       # the numbers and the criterion, e.g. "shape: 0.95 → 0.94 (drop 0.01 ≤ 0.05)"

    def sentence(self) -> str:
        return f"{self.claim}: {'yes' if self.held else 'no'} ({self.evidence})"


def margin(n: int, p: float = 0.5) -> float:
    """Two standard errors of an accuracy near ``p`` measured on ``n`` test samples: differences
    smaller than this are within what the test set can resolve."""
    return 2.0 * math.sqrt(max(p * (1 - p), 0.01) / max(n, 1))


def verdict_of(main: list[Check], others: list[Check] = ()) -> str:
    """``shown`` when every check held, ``not shown`` when a main one failed, ``mixed`` otherwise."""
    if not all(c.held for c in main):
        return NOT_SHOWN
    return SHOWN if all(c.held for c in others) else MIXED


def statement_of(verdict: str, shown: str, checks: list[Check]) -> str:
    """The sentence a page and the CLI print: what is shown (when it is), or "not shown on this data"
    with the claims that failed, then every criterion with its numbers."""
    failed = [c for c in checks if not c.held]
    if verdict == SHOWN:
        head = shown
    elif verdict == NOT_SHOWN:
        head = "Not shown on this data: " + "; ".join(f"{c.claim} does not hold ({c.evidence})" for c in failed) + "."
    else:
        head = shown + " Not shown here: " + "; ".join(f"{c.claim} ({c.evidence})" for c in failed) + "."
    return head


class Result:
    """Mixin for the principles' result dataclasses: ``to_dict()`` turns arrays into lists and adds
    ``verdict``, ``summary`` (the statement) and ``checks``."""

    statement: str
    name: str
    verdict: str = SHOWN
    checks: list = ()
    seeds: list = ()                # the seeds the numbers are means over ([] for a closed form)
    headline: dict | None = None    # name → estimate(): mean, ci95, values per seed
    sample_note: str = ""           # the table was sampled: which part of it ("a random 20,000 of … samples")

    def to_dict(self) -> dict:
        out = {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        out.update(verdict=self.verdict, summary=self.statement, checks=plain(list(self.checks)),
                   seeds=list(self.seeds), headline=plain(dict(self.headline or {})),
                   sample=self.sample_note or None)
        return out

    def summary(self) -> list[str]:  # pragma: no cover - every result overrides it
        return []
