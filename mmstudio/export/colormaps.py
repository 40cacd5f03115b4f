"""Colour maps as 256-entry lookup tables (anchor colours of matplotlib's perceptual maps)."""

from __future__ import annotations

import numpy as np

ANCHORS = {
    "inferno": [(0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66), (245, 125, 21),
                (250, 193, 39), (252, 255, 164)],
    "viridis": [(68, 1, 84), (70, 50, 127), (54, 92, 141), (39, 127, 142), (31, 161, 135), (74, 194, 109),
                (159, 218, 58), (253, 231, 37)],
    "turbo": [(48, 18, 59), (70, 107, 227), (40, 187, 236), (49, 242, 153), (162, 252, 60), (237, 208, 58),
              (251, 128, 34), (122, 4, 3)],
    "gray": [(0, 0, 0), (255, 255, 255)],
}


def lut(name: str) -> np.ndarray:
    """(256, 3) uint8."""
    if name not in ANCHORS:
        raise ValueError(f"unknown colour map {name!r}; choose one of {', '.join(ANCHORS)}")
    anchors = np.array(ANCHORS[name], np.float32)
    x = np.linspace(0, 1, len(anchors))
    t = np.linspace(0, 1, 256)
    return np.stack([np.interp(t, x, anchors[:, c]) for c in range(3)], axis=1).round().astype(np.uint8)


def apply(values: np.ndarray, name: str = "inferno", vmin: float | None = None, vmax: float | None = None) -> np.ndarray:
    """Values → (…, 3) uint8 colours, scaled to [vmin, vmax] (default: the values' range)."""
    lo = float(np.nanmin(values)) if vmin is None else vmin
    hi = float(np.nanmax(values)) if vmax is None else vmax
    scaled = np.zeros_like(values, np.float32) if hi <= lo else (values - lo) / (hi - lo)
    index = np.clip(np.nan_to_num(scaled) * 255, 0, 255).astype(np.uint8)
    return lut(name)[index]
