"""Exports from the window: any view or plot as PNG (chosen size and DPI), SVG or PDF; the whole
window as PNG; the embeddings (all or the selection) with their 2-D map; the panels' metrics.

The file formats of embeddings and reports are :mod:`mmstudio.export`'s; this module holds the
dialogs and the rendering of widgets into pictures.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.export.embeddings import FORMATS
from mmstudio.ui.dialogs import ok_cancel

TABLE_FORMATS = {f"{f.title} (*{f.suffix})": name for name, f in FORMATS.items()}  # file dialog entry → format


# ---------------------------------------------------------------------------- figures
def _png(widget, tmp: str, width: int, height: int, dpi: int) -> None:
    image = QtGui.QImage(width, height, QtGui.QImage.Format.Format_ARGB32)
    image.fill(QtGui.QColor("white"))
    image.setDotsPerMeterX(round(dpi / 0.0254))
    image.setDotsPerMeterY(round(dpi / 0.0254))
    _paint(widget, image, width, height)
    if not image.save(tmp, "PNG"):
        raise OSError("could not write the PNG")


def _svg(widget, tmp: str, width: int, height: int, dpi: int) -> None:
    from PySide6 import QtSvg

    generator = QtSvg.QSvgGenerator()
    generator.setFileName(tmp)
    generator.setSize(QtCore.QSize(width, height))
    generator.setViewBox(QtCore.QRect(0, 0, width, height))
    generator.setResolution(dpi)
    generator.setTitle("mmstudio")
    _paint(widget, generator, width, height)


def _pdf(widget, tmp: str, width: int, height: int, dpi: int) -> None:
    writer = QtGui.QPdfWriter(tmp)
    writer.setResolution(dpi)
    writer.setPageSize(QtGui.QPageSize(QtCore.QSizeF(width * 72 / dpi, height * 72 / dpi), QtGui.QPageSize.Unit.Point))
    writer.setPageMargins(QtCore.QMarginsF(0, 0, 0, 0))
    writer.setTitle("mmstudio")
    page = writer.pageLayout().paintRectPixels(dpi)
    _paint(widget, writer, page.width(), page.height())
    del writer  # the PDF is finished when its writer goes


# every figure format, once: suffix → (what the file dialog says, the writer)
FIGURE_FORMATS = {".png": ("PNG image", _png), ".svg": ("SVG drawing", _svg), ".pdf": ("PDF document", _pdf)}
FIGURE_FILTER = ";;".join(f"{title} (*{suffix})" for suffix, (title, _) in FIGURE_FORMATS.items())


def export_figure(widget: QtWidgets.QWidget, path, size: tuple[int, int] | None = None, dpi: int = 96) -> Path:
    """Render ``widget`` (a plot, the map, a panel, the window) into ``path``: ``.png`` at ``size``
    pixels (default: the widget's) and ``dpi``; ``.svg`` and ``.pdf`` as vector pages of that size
    (pictures inside the widget stay pictures). Written whole or not at all."""
    from mmstudio.core.atomic import atomic_write

    path = Path(path)
    width, height = size or (widget.width(), widget.height())
    if path.suffix.lower() not in FIGURE_FORMATS:
        raise ValueError(f"{path}: save a figure as " + ", ".join(FIGURE_FORMATS))
    write = FIGURE_FORMATS[path.suffix.lower()][1]
    return atomic_write(path, lambda tmp: write(widget, str(tmp), width, height, dpi))


def _paint(widget, device, width: int, height: int) -> None:
    """A plot (a graphics view) is drawn from its scene, so lines and text stay vectors in SVG and
    PDF; any other widget is drawn as it paints itself, scaled to the page."""
    painter = QtGui.QPainter(device)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    if isinstance(widget, QtWidgets.QGraphicsView):
        widget.render(painter, QtCore.QRectF(0, 0, width, height), widget.viewport().rect(),
                      QtCore.Qt.AspectRatioMode.IgnoreAspectRatio)
    else:
        painter.scale(width / max(widget.width(), 1), height / max(widget.height(), 1))
        widget.render(painter, QtCore.QPoint(0, 0), QtGui.QRegion(),
                      QtWidgets.QWidget.RenderFlag.DrawChildren | QtWidgets.QWidget.RenderFlag.DrawWindowBackground)
    painter.end()


class FigureDialog(QtWidgets.QDialog):
    """Size and DPI of an exported figure."""

    def __init__(self, widget, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Figure size")
        self.width_box, self.height_box, self.dpi_box = (QtWidgets.QSpinBox() for _ in range(3))
        for box, value, top in ((self.width_box, widget.width() * 2, 20000),
                                (self.height_box, widget.height() * 2, 20000), (self.dpi_box, 192, 1200)):
            box.setRange(16, top)
            box.setValue(value)
        form = QtWidgets.QFormLayout(self)
        form.addRow("Width (px)", self.width_box)
        form.addRow("Height (px)", self.height_box)
        form.addRow("DPI", self.dpi_box)
        buttons = ok_cancel(self)
        form.addRow(buttons)

    def values(self) -> tuple[tuple[int, int], int]:
        return (self.width_box.value(), self.height_box.value()), self.dpi_box.value()


def export_figure_dialog(widget, parent, name: str = "figure") -> Path | None:
    path, _ = QtWidgets.QFileDialog.getSaveFileName(parent, "Export figure", f"{name}.png", FIGURE_FILTER)
    if not path:
        return None
    dialog = FigureDialog(widget, parent)
    if not dialog.exec():
        return None
    size, dpi = dialog.values()
    try:
        return export_figure(widget, path, size, dpi)
    except (OSError, ValueError) as exc:
        QtWidgets.QMessageBox.warning(parent, "Export figure", str(exc))
        return None


def add_figure_menu(plot_widget, parent, name: str = "figure") -> None:
    """Right-click on a pyqtgraph plot: *Export figure (PNG, SVG, PDF)…* beside pyqtgraph's own entries."""
    plot_item = plot_widget.getPlotItem() if hasattr(plot_widget, "getPlotItem") else None
    menu = getattr(getattr(plot_item, "vb", None), "menu", None)
    if menu is None:
        return
    menu.addSeparator()
    menu.addAction("Export figure (PNG, SVG, PDF)…", lambda: export_figure_dialog(plot_widget, parent, name))


# ---------------------------------------------------------------------------- embeddings and metrics
class TableExportDialog(QtWidgets.QDialog):
    def __init__(self, selected: int, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export embeddings")
        self.format = QtWidgets.QComboBox()
        self.format.addItems(list(TABLE_FORMATS))
        self.selection_only = QtWidgets.QCheckBox(f"only the selection ({items(selected)})")
        self.selection_only.setEnabled(selected > 0)
        form = QtWidgets.QFormLayout(self)
        form.addRow("Format", self.format)
        form.addRow("", self.selection_only)
        buttons = ok_cancel(self)
        form.addRow(buttons)


def items(n: int) -> str:
    """"1 item", "2 items", "1,024 items"."""
    return f"{n:,} item" + ("" if n == 1 else "s")


def table_for_export(workspace):
    """The table with the map's ``x``/``y`` columns when the map is complete."""
    from mmstudio.analysis.projection.project import with_xy

    table = workspace.table
    return with_xy(table, workspace.xy) if len(workspace.xy) == len(table) else table


def export_table_dialog(window) -> None:
    ws = window.workspace
    if ws.table is None or len(ws.table) == 0:
        return
    dialog = TableExportDialog(len(ws.selection), window)
    if not dialog.exec():
        return
    fmt = TABLE_FORMATS[dialog.format.currentText()]
    if fmt == "tensorboard":
        path, _ = QtWidgets.QFileDialog.getSaveFileName(window, "TensorBoard projector folder", "projector")
    else:
        suffix = "." + fmt
        path, _ = QtWidgets.QFileDialog.getSaveFileName(window, "Export embeddings", "embeddings" + suffix,
                                                        dialog.format.currentText())
        path = path and (path if path.lower().endswith(suffix) else path + suffix)
    if path:
        rows = ws.selection.copy() if dialog.selection_only.isChecked() else None
        start_table_export(window, path, fmt, rows)


def start_table_export(window, path, fmt: str, rows=None):
    """Write the table (with its map) in the background; the log says what was written."""
    table = table_for_export(window.workspace)

    def work(job):
        from mmstudio.export.embeddings import export_table

        job.status(f"writing {fmt}")
        return export_table(table, path, fmt, rows=rows, job=job)

    def done(result) -> None:
        window.log_line(f"wrote {result.rows:,} rows ({result.format}) to {result.path}")
        for note in result.notes:
            window.log_line(f"  {note}")

    return window.runner.start("export", work, label=f"export {fmt}", on_done=done)


def metrics_report(window) -> dict:
    """The numbers the panels show (each panel with a ``report()``), for JSON or CSV."""
    return {title: panel.report() for title, panel in window.panels.items()
            if hasattr(panel, "report") and panel.report() is not None}


def export_metrics_dialog(window) -> None:
    report = metrics_report(window)
    if not report:
        QtWidgets.QMessageBox.information(window, "Export metrics", "No panel has computed metrics yet.")
        return
    path, _ = QtWidgets.QFileDialog.getSaveFileName(window, "Export metrics", "metrics.json",
                                                    "JSON (*.json);;CSV (*.csv)")
    if path:
        from mmstudio.export.reports import write_report

        try:
            window.log_line(f"wrote the metrics to {write_report(report, path)}")
        except (OSError, ValueError) as exc:
            QtWidgets.QMessageBox.warning(window, "Export metrics", str(exc))
