"""The map's point cloud as drawn: markers where the points are, in their colours, emphasis on top,
and a frame costs the same few Qt calls whether 50 or 5,000 markers are in view."""

import sys

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui

from mmstudio.ui.map.point_cloud import MAX_STYLES, PointCloudItem, marker_styles


@pytest.fixture
def plot(qtbot):
    from mmstudio.ui.app import make_app

    make_app()
    widget = pg.PlotWidget(background=(255, 255, 255))
    widget.resize(320, 320)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def render(plot, xy, rgb, shapes, selected=(), neighbours=(), size=14.0):
    item = PointCloudItem(marker_size=size)
    item.set_points(np.asarray(xy, np.float32), np.asarray(rgb, np.uint8), np.asarray(shapes))
    item.set_emphasis(selected=selected, neighbours=neighbours)
    plot.addItem(item)
    plot.getViewBox().setRange(xRange=(0, 10), yRange=(0, 10), padding=0)
    QtGui.QGuiApplication.processEvents()
    image = plot.viewport().grab().toImage()
    vb = plot.getViewBox()

    def pixel(x, y, dx=0, dy=0):
        p = plot.mapFromScene(vb.mapViewToScene(QtCore.QPointF(x, y)))
        c = image.pixelColor(p.x() + dx, p.y() + dy)
        return np.array([c.red(), c.green(), c.blue()])

    return item, pixel


def test_each_marker_is_drawn_at_its_point_in_its_colour(plot):
    xy = [(2, 2), (5, 8), (8, 3)]
    rgb = [(220, 40, 40), (40, 170, 60), (40, 80, 220)]
    item, pixel = render(plot, xy, rgb, [0, 1, 2])
    assert item.last_mode == "markers" and item.last_drawn == 3
    for (x, y), colour in zip(xy, rgb):
        assert np.abs(pixel(x, y) - colour).max() <= 12, (x, y, pixel(x, y), colour)
    assert np.abs(pixel(5, 5) - 255).max() <= 2  # nothing drawn between the points


def test_an_emphasised_point_is_bigger_outlined_and_on_top_of_its_neighbour(plot):
    # two points at one place: the selected one comes first in the table but is drawn last
    item, pixel = render(plot, [(5, 5), (5, 5)], [(220, 40, 40), (40, 80, 220)], [0, 0], selected=[0])
    assert np.abs(pixel(5, 5) - (220, 40, 40)).max() <= 12
    # beyond a plain marker's radius (7 px) but inside the selected one's (12.6 px + outline): drawn
    ring = pixel(5, 5, dx=11)
    assert np.abs(ring - 255).max() > 60, ring


def test_a_frame_makes_the_same_few_qt_calls_for_50_or_5000_markers(plot):
    rng = np.random.default_rng(0)
    calls = {}

    def count(frame, event, arg):
        if event == "c_call":
            name = getattr(arg, "__qualname__", "")
            if name.startswith("QPainter."):
                calls[name] = calls.get(name, 0) + 1

    per_frame = []
    for n in (50, 5000):
        plot.clear()
        item, _ = render(plot, rng.uniform(0.5, 9.5, (n, 2)), rng.integers(0, 255, (n, 3)), rng.integers(0, 3, n),
                         selected=[0], neighbours=[1, 2])
        plot.viewport().repaint()  # the atlas is built by the first paint
        calls.clear()
        sys.setprofile(count)
        plot.viewport().repaint()
        sys.setprofile(None)
        assert item.last_mode == "markers" and item.last_drawn == n
        assert calls.get("QPainter.drawPixmapFragments") == 1 and "QPainter.drawPixmap" not in calls, calls
        per_frame.append(sum(calls.values()))
    assert per_frame[0] == per_frame[1] < 20, per_frame


def test_many_colours_share_few_styles_and_stay_close_to_their_colour():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (20_000, 3)).astype(np.uint8)
    shapes = rng.integers(0, 3, 20_000)
    keys, index = marker_styles(shapes, rgb)
    assert len(keys) <= MAX_STYLES
    drawn = np.stack([(keys[index] >> 16) & 255, (keys[index] >> 8) & 255, keys[index] & 255], axis=1)
    assert np.abs(drawn - rgb.astype(np.int64)).max() < 64
    assert np.array_equal(keys[index] >> 24, shapes)
    few = rng.integers(0, 256, (8, 3)).astype(np.uint8)[rng.integers(0, 8, 1000)]
    keys, index = marker_styles(np.zeros(1000, int), few)  # a few label colours are kept exactly
    assert len(keys) <= 8
    assert np.array_equal(np.stack([(keys[index] >> 16) & 255, (keys[index] >> 8) & 255, keys[index] & 255], 1), few)


def test_recolouring_redraws_the_markers_in_their_new_colours(plot):
    item, pixel = render(plot, [(3, 3), (7, 7)], [(220, 40, 40), (40, 80, 220)], [0, 1])
    item.set_colors(np.array([(30, 160, 60), (230, 200, 20)], np.uint8))
    image = plot.viewport().grab().toImage()
    vb = plot.getViewBox()
    for (x, y), colour in zip([(3, 3), (7, 7)], [(30, 160, 60), (230, 200, 20)]):
        p = plot.mapFromScene(vb.mapViewToScene(QtCore.QPointF(x, y)))
        c = image.pixelColor(p.x(), p.y())
        assert np.abs(np.array([c.red(), c.green(), c.blue()]) - colour).max() <= 12


def test_a_million_points_are_set_without_sorting_their_styles(qtbot):
    """Styles are worked out per frame for the markers drawn, not for every row when data arrives."""
    n = 1_000_000
    rng = np.random.default_rng(0)
    item = PointCloudItem()
    calls = []
    import mmstudio.ui.map.point_cloud as pc

    original = pc.marker_styles
    pc.marker_styles = lambda shapes, rgb: calls.append(len(shapes)) or original(shapes, rgb)
    try:
        item.set_points(rng.normal(size=(n, 2)), rng.integers(0, 255, (n, 3)), rng.integers(0, 3, n))
        item.set_colors(rng.integers(0, 255, (n, 3)))
    finally:
        pc.marker_styles = original
    assert calls == []


def test_bounds_are_the_points_extent_and_ignore_a_nan():
    from mmstudio.ui.app import make_app

    make_app()
    item = PointCloudItem()
    xy = np.array([[1.0, -2.0], [3.0, 5.0], [np.nan, 0.0], [-4.0, 1.0]], np.float32)
    item.set_points(xy, np.zeros((4, 3), np.uint8), np.zeros(4))
    assert item.dataBounds(0) == (-4.0, 3.0) and item.dataBounds(1) == (-2.0, 5.0)
    item.set_xy(xy[[1, 0, 3, 3]])
    assert item.dataBounds(0) == (-4.0, 3.0) and item.dataBounds(1) == (-2.0, 5.0)
    rect = item.boundingRect()
    assert rect.left() < -4.0 and rect.right() > 3.0
