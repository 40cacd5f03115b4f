"""The map's colours: per row and the legend, for the "Colour by" choice, kept as rows join.

Categories take their colours from the workspace's ``category_colours`` (value → colour, per
column), so a value keeps its colour whatever is added later and whatever the counts become; the
project file stores them. Colours are worked out per category and looked up per row through the
column's codes (:mod:`mmstudio.core.tables.categories`), so colouring a million rows costs
milliseconds and no Python object per row; rows that join the map are coloured with the others.

A numeric column with more than ``CATEGORY_LIMIT`` distinct values is coloured along viridis from
its minimum to its maximum, and described by a :class:`Scale` (the map draws it as a colour bar);
one with fewer (0/1 flags, counts) is coloured as categories like any other. A column of more than ``MAX_CATEGORIES``
distinct values (a caption, an id, a path) is not a category: its points stay one neutral colour and
the legend says so in one line, instead of hundreds of captions coloured with repeating colours.
"""

from __future__ import annotations

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
    """Numbers with more than ``CATEGORY_LIMIT`` distinct values (the first few thousand usually tell)."""
    if values.dtype.kind != "f":
        return False
    head = values[:4096]
    if len(np.unique(head[np.isfinite(head)])) > CATEGORY_LIMIT:
        return True
    finite = values[np.isfinite(values)]
    return len(finite) > CATEGORY_LIMIT and len(np.unique(finite)) > CATEGORY_LIMIT


def as_categories(values: np.ndarray) -> np.ndarray:
    """Numbers → their names as categories ("1", "0.5"; None for a row without a value)."""
    if len(values) == 0:
        return np.zeros(0, object)
    unique, inverse = np.unique(values, return_inverse=True)
    names = np.array([None if not np.isfinite(v) else f"{v:g}" for v in unique.tolist()], dtype=object)
    return names[inverse.reshape(-1)]


def category_codes(table, key: str) -> tuple[np.ndarray, np.ndarray]:
    """``key``'s categories as (names, sorted; each row's index into them): text columns from the table's
    cached :func:`~mmstudio.core.tables.categories.categories` (computed by the job that brought the rows),
    a column of few numbers by their names ("1", "0.5"); rows without a value are "—". Vectorised."""
    values = table.label if key == "label" else table.columns[key]
    if values.dtype.kind == "f":
        unique, inverse = np.unique(values, return_inverse=True)
        names = np.array(["—" if not np.isfinite(v) else f"{v:g}" for v in unique.tolist()], dtype=object)
        distinct, merged = np.unique(names, return_inverse=True)   # NaN and ±inf: one "—"
        return distinct, merged.reshape(-1)[inverse.reshape(-1)]
    from mmstudio.core.tables.categories import categories, with_blank

    return with_blank(categories(table, key), "—")


class MapColours:
    def __init__(self) -> None:
        self.scale: Scale | None = None   # the colour scale of a numeric "Colour by", else None

    def colours(self, table, key: str, assigned: dict) -> tuple[np.ndarray, list[tuple]]:
        """Every row's colour and the legend [(name, colour, symbol)] for colouring ``table`` by ``key``.
        ``assigned``: the workspace's value → colour registry, per column (new values are added to it).
        Per category, never per row: a million rows in milliseconds."""
        self.scale = None
        if key == "modality":
            codes = colors.modality_codes(table)
            present = np.bincount(codes, minlength=len(colors.MODALITY_ORDER) + 1)
            return colors.by_modality(codes), [(m, colors.MODALITY_COLORS[m], "ost"[colors.MODALITY_SHAPES[m]])
                                               for i, m in enumerate(colors.MODALITY_ORDER) if present[i]]
        values = table.label if key == "label" else table.columns[key]
        if key != "label" and is_continuous(values):
            rgb, (lo, hi) = colors.continuous(values)
            self.scale = Scale(key, lo, hi, int((~np.isfinite(values)).sum()))
            return rgb, []
        distinct = _distinct(table, key, values)
        if distinct > MAX_CATEGORIES:   # captions, ids, paths: colours would repeat and say nothing
            rgb = colors.lookup(np.array([NEUTRAL], np.uint8), np.zeros(len(values), np.intp))
            return rgb, [(f"{key}: {distinct:,} values, too many to colour (at most {MAX_CATEGORIES})", NEUTRAL)]
        names, codes = category_codes(table, key)
        counts = np.bincount(codes, minlength=len(names))
        palette, legend = colors.category_colours(names, counts, assigned.setdefault(key, {}))
        return colors.lookup(palette, codes), legend[:LEGEND_ROWS]


def _distinct(table, key: str, values: np.ndarray) -> int:
    """How many values (blanks not counted, nor a value written "—") the column holds."""
    if values.dtype.kind == "f":
        return len(np.unique(values[np.isfinite(values)]))
    from mmstudio.core.tables.categories import categories

    names = categories(table, key).names
    return len(names) - int(np.count_nonzero(names == "—")) if len(names) <= 4 * MAX_CATEGORIES else len(names)
