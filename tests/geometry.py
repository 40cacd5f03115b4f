"""What a person sees clipped or covered in a window, as one line per problem.

:func:`problems` walks every widget on screen under a root (a widget behind another tab, in a
closed dock or scrolled out of sight is not on screen) and reports:

- a widget that sticks out of its parent, or overlaps a sibling;
- a label, button, check box, combo box, tab or line edit whose text is wider than its room
  (``QFontMetrics.horizontalAdvance`` against the room the style leaves it);
- a table, tree or list whose columns need a horizontal scroll bar, and a cell or header whose
  text is wider than its column, unless it is elided on purpose: the item carries the full text
  as its tooltip;
- a plot (pyqtgraph) whose data area is too small to read, whose axis labels overlap each other,
  whose legend has no background or covers a data point, curve or bar, and a text drawn on a bar
  in a colour too close to the bar's (WCAG contrast below ``MIN_CONTRAST``).

Scrolled content is allowed to be larger than its viewport (that is what the scroll area is for).
A widget can opt out of a check by naming it in its ``geometry_exempt`` property (a list of check
names, each with its reason where it is set): a check's name is its function's without the
underscore, e.g. ``"view_columns"`` for a table meant to scroll sideways. Panels added to
``window.panels`` are walked like the others (tests/ui/test_layout_geometry.py).
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

TOLERANCE = 1            # pixels of rounding
MIN_PLOT = (60, 40)      # a plot's data area narrower or lower than this cannot be read
MIN_CONTRAST = 3.0       # WCAG 2's contrast ratio for large text / graphics


def on_screen(widget: QtWidgets.QWidget) -> bool:
    """Shown and not behind another dock's tab (Qt keeps those "visible" with nothing of them on screen;
    a widget covered by its own children also has an empty visible region, so only docks are asked)."""
    if not widget.isVisible():
        return False
    return not isinstance(widget, QtWidgets.QDockWidget) or not widget.visibleRegion().isEmpty()


def problems(root: QtWidgets.QWidget) -> list[str]:
    """Every problem under ``root`` (included), one line each, naming the widget by its path."""
    found: list[str] = []
    for widget in _walk(root):
        path = _path(widget, root)
        for check in CHECKS:
            if check.__name__.lstrip("_") in _exempt(widget):
                continue
            found.extend(f"{path}: {line}" for line in check(widget))
    return found


def _walk(widget):
    if not on_screen(widget) or widget.width() == 0 or widget.height() == 0:
        return
    parent = widget.parentWidget()
    if isinstance(widget, QtWidgets.QTabBar) and isinstance(parent, QtWidgets.QMainWindow) \
            and not parent.rect().intersects(widget.geometry()):
        return   # a dock area's tab bar that Qt parks out of sight while unused
    yield widget
    for child in widget.children():
        if isinstance(child, QtWidgets.QWidget) and not child.isWindow():
            yield from _walk(child)


def _exempt(widget) -> set[str]:
    return set(widget.property("geometry_exempt") or ())


def _path(widget, root) -> str:
    names = []
    while widget is not None and widget is not root.parentWidget():
        name = widget.objectName() or type(widget).__name__
        text = _text(widget)
        names.append(f"{name}({text[:20]!r})" if text else name)
        widget = widget.parentWidget()
    return "/".join(reversed(names[:4])) if len(names) <= 4 else ".../" + "/".join(reversed(names[:4]))


def _text(widget) -> str:
    if isinstance(widget, (QtWidgets.QLabel, QtWidgets.QAbstractButton)):
        return widget.text()
    if isinstance(widget, QtWidgets.QDockWidget):
        return widget.windowTitle()
    if isinstance(widget, QtWidgets.QComboBox):
        return widget.currentText()
    return ""


def _scrolled(widget) -> bool:
    """Content of a scroll area (its viewport's children may be larger than the viewport)."""
    parent = widget.parentWidget()
    area = parent.parentWidget() if parent is not None else None
    return isinstance(area, QtWidgets.QAbstractScrollArea) and parent is area.viewport()


# ---------------------------------------------------------------------------- geometry
def _outside(widget) -> list[str]:
    parent = widget.parentWidget()
    if parent is None or widget.isWindow() or isinstance(parent, QtWidgets.QTabBar):
        return []   # a tab bar's scroll buttons sit where the bar wants them (the tab check covers the bar)
    if _scrolled(widget):
        return _unreachable(widget)
    inner = parent.rect().adjusted(-TOLERANCE, -TOLERANCE, TOLERANCE, TOLERANCE)
    if inner.contains(widget.geometry()):
        return []
    g, p = widget.geometry(), parent.rect()
    return [f"sticks out of its parent ({g.x()},{g.y()} {g.width()}×{g.height()} in {p.width()}×{p.height()})"]


def _unreachable(widget) -> list[str]:
    """Scrolled content may be larger than its viewport only in a direction the area scrolls."""
    area = widget.parentWidget().parentWidget()
    view, rect = widget.parentWidget().rect(), widget.geometry()
    lines = []
    for name, hidden, bar, policy in (
            ("wider", max(0, view.left() - rect.left()) + max(0, rect.right() - view.right()),
             area.horizontalScrollBar(), area.horizontalScrollBarPolicy()),
            ("taller", max(0, view.top() - rect.top()) + max(0, rect.bottom() - view.bottom()),
             area.verticalScrollBar(), area.verticalScrollBarPolicy())):
        stuck = policy == QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff or bar.maximum() == 0
        if hidden > TOLERANCE and stuck and not isinstance(area, QtWidgets.QAbstractItemView):
            lines.append(f"is {hidden} px {name} than its scroll area, which cannot scroll that way")
    return lines


def _overlap(widget) -> list[str]:
    """Siblings laid out over each other (checked once per pair, from the first one)."""
    parent = widget.parentWidget()
    if parent is None or widget.isWindow() or _scrolled(widget) or isinstance(parent, QtWidgets.QAbstractScrollArea):
        return []   # a scroll area's viewport, bars and corner are placed by the area
    if isinstance(parent.layout(), QtWidgets.QStackedLayout):
        return []
    siblings = [c for c in parent.children() if isinstance(c, QtWidgets.QWidget) and not c.isWindow() and on_screen(c)]
    if widget not in siblings:
        return []
    lines = []
    mine = widget.geometry().adjusted(TOLERANCE, TOLERANCE, -TOLERANCE, -TOLERANCE)
    for other in siblings[siblings.index(widget) + 1:]:
        if _floats_over(widget, other):
            continue
        if mine.intersects(other.geometry()):
            lines.append(f"overlaps {type(other).__name__} {other.objectName() or _text(other)[:20]!r}")
    return lines


def _floats_over(a, b) -> bool:
    """Widgets laid over their siblings on purpose: splitter handles, size grips, rubber bands, and the
    parts a main window or a dock places itself (a dock's title buttons, the window's separators)."""
    kinds = (QtWidgets.QRubberBand, QtWidgets.QSizeGrip, QtWidgets.QSplitterHandle)
    return isinstance(a, kinds) or isinstance(b, kinds) or _placed_by_qt(a) or _placed_by_qt(b)


def _placed_by_qt(widget) -> bool:
    parent = widget.parentWidget()
    if isinstance(parent, QtWidgets.QMainWindow):
        return not isinstance(widget, (QtWidgets.QDockWidget, QtWidgets.QToolBar, QtWidgets.QStatusBar,
                                       QtWidgets.QMenuBar)) and widget is not parent.centralWidget()
    if isinstance(parent, QtWidgets.QDockWidget):
        return widget is not parent.widget()
    return False


# ---------------------------------------------------------------------------- text
def _room(widget) -> int:
    return widget.contentsRect().width()


def _label_text(widget) -> list[str]:
    if not isinstance(widget, QtWidgets.QLabel) or not widget.text() or widget.pixmap() is not None and not widget.pixmap().isNull():
        return []
    room = widget.contentsRect()
    rich = widget.textFormat() == QtCore.Qt.TextFormat.RichText or (
        widget.textFormat() == QtCore.Qt.TextFormat.AutoText and QtGui.Qt.mightBeRichText(widget.text()))
    if widget.wordWrap():
        need = widget.heightForWidth(widget.width())
        if need > widget.height() + TOLERANCE and not _scrolled(widget.parentWidget() or widget):
            return [f"wrapped text needs {need} px of height, has {widget.height()}"]
        return _words_too_long(widget, rich)
    if rich:
        doc = QtGui.QTextDocument()
        doc.setDefaultFont(widget.font())
        doc.setDocumentMargin(0)
        doc.setHtml(widget.text())
        need = int(np.ceil(doc.idealWidth()))
    else:
        need = max(widget.fontMetrics().horizontalAdvance(line) for line in widget.text().splitlines())
    if need > room.width() + TOLERANCE and not widget.toolTip():
        return [f"text needs {need} px, has {room.width()}"]
    return []


def _words_too_long(widget, rich) -> list[str]:
    """A word-wrapped label still clips a single word longer than its width."""
    text = QtGui.QTextDocumentFragment.fromHtml(widget.text()).toPlainText() if rich else widget.text()
    metrics = widget.fontMetrics()
    bold = QtGui.QFontMetrics(QtGui.QFont(widget.font().family(), widget.font().pointSize(), QtGui.QFont.Weight.Bold))
    words = text.replace("\u200b", " ").split()
    longest = max((max(metrics.horizontalAdvance(w), bold.horizontalAdvance(w) if rich else 0) for w in words), default=0)
    if longest > widget.contentsRect().width() + TOLERANCE:
        return [f"a word needs {longest} px, the label has {widget.contentsRect().width()}"]
    return []


def _button_text(widget) -> list[str]:
    if not isinstance(widget, QtWidgets.QAbstractButton) or not widget.text() or isinstance(widget, QtWidgets.QToolButton) and widget.autoRaise() and not widget.text().strip():
        return []
    style, metrics = widget.style(), widget.fontMetrics()
    text = widget.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
    need = metrics.horizontalAdvance(text)
    if isinstance(widget, (QtWidgets.QCheckBox, QtWidgets.QRadioButton)):
        metric = QtWidgets.QStyle.PixelMetric
        need += style.pixelMetric(metric.PM_IndicatorWidth, None, widget) + style.pixelMetric(metric.PM_CheckBoxLabelSpacing, None, widget)
    else:
        if not widget.icon().isNull():
            need += widget.iconSize().width() + 4
        need += 2 * widget.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_ButtonMargin, None, widget) // 2
    if isinstance(widget, QtWidgets.QPushButton) and widget.menu() is not None:
        need += style.pixelMetric(QtWidgets.QStyle.PixelMetric.PM_MenuButtonIndicator, None, widget)
    if need > widget.width() + TOLERANCE:
        return [f"text needs {need} px, the button has {widget.width()}"]
    return []


def _combo_text(widget) -> list[str]:
    if not isinstance(widget, QtWidgets.QComboBox) or widget.isEditable() or not widget.currentText():
        return []
    option = QtWidgets.QStyleOptionComboBox()
    widget.initStyleOption(option)
    field = widget.style().subControlRect(QtWidgets.QStyle.ComplexControl.CC_ComboBox, option,
                                          QtWidgets.QStyle.SubControl.SC_ComboBoxEditField, widget)
    need = widget.fontMetrics().horizontalAdvance(widget.currentText())
    if not widget.itemIcon(widget.currentIndex()).isNull():
        need += widget.iconSize().width() + 4
    if need > field.width() + TOLERANCE:
        return [f"current text needs {need} px, the box shows {field.width()}"]
    return []


def _line_edit_text(widget) -> list[str]:
    if not isinstance(widget, QtWidgets.QLineEdit) or widget.text() or not widget.placeholderText():
        return []
    if isinstance(widget.parentWidget(), (QtWidgets.QAbstractSpinBox, QtWidgets.QComboBox)):
        return []
    room = widget.width() - 12 - (20 if widget.isClearButtonEnabled() else 0)
    need = widget.fontMetrics().horizontalAdvance(widget.placeholderText())
    if need > room + TOLERANCE:
        return [f"placeholder {widget.placeholderText()!r} needs {need} px, the box shows {room}"]
    return []


def _tab_text(widget) -> list[str]:
    if not isinstance(widget, QtWidgets.QTabBar):
        return []
    lines = []
    metrics = widget.fontMetrics()
    for i in range(widget.count()):
        rect = widget.tabRect(i)
        if not widget.rect().adjusted(-TOLERANCE, 0, TOLERANCE, 0).contains(rect):
            lines.append(f"tab {widget.tabText(i)!r} is outside the bar (scrolled away)")
        elif metrics.horizontalAdvance(widget.tabText(i).replace("&", "")) + 8 > rect.width():
            lines.append(f"tab {widget.tabText(i)!r} is elided")
    return lines


# ---------------------------------------------------------------------------- item views
def _view_columns(widget) -> list[str]:
    if not isinstance(widget, (QtWidgets.QTableView, QtWidgets.QTreeView, QtWidgets.QListView)):
        return []
    bar = widget.horizontalScrollBar()
    if widget.model() is not None and widget.model().rowCount() and bar.maximum() > 0 and not isinstance(
            widget, QtWidgets.QHeaderView):
        return [f"its columns need a horizontal scroll bar ({bar.maximum()} px hidden)"]
    return []


def _cell_text(widget) -> list[str]:
    if not isinstance(widget, (QtWidgets.QTableView, QtWidgets.QTreeView, QtWidgets.QListView)) or widget.model() is None:
        return []
    model, viewport = widget.model(), widget.viewport().rect()
    if getattr(widget.itemDelegate(), "draws_own_rows", False):
        return []   # a delegate that lays out its own rows (and has its own test)
    margin = widget.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1
    lines = []
    columns = model.columnCount() if not isinstance(widget, QtWidgets.QListView) else 1
    for row in range(model.rowCount()):
        for column in range(columns):
            index = model.index(row, column)
            rect = widget.visualRect(index)
            if not rect.isValid() or not viewport.intersects(rect):
                continue
            text = index.data(QtCore.Qt.ItemDataRole.DisplayRole)
            if text is None or str(text) == "":
                continue
            text = str(text)
            font = index.data(QtCore.Qt.ItemDataRole.FontRole) or widget.font()
            need = QtGui.QFontMetrics(font).horizontalAdvance(text) + 2 * margin
            if index.data(QtCore.Qt.ItemDataRole.DecorationRole) is not None:
                need += widget.iconSize().width() + 4 if widget.iconSize().isValid() else 20
            room = rect.width() if not isinstance(widget, QtWidgets.QListView) else min(rect.width(), viewport.width() - rect.x())
            if need > room + TOLERANCE and str(index.data(QtCore.Qt.ItemDataRole.ToolTipRole) or "").find(text) < 0:
                lines.append(f"cell ({row}, {column}) {text[:30]!r} needs {need} px, has {room} (and no tooltip)")
    if isinstance(widget, QtWidgets.QTableView):
        lines += _header_text(widget.horizontalHeader(), model)
    return lines


def _header_text(header, model) -> list[str]:
    if not header.isVisible():
        return []
    lines = []
    metrics = header.fontMetrics()
    pad = 2 * header.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_HeaderMargin, None, header)
    for column in range(model.columnCount()):
        if header.isSectionHidden(column):
            continue
        text = model.headerData(column, QtCore.Qt.Orientation.Horizontal, QtCore.Qt.ItemDataRole.DisplayRole)
        if not text:
            continue
        need = metrics.horizontalAdvance(str(text)) + pad
        tip = model.headerData(column, QtCore.Qt.Orientation.Horizontal, QtCore.Qt.ItemDataRole.ToolTipRole)
        if need > header.sectionSize(column) + TOLERANCE and str(text) not in str(tip or ""):
            lines.append(f"header {text!r} needs {need} px, its column has {header.sectionSize(column)}")
    return lines


# ---------------------------------------------------------------------------- plots
def _plot(widget) -> list[str]:
    import pyqtgraph as pg

    if not isinstance(widget, pg.GraphicsView):
        return []
    lines = []
    for vb in [i for i in widget.scene().items() if isinstance(i, pg.ViewBox) and i.isVisible()
               and not isinstance(i.parentItem(), pg.ColorBarItem)]:   # a colour bar is meant to be narrow
        rect = widget.mapFromScene(vb.sceneBoundingRect()).boundingRect()
        if rect.width() < MIN_PLOT[0] or rect.height() < MIN_PLOT[1]:
            lines.append(f"a plot's data area is {rect.width()}×{rect.height()} px (under {MIN_PLOT[0]}×{MIN_PLOT[1]})")
    viewport = QtCore.QRectF(widget.viewport().rect()).adjusted(-TOLERANCE, -TOLERANCE, TOLERANCE, TOLERANCE)
    for item in [i for i in widget.scene().items() if isinstance(i, (pg.PlotItem, pg.LabelItem)) and i.isVisible()]:
        rect = widget.mapFromScene(item.sceneBoundingRect()).boundingRect().toRectF()
        if isinstance(item, pg.LabelItem) and item.text:
            if not viewport.contains(rect):
                lines.append(f"a plot's label {item.text[:30]!r} sticks out of the plot")
            elif item.item.boundingRect().width() > item.boundingRect().width() + TOLERANCE:
                lines.append(f"a plot's label {item.text[:30]!r} needs {item.item.boundingRect().width():.0f} px, "
                             f"has {item.boundingRect().width():.0f}")
        elif isinstance(item, pg.PlotItem) and not viewport.contains(rect):
            lines.append(f"a plot is {rect.width():.0f}×{rect.height():.0f} px in a view of {widget.viewport().width()}×"
                         f"{widget.viewport().height()}: cut off")
    for axis in [i for i in widget.scene().items() if isinstance(i, pg.AxisItem) and i.isVisible()]:
        lines += _axis_labels(axis)
    for legend in [i for i in widget.scene().items() if isinstance(i, pg.LegendItem) and i.isVisible()]:
        lines += _legend(legend, widget)
    lines += _bar_text(widget)
    return lines


def _axis_labels(axis) -> list[str]:
    """The tick labels an axis draws, as rectangles: none may overlap another."""
    image = QtGui.QImage(4, 4, QtGui.QImage.Format.Format_ARGB32)
    painter = QtGui.QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    if not specs:
        return []
    texts = [(QtCore.QRectF(rect), text) for rect, _, text in specs[2] if text]
    for i, (a, ta) in enumerate(texts):
        for b, tb in texts[i + 1:]:
            if a.adjusted(1, 1, -1, -1).intersects(b):
                return [f"axis {axis.orientation!r}: tick labels {ta!r} and {tb!r} overlap"]
    return []


def _data_points(vb) -> list[np.ndarray]:
    """Scene coordinates of the data a view box draws (points, curves densified along their segments, bar corners)."""
    import pyqtgraph as pg

    out = []
    for item in vb.addedItems:
        if not item.isVisible():
            continue
        if isinstance(item, pg.PlotDataItem):
            x, y = item.getData()
            parts = [(x, y)]
        elif isinstance(item, pg.ScatterPlotItem):
            data = item.data
            parts = [(data["x"], data["y"])]
        elif isinstance(item, pg.PlotCurveItem):
            parts = [(item.xData, item.yData)]
        elif isinstance(item, pg.BarGraphItem):
            rect = item.boundingRect()
            corners = [item.mapToScene(QtCore.QPointF(px, py)) for px in np.linspace(rect.left(), rect.right(), 12)
                       for py in np.linspace(rect.top(), rect.bottom(), 12)]
            out.append(np.array([[p.x(), p.y()] for p in corners]))
            continue
        else:
            continue
        for x, y in parts:
            if x is None or len(x) == 0:
                continue
            x, y = np.asarray(x, float), np.asarray(y, float)
            if isinstance(item, (pg.PlotDataItem, pg.PlotCurveItem)) and len(x) > 1:
                if item.opts.get("logMode", (False, False))[1] if isinstance(item, pg.PlotDataItem) else False:
                    y = np.log10(np.clip(y, 1e-300, None))
                t = np.linspace(0, 1, 9)[:, None]
                x = (x[:-1] * (1 - t) + x[1:] * t).ravel()
                y = (y[:-1] * (1 - t) + y[1:] * t).ravel()
            keep = np.isfinite(x) & np.isfinite(y)
            pts = [vb.mapViewToScene(QtCore.QPointF(a, b)) for a, b in zip(x[keep], y[keep])]
            out.append(np.array([[p.x(), p.y()] for p in pts]).reshape(-1, 2))
    return out


def _legend(legend, view) -> list[str]:
    lines = []
    import pyqtgraph as pg

    if legend.opts.get("brush") is None or pg.mkBrush(legend.opts["brush"]).style() == QtCore.Qt.BrushStyle.NoBrush:
        lines.append("a legend has no background")
    if not legend.items:
        return lines
    box = legend.sceneBoundingRect()
    if not QtCore.QRectF(view.viewport().rect()).adjusted(-1, -1, 1, 1).contains(view.mapFromScene(box).boundingRect().toRectF()):
        lines.append("a legend sticks out of its plot")

    for vb in [i for i in view.scene().items() if isinstance(i, pg.ViewBox) and i.isVisible()]:
        inner = vb.sceneBoundingRect()
        for points in _data_points(vb):
            inside = (points[:, 0] >= box.left()) & (points[:, 0] <= box.right()) & (points[:, 1] >= box.top()) \
                & (points[:, 1] <= box.bottom())
            inside &= (points[:, 0] >= inner.left()) & (points[:, 0] <= inner.right()) \
                & (points[:, 1] >= inner.top()) & (points[:, 1] <= inner.bottom())
            if inside.any():
                return lines + [f"a legend covers {int(inside.sum())} data points"]
    return lines


def luminance(rgb) -> float:
    """WCAG relative luminance of an sRGB colour (0–255)."""
    c = np.asarray(rgb[:3], float) / 255
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])


def contrast(a, b) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _bar_text(view) -> list[str]:
    """A text item drawn over a bar must stand out from it."""
    import pyqtgraph as pg

    items = view.scene().items()
    texts = [i for i in items if isinstance(i, pg.TextItem) and i.isVisible() and i.textItem.toPlainText()]
    bars = [i for i in items if isinstance(i, pg.BarGraphItem) and i.isVisible()]
    lines = []
    for text in texts:
        centre = text.sceneBoundingRect().center()
        colour = text.textItem.defaultTextColor()
        for bar in bars:
            fill = _bar_colour_at(bar, centre)
            if fill is not None and contrast(colour.getRgb(), fill) < MIN_CONTRAST:
                lines.append(f"text {text.textItem.toPlainText()!r} on a bar: contrast {contrast(colour.getRgb(), fill):.1f}"
                             f" (under {MIN_CONTRAST})")
    return lines


def _bar_colour_at(bar, scene_point):
    """The fill colour of the bar of ``bar`` under a scene point, or None."""
    import pyqtgraph as pg

    opts = bar.opts
    point = bar.mapFromScene(scene_point)
    x0, x1, y0, y1 = (np.atleast_1d(np.asarray(v, float)) if v is not None else None for v in
                      (opts.get("x0"), opts.get("x1"), opts.get("y0"), opts.get("y1")))
    x, w, y, h = (np.atleast_1d(np.asarray(opts[k], float)) if opts.get(k) is not None else None
                  for k in ("x", "width", "y", "height"))
    if x0 is None:
        x0 = x - w / 2 if w is not None else x
    if x1 is None:
        x1 = x0 + w if w is not None else x + w / 2
    if y0 is None:
        y0 = y - h / 2 if y is not None and h is not None else np.zeros(1) if y is None else y
    if y1 is None:
        y1 = y0 + h if h is not None else y + (h or 0) / 2
    n = max(len(x0), len(x1), len(y0), len(y1))
    x0, x1, y0, y1 = (np.broadcast_to(v, n) for v in (x0, x1, y0, y1))
    inside = (np.minimum(x0, x1) <= point.x()) & (point.x() <= np.maximum(x0, x1)) \
        & (np.minimum(y0, y1) <= point.y()) & (point.y() <= np.maximum(y0, y1))
    if not inside.any():
        return None
    i = int(np.flatnonzero(inside)[0])
    brushes = opts.get("brushes")
    brush = brushes[i] if brushes is not None else opts.get("brush")
    return pg.mkBrush(brush).color().getRgb()


CHECKS = (_outside, _overlap, _label_text, _button_text, _combo_text, _line_edit_text, _tab_text, _view_columns,
          _cell_text, _plot)
