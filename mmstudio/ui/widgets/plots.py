"""The panels' plots: one factory, so every small plot looks and behaves alike."""

from __future__ import annotations

import pyqtgraph as pg


def make_plot(title: str = "", left: str = "", bottom: str = "", *, interactive: bool = False,
              grid: bool = False, minimum=(220, 170)) -> pg.PlotWidget:
    """A white plot with grey axes, no context menu; fixed (no mouse pan/zoom) unless ``interactive``."""
    plot = pg.PlotWidget(background="w")
    if title:
        plot.setTitle(title, color="#333", size="10pt")
    plot.setMenuEnabled(False)
    if not interactive:
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
    for side, text in (("left", left), ("bottom", bottom)):
        axis = plot.getAxis(side)
        axis.setPen(pg.mkPen("#888"))
        axis.setTextPen(pg.mkPen("#333"))
        axis.enableAutoSIPrefix(False)
        if text:
            plot.setLabel(side, text, color="#333")
    if grid:
        plot.showGrid(x=True, y=True, alpha=0.2)
    plot.setMinimumSize(*minimum)
    return plot
