"""Colours for points: one per modality, per category (a qualitative palette), or along a colour map."""

from __future__ import annotations

import numpy as np

from mmstudio.export.colormaps import apply

MODALITY_COLORS = {"image": (66, 133, 244), "audio": (234, 67, 53), "text": (52, 168, 83)}
MODALITY_SHAPES = {"image": 0, "audio": 1, "text": 2}
# Tableau 20, reordered so the first ten are the strong ones
PALETTE = np.array([
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
    (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207), (174, 199, 232), (255, 187, 120),
    (152, 223, 138), (255, 152, 150), (197, 176, 213), (196, 156, 148), (247, 182, 210), (199, 199, 199),
    (219, 219, 141), (158, 218, 229)], np.uint8)
MISSING = (160, 160, 160)


def categorical(values) -> tuple[np.ndarray, list[tuple[str, tuple]]]:
    """Per-row colours and the legend [(category, colour)], most frequent categories first."""
    values = np.asarray([("—" if v is None else str(v)) for v in values], dtype=object)
    names, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    rank = np.empty(len(names), np.int64)
    rank[order] = np.arange(len(names))
    colours = np.array([PALETTE[r % len(PALETTE)] if names[i] != "—" else MISSING for i, r in enumerate(rank)],
                       np.uint8).reshape(-1, 3)
    legend = [(str(names[i]), tuple(int(c) for c in colours[i])) for i in order]
    return colours[inverse.reshape(-1)], legend


def continuous(values: np.ndarray, colormap: str = "viridis") -> tuple[np.ndarray, tuple[float, float]]:
    values = np.asarray(values, np.float64)
    finite = np.isfinite(values)
    lo, hi = (float(values[finite].min()), float(values[finite].max())) if finite.any() else (0.0, 1.0)
    colours = apply(np.where(finite, values, lo), colormap, lo, hi)
    colours[~finite] = MISSING
    return colours, (lo, hi)


MODALITY_ORDER = tuple(MODALITY_COLORS)        # modality_codes: an index into this; len(...) for any other


def modality_codes(table) -> np.ndarray:
    """Each row's modality as an index into ``MODALITY_ORDER`` (int8), computed once per table: the
    layout job computes it off the GUI thread, the view then reads it at no cost."""
    codes = getattr(table, "_modality_codes", None)
    if codes is None or len(codes) != len(table):
        modality = np.asarray(table.modality)
        codes = np.full(len(modality), len(MODALITY_ORDER), np.int8)
        for i, name in enumerate(MODALITY_ORDER):
            codes[modality == name] = i
        table._modality_codes = codes
    return codes


def by_modality(codes: np.ndarray) -> np.ndarray:
    """Per-row colours from :func:`modality_codes`."""
    lut = np.array([MODALITY_COLORS[m] for m in MODALITY_ORDER] + [MISSING], np.uint8)
    return lut[codes]


def shapes_of(codes: np.ndarray) -> np.ndarray:
    """Per-row marker shapes from :func:`modality_codes`."""
    lut = np.array([MODALITY_SHAPES[m] for m in MODALITY_ORDER] + [0], np.int8)
    return lut[codes]
