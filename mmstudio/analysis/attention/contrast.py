"""How an attention map's values become colours: a scale (log, percentile or min–max) and the ticks
of the colour bar that shows it.

Cross-attention weights of a trained model are peaked: the built-in model puts ~1.0 on one or two
patches of 64 and 1e-10 on the rest, so a min–max scale lights one patch and leaves the rest
black. The log scale (the default) spreads the decades below the peak over the colour map, down to
at most ``DECADES`` below it; it needs positive values (attention weights are), and a map with a
value ≤ 0 (a cosine similarity) falls back to the percentile scale, saying so in ``Scale.note``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SCALES = ("log", "percentile", "min-max")
DEFAULT = "log"
DECADES = 6                  # log scale: the floor is at most this many decades below the peak
PERCENTILES = (2.0, 98.0)    # percentile scale: values outside are drawn at the ends


@dataclass(frozen=True)
class Scale:
    """Values in [lo, hi] spread over the colour map (``kind``: log, percentile or min-max); values
    outside are drawn at the ends."""

    kind: str
    lo: float
    hi: float
    note: str = ""           # why the scale is not the kind asked for

    def unit(self, values) -> np.ndarray:
        """Each value's place on the colour map, 0 to 1 (float32)."""
        v = np.asarray(values, np.float64)
        if not self.hi > self.lo:
            return np.zeros(v.shape, np.float32)
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.kind == "log":
                lo = math.log10(self.lo)
                u = (np.log10(np.maximum(v, self.lo)) - lo) / (math.log10(self.hi) - lo)
            else:
                u = (v - self.lo) / (self.hi - self.lo)
        return np.clip(np.nan_to_num(u, nan=0.0), 0.0, 1.0).astype(np.float32)

    def ticks(self, most: int = 6) -> list[tuple[float, float]]:
        """(value, place on the colour map 0–1) for a colour bar: both ends, and round values between
        (powers of ten on a log scale that spans one) no closer to each other than 1 / (most − 1)."""
        if not self.hi > self.lo:
            return [(self.lo, 0.0)]
        inner = []
        if self.kind == "log":  # powers of ten; round values when the scale spans less than a decade
            inner = [10.0 ** k for k in range(math.ceil(math.log10(self.lo)), math.floor(math.log10(self.hi)) + 1)]
        if not inner:
            inner = _round_steps(self.lo, self.hi, max(most, 2))
        ends = [(self.lo, 0.0), (self.hi, 1.0)]
        gap = 1.0 / max(most - 1, 1)
        kept = list(ends)
        for value in inner:
            place = float(self.unit([value])[0])
            if all(abs(place - p) >= 0.98 * gap for _, p in kept):
                kept.append((value, place))
        return sorted(kept, key=lambda t: t[1])

    def describe(self) -> str:
        """The scale in words (its numbers are on the colour bar), e.g. ``log scale``."""
        name = {"log": "log scale", "percentile": f"{PERCENTILES[0]:g}–{PERCENTILES[1]:g}th percentile scale",
                "min-max": "min–max scale"}[self.kind]
        return f"{name} ({self.note})" if self.note else name


def fit_scale(values, kind: str = DEFAULT) -> Scale:
    """The scale of ``kind`` for these values (NaN and infinities ignored)."""
    if kind not in SCALES:
        raise ValueError(f"unknown scale {kind!r}; choose one of {', '.join(SCALES)}")
    v = np.asarray(values, np.float64).ravel()
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return Scale("min-max", 0.0, 0.0, "no finite values")
    lo, hi = float(v.min()), float(v.max())
    note = ""
    if kind == "log":
        if lo > 0:
            return Scale("log", max(lo, hi * 10.0 ** -DECADES), hi)
        kind, note = "percentile", "log needs values > 0"
    if kind == "percentile":
        p_lo, p_hi = (float(p) for p in np.percentile(v, PERCENTILES))
        if p_hi > p_lo:
            return Scale("percentile", p_lo, p_hi, note)
        note = "; ".join(filter(None, [note, "percentiles equal: min–max"]))
    return Scale("min-max", lo, hi, note)


def tick_label(value: float) -> str:
    """A tick's number in three significant digits, without the zeros of ``1e-06``."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}"
    mantissa, exponent = f"{value:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _round_steps(lo: float, hi: float, most: int) -> list[float]:
    """Round values strictly between lo and hi, the smallest 1, 2 or 5 × 10^k apart that leaves at most
    ``most`` ticks in all (so they are at least (hi − lo) / (most − 1) apart)."""
    wanted = (hi - lo) / max(most - 1, 1)
    exponent = math.floor(math.log10(wanted))
    step = min(m * 10.0 ** e for e in (exponent, exponent + 1) for m in (1, 2, 5) if m * 10.0 ** e >= wanted)
    return [k * step for k in range(math.ceil(lo / step), math.floor(hi / step) + 1) if lo < k * step < hi]
