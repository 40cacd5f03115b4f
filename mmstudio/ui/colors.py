"""Colours for points: one per modality, per category (a qualitative palette), or along a colour map
(pyqtgraph's copy of matplotlib's perceptual maps: viridis for numbers)."""

from __future__ import annotations

from collections import Counter

import numpy as np

MODALITY_COLORS = {"image": (66, 133, 244), "audio": (234, 67, 53), "text": (52, 168, 83)}
MODALITY_SHAPES = {"image": 0, "audio": 1, "text": 2}
# Tableau 20, reordered so the first ten are the strong ones
PALETTE = np.array([
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
    (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207), (174, 199, 232), (255, 187, 120),
    (152, 223, 138), (255, 152, 150), (197, 176, 213), (196, 156, 148), (247, 182, 210), (199, 199, 199),
    (219, 219, 141), (158, 218, 229)], np.uint8)
MISSING = (160, 160, 160)
# The outline of a selection's nearest neighbours on the map: magenta, far (CIE ΔE76 > 60) from every
# colour above, so it never reads as a category (the palette's orange was 8 from the old orange outline)
NEIGHBOUR_OUTLINE = (255, 0, 255)


def categorical(values, assigned: dict[str, str] | None = None) -> tuple[np.ndarray, list[tuple[str, tuple]]]:
    """Per-row colours and the legend [(category, colour)], most frequent categories first.

    ``assigned`` (value → ``"#rrggbb"``) keys the colours by value: a value it holds keeps its colour,
    whatever else is added; values it lacks take the palette colours it does not use yet (the most
    frequent value first, then by name) and are written into it. Without it, colours go by frequency.
    Blank values (None) are grey and never assigned. (A list of values; a table's column goes through
    :func:`category_colours` with its codes.)
    """
    values = np.asarray([("—" if v is None else str(v)) for v in values], dtype=object)
    names, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    colours, legend = category_colours(names, counts, assigned)
    return colours[inverse.reshape(-1)], legend


def category_colours(names, counts, assigned: dict[str, str] | None = None) -> tuple[np.ndarray, list[tuple]]:
    """A colour per category (``names``: sorted, "—" for blanks; ``counts``: rows per name) under the rules of
    :func:`categorical`, and the legend [(name, colour)] by count, then name. Per category, never per row."""
    names = [str(name) for name in names]
    order = np.argsort(-np.asarray(counts), kind="stable")
    assigned = {} if assigned is None else assigned
    uses = None
    for i in order.tolist():
        name = names[i]
        if name != "—" and name not in assigned:
            if uses is None:  # how often each palette colour is taken (counted once)
                taken = Counter(v.lower() for v in assigned.values())
                uses = [taken[rgb_to_hex(colour)] for colour in PALETTE]
            pick = int(np.argmin(uses))  # the first unused palette colour; once all are, the least used
            uses[pick] += 1
            assigned[name] = rgb_to_hex(PALETTE[pick])
    colours = np.array([hex_to_rgb(assigned[name]) if name != "—" else MISSING for name in names],
                       np.uint8).reshape(-1, 3)
    legend = [(names[i], tuple(int(c) for c in colours[i])) for i in order.tolist()]
    return colours, legend


def hex_to_rgb(text: str) -> tuple[int, int, int]:
    text = text.lstrip("#")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def rgb_to_hex(rgb) -> str:
    return "#" + "".join(f"{int(c):02x}" for c in rgb)


def colormap_lut(name: str = "viridis") -> np.ndarray:
    """(256, 3) uint8: the colour map sampled at 0, 1/255, …, 1."""
    import pyqtgraph as pg

    return pg.colormap.get(name).getLookupTable(0.0, 1.0, 256, alpha=False).astype(np.uint8)


def continuous(values: np.ndarray, colormap: str = "viridis") -> tuple[np.ndarray, tuple[float, float]]:
    """Numbers → colours along ``colormap`` from their minimum to their maximum (the nearest of 256
    steps); rows without a value (NaN, ±inf) are grey (``MISSING``). Returns the colours and (min, max)."""
    values = np.asarray(values, np.float64)
    finite = np.isfinite(values)
    lo, hi = (float(values[finite].min()), float(values[finite].max())) if finite.any() else (0.0, 1.0)
    unit = np.zeros(len(values)) if hi <= lo else (np.where(finite, values, lo) - lo) / (hi - lo)
    steps = np.clip(np.rint(unit * 255), 0, 255).astype(np.intp)
    steps[~finite] = 256                                   # the last entry: MISSING
    return lookup(np.vstack([colormap_lut(colormap), [MISSING]]), steps), (lo, hi)


MODALITY_ORDER = tuple(MODALITY_COLORS)        # modality_codes: an index into this; len(...) for any other


def modality_codes(table) -> np.ndarray:
    """Each row's modality as an index into ``MODALITY_ORDER`` (int8), computed once per table: the
    layout job computes it off the GUI thread, the view then reads it at no cost."""
    codes = getattr(table, "_modality_codes", None)
    if codes is None or len(codes) != len(table):
        from mmstudio.core.tables.categories import categories

        found = categories(table, "modality")   # per distinct value, then a lookup per row
        lut = np.array([MODALITY_ORDER.index(m) if m in MODALITY_ORDER else len(MODALITY_ORDER)
                        for m in found.names.tolist()] + [len(MODALITY_ORDER)], np.int8)
        codes = lut[found.codes]     # code -1 (no modality): the last entry
        table._modality_codes = codes
    return codes


def by_modality(codes: np.ndarray) -> np.ndarray:
    """Per-row colours from :func:`modality_codes`."""
    return lookup(np.array([MODALITY_COLORS[m] for m in MODALITY_ORDER] + [MISSING], np.uint8), codes)


def lookup(palette: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``palette[codes]`` (N × 3 uint8) by one gather of packed RGBA words: the result is a view of them, which
    the point cloud takes as its packed colours as they are (a million rows: ~3 ms instead of ~60)."""
    palette = np.asarray(palette, np.uint8).reshape(-1, 3)
    rgba = np.full((len(palette), 4), 255, np.uint8)
    rgba[:, :3] = palette
    return rgba.view(np.uint32).reshape(-1)[codes].view(np.uint8).reshape(-1, 4)[:, :3]


def packed(rgb: np.ndarray) -> np.ndarray | None:
    """The packed RGBA words (alpha 255) that ``rgb`` is a view of, when :func:`lookup` made it; else None."""
    base = rgb.base
    if (rgb.ndim == 2 and rgb.strides == (4, 1) and isinstance(base, np.ndarray) and base.dtype == np.uint32
            and base.shape == (len(rgb),) and base.ctypes.data == rgb.ctypes.data):
        return base
    return None


def shapes_of(codes: np.ndarray) -> np.ndarray:
    """Per-row marker shapes from :func:`modality_codes`."""
    lut = np.array([MODALITY_SHAPES[m] for m in MODALITY_ORDER] + [0], np.int8)
    return lut[codes]


def relative_luminance(rgb) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0–255 channels)."""
    c = np.asarray(rgb[:3], np.float64) / 255
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])


def text_on(rgb) -> tuple[int, int, int]:
    """Near-black or white, whichever contrasts more with a background of colour ``rgb`` (WCAG); an
    (r, g, b, alpha) colour is taken as drawn over white."""
    if len(rgb) == 4:
        a = rgb[3] / 255
        rgb = tuple(c * a + 255 * (1 - a) for c in rgb[:3])
    lum = relative_luminance(rgb)
    dark = (0, 0, 0)   # black or white: one of them contrasts at least 4.58:1 with any colour
    return dark if (lum + 0.05) / (relative_luminance(dark) + 0.05) >= 1.05 / (lum + 0.05) else (255, 255, 255)
