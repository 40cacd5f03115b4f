"""The base of every principle's result: plain data (arrays, numbers, a statement) and
``to_dict()`` for JSON, with the verdict the statement was derived from.

A principle's statement is computed from its numbers: each claim is a :class:`Check` (a criterion
with the numbers it compared), and the verdict says whether the claims held on this data:
``"shown"`` (all), ``"not shown"`` (the principle's main claim failed) or ``"mixed"``. Accuracy
differences count when they exceed two standard errors of an accuracy measured on the test split
(:func:`margin`), so a difference the test set cannot resolve is never claimed.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from mmstudio.core.values import plain

SHOWN, NOT_SHOWN, MIXED = "shown", "not shown", "mixed"


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

    def to_dict(self) -> dict:
        out = {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        out.update(verdict=self.verdict, summary=self.statement, checks=plain(list(self.checks)))
        return out

    def summary(self) -> list[str]:  # pragma: no cover - every result overrides it
        return []
