"""Exports from the window: the map as PNG/SVG/PDF that open and are not blank; embeddings with the map."""

import xml.etree.ElementTree as ET

import numpy as np
from pypdf import PdfReader
from PySide6 import QtGui

from mmstudio.ui.export import export_figure, start_table_export


def _not_blank(image: QtGui.QImage) -> bool:
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return pixels.std() > 5


def test_the_map_exports_as_png_svg_and_pdf_that_open_and_are_not_blank(demo_window, tmp_path):
    from PySide6 import QtSvg

    plot = demo_window.view.plot
    png = export_figure(plot, tmp_path / "map.png", size=(1200, 900), dpi=200)
    image = QtGui.QImage(str(png))
    assert (image.width(), image.height()) == (1200, 900) and _not_blank(image)
    assert round(image.dotsPerMeterX() * 0.0254) == 200

    svg = export_figure(plot, tmp_path / "map.svg", size=(800, 600))
    assert ET.parse(svg).getroot().tag.endswith("svg")
    renderer = QtSvg.QSvgRenderer(str(svg))
    assert renderer.isValid()
    drawn = QtGui.QImage(800, 600, QtGui.QImage.Format.Format_RGB32)
    drawn.fill(QtGui.QColor("white"))
    painter = QtGui.QPainter(drawn)
    renderer.render(painter)
    painter.end()
    assert _not_blank(drawn)

    pdf = export_figure(plot, tmp_path / "map.pdf", size=(800, 600), dpi=96)
    reader = PdfReader(pdf)  # opens as a PDF reader would
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (600, 450)  # 800×600 px at 96 dpi
    drawn = page.get_contents().get_data()
    strokes_and_fills = sum(drawn.count(op) for op in (b" f\n", b" S\n", b" Do\n", b" f*\n", b" B\n"))
    assert strokes_and_fills >= 72  # a mark for every item of the demo, at least


def test_embeddings_export_with_the_map_and_the_selection(demo_window, qtbot, tmp_path):
    import pyarrow.parquet as pq

    ws = demo_window.workspace
    chosen = np.flatnonzero(ws.table.sample_id == "scene_00002")
    job = start_table_export(demo_window, tmp_path / "sel.parquet", "parquet", rows=chosen)
    qtbot.waitUntil(lambda: job not in demo_window.runner.running, timeout=60_000)
    table = pq.read_table(tmp_path / "sel.parquet")
    assert table.num_rows == len(chosen) and set(table.column("sample_id").to_pylist()) == {"scene_00002"}
    np.testing.assert_allclose(table.column("x").to_numpy(), ws.xy[chosen, 0], rtol=1e-6)
    assert "wrote 3 rows (parquet)" in demo_window.log.toPlainText()
