"""The panels' plots: one factory, so every small plot looks and behaves alike."""

from __future__ import annotations

import pyqtgraph as pg


def make_plot(title: str = "", left: str = "", bottom: str = "", *, interactive: bool = False,
              grid: bool = False, minimum=(220, 170)) -> pg.PlotWidget:
    """A white plot with grey axes, no context menu; fixed (no mouse pan/zoom) unless ``interactive``."""
    plot = pg.PlotWidget(background="w")
    fit_title(plot)
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


def fit_title(plot) -> None:
    """Keep ``plot``'s title inside the plot, whatever its width: a title wider than the plot ends in
    "…" (the whole title is its tooltip). pyqtgraph makes a title's width the plot's minimum, so a long
    title at a narrow size pushed the plot's right side out of sight."""
    item = plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot
    if not isinstance(getattr(item.titleLabel, "fitted", None), _FittedTitle):
        item.titleLabel.fitted = _FittedTitle(item.titleLabel)


class _FittedTitle:
    def __init__(self, label):
        self.label, self.full, self.args, self.busy = label, label.text, {}, False
        self._set, self._resize = label.setText, label.resizeEvent
        label.setText, label.updateMin, label.resizeEvent = self.set_text, self.update_min, self.resized
        self.fit()

    def set_text(self, text, **args) -> None:
        self.full = text
        self.args.update(args)
        self.busy = True
        try:
            self._set(text, **args)   # the whole title first: its height, and the text when it fits
        finally:
            self.busy = False
        self.fit()

    def update_min(self) -> None:
        """A title asks for its height, never for a width (pyqtgraph's LabelItem.updateMin, less the width)."""
        from PySide6 import QtCore

        bounds = self.label.itemRect()
        self.label.setMinimumWidth(0)
        self.label.setMinimumHeight(bounds.height())
        hint = QtCore.Qt.SizeHint
        self.label._sizeHint = {hint.MinimumSize: (0, bounds.height()), hint.PreferredSize: (0, bounds.height()),
                                hint.MaximumSize: (-1, -1), hint.MinimumDescent: (0, 0)}
        self.label.updateGeometry()

    def resized(self, event) -> None:
        self._resize(event)
        if not self.busy:
            self.fit()

    def fit(self) -> None:
        import html

        from PySide6 import QtCore, QtGui

        if self.busy or not self.full:
            return
        room = int(self.label.width()) - 6
        plain = QtGui.QTextDocumentFragment.fromHtml(self.full).toPlainText()
        font = QtGui.QFont(self.label.item.font())
        size = str(self.args.get("size", self.label.opts.get("size", "")))
        if size.endswith("pt"):
            font.setPointSizeF(float(size[:-2]))
        metrics = QtGui.QFontMetrics(font)
        text = self.full
        if 0 < room < metrics.horizontalAdvance(plain):
            text = html.escape(metrics.elidedText(plain, QtCore.Qt.TextElideMode.ElideRight, room))
        self.label.setToolTip(plain if text != self.full else "")
        if text != self.label.text:
            self.busy = True
            try:
                self._set(text, **self.args)
            finally:
                self.busy = False


def category_ticks(plot, ticks) -> None:
    """Names of categories under a plot's x axis [(x, name)], fitted to the room between neighbours: a
    name too wide goes onto more lines (a word a line), then ends in "…", so that no two touch; fitted
    again when the plot is resized. The axis grows to hold the lines."""
    item = plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot
    axis = item.getAxis("bottom")
    axis.category_ticks = list(ticks)
    if not getattr(axis, "fits_categories", False):
        axis.fits_categories = True
        item.vb.sigResized.connect(lambda *_: _fit_categories(item))
        item.vb.sigXRangeChanged.connect(lambda *_: _fit_categories(item))
    _fit_categories(item)


def _fit_categories(item) -> None:
    from PySide6 import QtCore, QtGui

    axis = item.getAxis("bottom")
    ticks = sorted(axis.category_ticks)
    (x0, x1), width = item.vb.viewRange()[0], item.vb.width()
    px = width / max(x1 - x0, 1e-9)
    gaps = [b[0] - a[0] for a, b in zip(ticks, ticks[1:])]
    room = int((min(gaps) if gaps else (x1 - x0)) * px) - 6
    metrics = QtGui.QFontMetrics(axis.style.get("tickFont") or QtGui.QFont())
    fitted, most = [], 1
    for x, name in ticks:
        lines = str(name).split("\n")
        if room > 0 and max(metrics.horizontalAdvance(line) for line in lines) > room:
            lines = " ".join(lines).split() or [""]
        if room > 0:
            lines = [metrics.elidedText(line, QtCore.Qt.TextElideMode.ElideRight, room) for line in lines]
        fitted.append((x, "\n".join(lines)))
        most = max(most, len(lines))
    axis.setTicks([fitted])
    axis.setHeight(metrics.height() * most + 14 if most > 1 else None)


def log_ticks(plot, side: str = "left") -> None:
    """Labels of a log axis that never overlap: 1, 2 and 5 per decade, as many as fit one above the other
    (pyqtgraph labels every minor tick of a short range: "0.9 0.8 0.7" stacked on each other). Refitted
    when the range or the size changes."""
    item = plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot
    item.vb.sigRangeChanged.connect(lambda *_: _fit_log(item, side))
    item.vb.sigResized.connect(lambda *_: _fit_log(item, side))


def _fit_log(item, side: str) -> None:
    import math

    from PySide6 import QtGui

    axis = item.getAxis(side)
    low, high = item.vb.viewRange()[1 if side in ("left", "right") else 0]   # log10 of the values
    span = item.vb.height() if side in ("left", "right") else item.vb.width()
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low or span <= 0:
        return
    metrics = QtGui.QFontMetrics(axis.style.get("tickFont") or QtGui.QFont())
    need = (metrics.height() if side in ("left", "right") else metrics.horizontalAdvance("0.0000")) + 4
    candidates = [math.log10(m) + k for k in range(math.floor(low) - 1, math.ceil(high) + 1) for m in (1, 2, 5)]
    shown = [v for v in candidates if low <= v <= high]
    for step in ((1, 2, 5), (1, 5), (1,)):   # fewer per decade until neighbours are far enough apart
        kept = [v for v in shown if round(10 ** (v - math.floor(v + 1e-9))) in step]
        if all((b - a) / (high - low) * span >= need for a, b in zip(kept, kept[1:])):
            break
    axis.setTicks([[(v, f"{10 ** v:.4g}") for v in kept], [(v, "") for v in shown if v not in kept]])
