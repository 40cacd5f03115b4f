"""The map's colours: per row and the legend, for the "Colour by" choice, kept as rows join.

Categories take their colours from the workspace's ``category_colours`` (value → colour, per
column), so a value keeps its colour whatever is added later and whatever the counts become; the
project file stores them. Rows that join the map are coloured alone (the others keep theirs) and
the legend's counts grow with them. A column of more than ``MAX_CATEGORIES`` distinct values (a
caption, an id, a path) is not a category: its points stay one neutral colour and the legend says so
in one line, instead of hundreds of captions coloured with repeating colours.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from mmstudio.ui import colors

LEGEND_ROWS = 15
MAX_CATEGORIES = 40      # a column with more distinct values is not coloured (the palette has 20 colours)
NEUTRAL = (110, 110, 110)


class MapColours:
    def __init__(self) -> None:
        self.key: str | None = None
        self.rgb = np.zeros((0, 3), np.uint8)
        self.counts: Counter = Counter()

    def colours(self, table, key: str, assigned: dict, start: int = 0) -> tuple[np.ndarray, list[tuple]]:
        """Every row's colour and the legend [(name, colour, symbol)] for colouring ``table`` by ``key``;
        ``start``: the rows before it are coloured already (by the same key), only the others are new.
        ``assigned``: the workspace's value → colour registry, per column (new values are added to it)."""
        if key == "modality":
            self.key = None
            codes = colors.modality_codes(table)
            present = np.bincount(codes, minlength=len(colors.MODALITY_ORDER) + 1)
            return colors.by_modality(codes), [(m, colors.MODALITY_COLORS[m], "ost"[colors.MODALITY_SHAPES[m]])
                                               for i, m in enumerate(colors.MODALITY_ORDER) if present[i]]
        values = table.label if key == "label" else table.columns[key]
        if key != "label" and values.dtype.kind == "f":
            self.key = None
            return self._scale(key, values)
        if key != self.key or start != len(self.rgb) or start == 0:
            self.key, self.rgb, self.counts, start = key, np.zeros((0, 3), np.uint8), Counter(), 0
        new = values[start:]
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

    @staticmethod
    def _scale(key: str, values) -> tuple[np.ndarray, list[tuple]]:
        """Numbers along a colour map, with a colour bar of five swatches (the highest on top)."""
        rgb, (lo, hi) = colors.continuous(values)
        steps = np.linspace(hi, lo, 5)
        ramp = colors.continuous(steps)[0] if hi > lo else np.repeat(rgb[:1], 5, axis=0)
        return rgb, [(f"{key} = {v:.3g}" if i in (0, 4) else f"{v:.3g}", tuple(int(c) for c in ramp[i]), "s")
                     for i, v in enumerate(steps)]
