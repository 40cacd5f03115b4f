"""The map's colours: per row and the legend, for the "Colour by" choice, kept as rows join.

Categories take their colours from the workspace's ``category_colours`` (value → colour, per
column), so a value keeps its colour whatever is added later and whatever the counts become; the
project file stores them. Rows that join the map are coloured alone (the others keep theirs) and
the legend's counts grow with them.

A numeric column with more than ``CATEGORY_LIMIT`` distinct values is coloured along viridis from
its minimum to its maximum, and described by a :class:`Scale` (the map draws it as a colour bar);
one with fewer (0/1 flags, counts) is coloured as categories like any other. A column of more than ``MAX_CATEGORIES``
distinct values (a caption, an id, a path) is not a category: its points stay one neutral colour and
the legend says so in one line, instead of hundreds of captions coloured with repeating colours.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from mmstudio.ui import colors

LEGEND_ROWS = 15
CATEGORY_LIMIT = 12   # a numeric column with at most this many distinct values is coloured as categories
MAX_CATEGORIES = 40      # a column with more distinct values is not coloured (the palette has 20 colours)
NEUTRAL = (110, 110, 110)


@dataclass(frozen=True)
class Scale:
    """A numeric column's colour scale: ``colormap`` from ``lo`` (bottom) to ``hi`` (top); ``missing``
    rows have no value (grey)."""

    key: str
    lo: float
    hi: float
    missing: int
    colormap: str = "viridis"


def is_continuous(values: np.ndarray) -> bool:
    """Numbers with more than ``CATEGORY_LIMIT`` distinct values."""
    if values.dtype.kind != "f":
        return False
    finite = values[np.isfinite(values)]
    return len(finite) > CATEGORY_LIMIT and len(np.unique(finite)) > CATEGORY_LIMIT


def as_categories(values: np.ndarray) -> np.ndarray:
    """Numbers → their names as categories ("1", "0.5"; None for a row without a value)."""
    if len(values) == 0:
        return np.zeros(0, object)
    unique, inverse = np.unique(values, return_inverse=True)
    names = np.array([None if not np.isfinite(v) else f"{v:g}" for v in unique.tolist()], dtype=object)
    return names[inverse.reshape(-1)]


class MapColours:
    def __init__(self) -> None:
        self.scale: Scale | None = None   # the colour scale of a numeric "Colour by", else None
        self.key: str | None = None
        self.rgb = np.zeros((0, 3), np.uint8)
        self.counts: Counter = Counter()

    def colours(self, table, key: str, assigned: dict, start: int = 0) -> tuple[np.ndarray, list[tuple]]:
        """Every row's colour and the legend [(name, colour, symbol)] for colouring ``table`` by ``key``;
        ``start``: the rows before it are coloured already (by the same key), only the others are new.
        ``assigned``: the workspace's value → colour registry, per column (new values are added to it)."""
        self.scale = None
        if key == "modality":
            self.key = None
            codes = colors.modality_codes(table)
            present = np.bincount(codes, minlength=len(colors.MODALITY_ORDER) + 1)
            return colors.by_modality(codes), [(m, colors.MODALITY_COLORS[m], "ost"[colors.MODALITY_SHAPES[m]])
                                               for i, m in enumerate(colors.MODALITY_ORDER) if present[i]]
        values = table.label if key == "label" else table.columns[key]
        if key != "label" and is_continuous(values):
            self.key = None
            rgb, (lo, hi) = colors.continuous(values)
            self.scale = Scale(key, lo, hi, int((~np.isfinite(values)).sum()))
            return rgb, []
        if key != self.key or start != len(self.rgb) or start == 0:
            self.key, self.rgb, self.counts, start = key, np.zeros((0, 3), np.uint8), Counter(), 0
        new = values[start:] if values.dtype.kind != "f" else as_categories(values[start:])
        names, counts = np.unique(np.asarray(["—" if v is None else str(v) for v in new], object), return_counts=True)
        self.counts.update(dict(zip(names.tolist(), counts.tolist())))
        distinct = len([name for name in self.counts if name != "—"])
        if distinct > MAX_CATEGORIES:   # captions, ids, paths: colours would repeat and say nothing
            self.rgb = np.concatenate([self.rgb, np.tile(np.uint8(NEUTRAL), (len(new), 1))])
            self.rgb[:] = NEUTRAL
            return self.rgb, [(f"{key}: {distinct:,} values, too many to colour (at most {MAX_CATEGORIES})", NEUTRAL)]
        rgb, legend = colors.categorical(new, assigned.setdefault(key, {}))
        self.rgb = np.concatenate([self.rgb, rgb])
        registry = assigned[key]
        ranked = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))[:LEGEND_ROWS]
        return self.rgb, [(name, colors.hex_to_rgb(registry[name]) if name in registry else colors.MISSING)
                          for name, _ in ranked]
