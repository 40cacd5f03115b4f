"""Framing a map: every point in sight, as large as the view allows, and none under the colour bar in the
view's top-right corner (a numeric "Colour by", the neighbourhood change of a comparison) — the points
keep below it or to its left, whichever leaves them larger. Without a colour bar it is pyqtgraph's
``autoRange`` with 5 % of padding, as the map always framed its points.
"""

from __future__ import annotations

import numpy as np

BAR_MARGIN = 16       # pixels between the points and the colour bar (its offset from the edge, and air)
MIN_DATA_SIDE = 80    # a view that leaves the points less than this beside or below the bar keeps them under it
FRAME_PADDING = 0.05  # of the points' extent, around them


def frame_clear_of_bar(viewbox, xy: np.ndarray, bar) -> None:
    """Show every point of ``xy`` (view coordinates) as large as the view allows with none under ``bar``
    (a colour bar in the view's top-right corner, when it is shown): the points keep below it or to its
    left, whichever leaves them larger."""
    found = extent(xy)
    if found is None:
        return
    width, height = viewbox.width(), viewbox.height()
    if bar.scale is None or width <= 0 or height <= 0:
        viewbox.autoRange(padding=0.05)
        return
    lo, hi = found
    span = np.maximum(hi - lo, 1e-9) * (1 + 2 * FRAME_PADDING)
    centre = (lo + hi) / 2
    bar_width, bar_height = bar.geometry().width() + BAR_MARGIN, bar.geometry().height() + BAR_MARGIN
    # pixels per data unit when the points keep below the bar, or to its left (or over it, when neither fits)
    below = min(width / span[0], (height - bar_height) / span[1]) if height > bar_height + MIN_DATA_SIDE else 0
    left = min((width - bar_width) / span[0], height / span[1]) if width > bar_width + MIN_DATA_SIDE else 0
    scale = max(below, left)
    if scale <= 0:
        viewbox.autoRange(padding=0.05)
        return
    x_size, y_size = width / scale, height / scale
    if below >= left:   # full width, the points at the bottom
        x0, y0 = centre[0] - x_size / 2, centre[1] - span[1] / 2
    else:               # full height, the points at the left
        x0, y0 = centre[0] - span[0] / 2, centre[1] - y_size / 2
    viewbox.setRange(xRange=(x0, x0 + x_size), yRange=(y0, y0 + y_size), padding=0)


def extent(xy) -> tuple[np.ndarray, np.ndarray] | None:
    """The lowest and highest x and y of the finite points of ``xy`` (None without one), column by column:
    at a million points on the GUI thread ~8 ms, where reductions over the rows of the (N, 2) array and a
    copy of its finite rows took 130 ms."""
    xy = np.asarray(xy)
    if len(xy) == 0:
        return None
    with np.errstate(invalid="ignore"):
        lo = np.array([xy[:, 0].min(), xy[:, 1].min()], np.float64)
        hi = np.array([xy[:, 0].max(), xy[:, 1].max()], np.float64)
    if np.isfinite(lo).all() and np.isfinite(hi).all():
        return lo, hi
    finite = xy[np.isfinite(xy).all(axis=1)]   # a blank or infinite row (rare): the slow way
    if len(finite) == 0:
        return None
    return finite.min(axis=0).astype(np.float64), finite.max(axis=0).astype(np.float64)


def auto_button_frames(plot_item, frame) -> None:
    """pyqtgraph's "A" button (shown on a panned or zoomed view) calls ``frame`` — every point in sight, none
    under the colour bar — where its own auto-range would fit the points to the whole view, under the bar."""
    button = plot_item.autoBtn
    button.clicked.disconnect()

    def clicked(*_) -> None:
        frame()
        button.hide()

    button.clicked.connect(clicked)
