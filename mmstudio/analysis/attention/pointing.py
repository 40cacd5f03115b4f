"""The pointing game for any encoder and attention method: does a map's maximum fall inside the
box of the object its text names?

A case is an image, a text naming one object and that object's box (plus, optionally, the boxes
of the objects it does not name). :func:`pointing_game` draws each case's map with an
:class:`~mmstudio.analysis.attention.heatmaps.AttentionSession` (the maps the app and
``mmstudio attend`` show), upsamples it to the image and scores it with :func:`score_maps`:
the hit rate with its 95 % Wilson interval, the chance level (a point drawn uniformly over the
image hits the box with the share of the image the box covers; the mean of that share over the
cases) and how often the peak lands on an object the text does not name instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mmstudio.analysis.attention.heatmaps import AttentionSession, methods_for, peak, upsample
from mmstudio.encoders.base import ModelError

Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile


@dataclass(frozen=True)
class PointingCase:
    """An image (PIL image or (H, W, 3) uint8 array), a text naming one object, and that object's
    box (x0, y0, x1, y1; pixels, x1 and y1 exclusive). ``others``: boxes of the objects the text
    does not name."""

    image: object
    text: str
    box: tuple[int, int, int, int]
    others: tuple[tuple[int, int, int, int], ...] = ()


@dataclass(frozen=True)
class PointingResult:
    """What :func:`score_maps` measured on ``n`` cases."""

    model: str
    method: str
    n: int
    hits: int
    low: float                 # 95 % Wilson interval of the hit rate
    high: float
    chance: float              # mean share of the image the named object's box covers
    other_hits: int | None     # peaks inside another object's box and not the named one's (None: no others given)
    grid: tuple[int, ...]      # the map's shape before upsampling (the first case's)

    @property
    def rate(self) -> float:
        return self.hits / self.n

    @property
    def other_rate(self) -> float | None:
        return None if self.other_hits is None else self.other_hits / self.n

    @property
    def named_share(self) -> tuple[float, float, float] | None:
        """Of the peaks inside some object's box, the share inside the named one's, with its 95 %
        Wilson interval; 0.5 when a map finds objects but not which one its text names (two
        objects a scene). None without other boxes or without a peak on any object."""
        if self.other_hits is None or self.hits + self.other_hits == 0:
            return None
        on_objects = self.hits + self.other_hits
        return (self.hits / on_objects, *wilson_interval(self.hits, on_objects))

    def lines(self) -> list[str]:
        """What the result says, read against chance, as the commands print it."""
        verdict = _against(self.low, self.high, self.chance)
        out = [f"{self.method}: pointing {self.rate:.3f} ({self.hits}/{self.n}), 95 % Wilson interval "
               f"{self.low:.3f}–{self.high:.3f}; chance {self.chance:.3f} (the mean share of the image the "
               f"named object's box covers): {verdict}"]
        if self.other_rate is not None:
            line = f"  peak on an object the text does not name instead: {self.other_rate:.3f}"
            share = self.named_share
            if share is not None:
                line += (f"; of the peaks on an object, {share[0]:.3f} on the named one (95 % {share[1]:.3f}–"
                         f"{share[2]:.3f}; 0.5 = no preference): {_against(share[1], share[2], 0.5, PREFERENCE_WORDS)}")
            out.append(line)
        return out

    def plain(self) -> dict:
        share = self.named_share
        return {"model": self.model, "method": self.method, "n": self.n, "hits": self.hits, "rate": self.rate,
                "wilson_95": [self.low, self.high], "chance": self.chance,
                "verdict": _against(self.low, self.high, self.chance), "other_rate": self.other_rate,
                "named_share": None if share is None else share[0],
                "named_share_wilson_95": None if share is None else list(share[1:]), "grid": list(self.grid)}


CHANCE_WORDS = ("above chance", "below chance", "not distinguishable from chance")
PREFERENCE_WORDS = ("prefers the named object", "prefers the other object", "no preference shown")


def _against(low: float, high: float, level: float, words=CHANCE_WORDS) -> str:
    """Where a 95 % interval lies against ``level``: above it, below it, or around it."""
    above, below, neither = words
    return above if low > level else below if high < level else neither


def wilson_interval(hits: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (95 % with the default ``z``)."""
    if n <= 0:
        raise ValueError("no cases to score")
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def image_size(image) -> tuple[int, int]:
    """(width, height) of a PIL image or an (H, W[, C]) array."""
    if hasattr(image, "size") and isinstance(image.size, tuple):
        return image.size
    height, width = np.asarray(image).shape[:2]
    return int(width), int(height)


def box_share(box, size: tuple[int, int]) -> float:
    """The share of an image of ``size`` = (width, height) that ``box`` covers (clipped to the image)."""
    width, height = size
    x0, y0, x1, y1 = box
    w = max(0, min(x1, width) - max(x0, 0))
    h = max(0, min(y1, height) - max(y0, 0))
    return w * h / (width * height)


def _inside(point, box) -> bool:
    x, y = point
    x0, y0, x1, y1 = box
    return x0 <= x < x1 and y0 <= y < y1


def score_maps(grids, cases: list[PointingCase], *, model: str = "", method: str = "") -> PointingResult:
    """Score one map per case (a grid of any shape, upsampled bilinearly to the case's image)."""
    if len(grids) != len(cases):
        raise ValueError(f"{len(grids)} maps for {len(cases)} cases")
    if not cases:
        raise ValueError("no cases to score")
    hits = others = 0
    shares = []
    for grid, case in zip(grids, cases):
        size = image_size(case.image)
        point = peak(upsample(np.asarray(grid, np.float32), size))
        hit = _inside(point, case.box)
        hits += hit
        others += (not hit) and any(_inside(point, b) for b in case.others)
        shares.append(box_share(case.box, size))
    low, high = wilson_interval(hits, len(cases))
    any_others = any(case.others for case in cases)
    return PointingResult(model, method, len(cases), hits, low, high, float(np.mean(shares)),
                          others if any_others else None, tuple(np.shape(grids[0])))


def pointing_game(encoder, cases: list[PointingCase], method: str | None = None, *,
                  subtract_empty: bool = False, relevance_layers: int = 2, job=None) -> PointingResult:
    """The pointing game of ``encoder``'s ``method`` (default: its first for images) on ``cases``.

    Each image is encoded once (the session caches it), whatever the number of its texts.
    """
    from mmstudio.core.jobs import Job

    job = job or Job()
    available = methods_for(encoder, "image")
    if not available:
        raise ModelError(f"{encoder.name} offers no attention maps over images")
    method = method or available[0]
    if method not in available:
        raise ModelError(f"{encoder.name} offers {', '.join(available)} over images, not {method}")
    if subtract_empty and method != "patch-similarity":
        raise ValueError(f"subtracting the empty prompt applies to patch-similarity, not {method}")
    session = AttentionSession(encoder)
    grids = []
    job.progress(0, len(cases))
    for i, case in enumerate(cases):
        job.check()
        result = session.map(case.image, case.text, method=method, subtract_empty=subtract_empty,
                             relevance_layers=relevance_layers)
        if not np.isfinite(result.grid).all():
            raise ModelError(f"{encoder.name}: the {method} map of case {i} ({case.text!r}) is not finite")
        grids.append(result.grid)
        job.progress(i + 1)
    name = f"{method} minus the empty prompt" if subtract_empty else method
    return score_maps(grids, cases, model=encoder.name, method=name)
