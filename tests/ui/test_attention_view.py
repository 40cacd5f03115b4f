"""The inspector's attention view as a user reads it (pytest-qt, offscreen): the whole picture in view
at the window's default size, the original beside the overlay, a colour bar with the scale's own
numbers, a caption naming the word, layer and head drawn, and a sound's whole spectrogram with the
model's window marked."""

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore, QtWidgets

from mmstudio.analysis.attention.contrast import fit_scale, tick_label
from mmstudio.analysis.attention.heatmaps import AttentionSession


def _row(window, sample: str, modality: str) -> int:
    table = window.workspace.table
    return int(np.flatnonzero((table.sample_id == sample) & (table.modality == modality))[0])


def _wait_map(qtbot, pane, action):
    with qtbot.waitSignal(pane.mapReady, timeout=60_000):
        action()


def _inside(inner: QtCore.QRectF, outer: QtCore.QRectF) -> bool:
    return outer.adjusted(-0.5, -0.5, 0.5, 0.5).contains(inner)


def _fits(canvas) -> None:
    """Every piece of the picture and every label lies inside the canvas; no two overlap."""
    parts = canvas.parts()
    whole = QtCore.QRectF(canvas.rect())
    pieces = [*parts.tiles.values(), parts.bar]
    for rect in pieces + parts.text_rects():
        assert _inside(rect, whole), (rect, whole)
    for group in (pieces, parts.text_rects()):           # neither pictures nor labels overlap each other
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                assert a.intersected(b).isEmpty(), (a, b)
    return parts


def test_the_picture_fits_beside_the_original_with_a_colour_bar_and_a_caption_that_names_what_is_drawn(
        demo_window, qtbot):
    window, ws = demo_window, demo_window.workspace
    window.resize(1400, 860)                                   # the window's default size
    pane = window.inspector.attention
    row = _row(window, "scene_00000", "image")                # a red star and a yellow dot
    _wait_map(qtbot, pane, lambda: ws.select([row]))
    qtbot.waitUntil(lambda: pane.canvas.isVisible() and pane.canvas.height() > 0)

    # the whole picture in view: inside every scrolled area around it, and nothing to scroll
    canvas = pane.canvas
    widget = canvas.parentWidget()
    while widget is not window.inspector:
        if isinstance(widget, QtWidgets.QAbstractScrollArea):
            viewport = widget.viewport()
            box = QtCore.QRect(canvas.mapTo(viewport, QtCore.QPoint(0, 0)), canvas.size())
            assert viewport.rect().contains(box), (box, viewport.rect())
            assert widget.verticalScrollBar().maximum() == widget.horizontalScrollBar().maximum() == 0
        widget = widget.parentWidget()
    box = QtCore.QRect(canvas.mapTo(window.inspector, QtCore.QPoint(0, 0)), canvas.size())
    assert window.inspector.rect().contains(box), (box, window.inspector.rect())
    assert pane.scroller.widget().minimumSizeHint().width() <= pane.scroller.viewport().width()
    parts = _fits(canvas)
    original, overlay = parts.tiles["original"], parts.tiles["overlay"]
    assert original.width() == overlay.width() >= 96               # enlarged from the 64-px picture, side by side
    assert canvas.original.size() == canvas.overlay.size() == QtCore.QSize(64, 64)

    # the colour bar: the numbers the scale drew the map with
    assert pane.contrast.currentText() == "log"
    scale = fit_scale(pane.grid, "log")
    assert pane.scale == scale
    labels = [text for text, _, _ in parts.bar_labels]
    assert labels[0] == tick_label(scale.lo) and labels[-1] == tick_label(scale.hi)
    assert len(labels) >= 3
    for text, place, box in parts.bar_labels:            # each label at the place of its number on the scale
        assert place == pytest.approx(float(scale.unit([float(text)])[0]), abs=0.005)
        assert box.center().y() == pytest.approx(parts.bar.bottom() - place * parts.bar.height(), abs=box.height() / 2 + 0.5)
    pane.contrast.setCurrentText("min-max")
    pane.contrast.activated.emit(pane.contrast.currentIndex())
    labels = [text for text, _, _ in canvas.parts().bar_labels]
    assert labels[0] == tick_label(float(pane.grid.min())) and labels[-1] == tick_label(float(pane.grid.max()))
    assert "min–max scale" in pane.caption.text()

    # the caption names the word, layer and head drawn; the map drawn is AttentionMap's for those
    text = pane.text.currentText()
    session = AttentionSession(ws.encoder)
    image = Image.open(ws.table.path[row]).convert("RGB")
    assert pane.caption.text().startswith("whole text · cross-attention, mean of 2 layers × 4 heads")
    np.testing.assert_allclose(pane.grid, session.map(image, text).grid, rtol=1e-5, atol=1e-12)
    pane.select_word("red")
    red = pane.result.words.index("red")
    assert pane.caption.text().startswith("“red” · cross-attention, mean of 2 layers × 4 heads")
    np.testing.assert_allclose(pane.grid, session.map(image, text).per_word[red], rtol=1e-5, atol=1e-12)
    _wait_map(qtbot, pane, lambda: pane.layer.setValue(0))
    _wait_map(qtbot, pane, lambda: pane.head.setValue(0))
    assert pane.caption.text().startswith("“red” · cross-attention, layer 0 of 2, head 0 of 4"), pane.caption.text()
    expected = session.map(image, text, layers=[0], heads=[0]).per_word[red]
    np.testing.assert_allclose(pane.grid, expected, rtol=1e-5, atol=1e-12)
    assert not np.allclose(expected, session.map(image, text).per_word[red], rtol=1e-3)   # a different map
    pane.select_word(None)
    assert pane.caption.text().startswith("whole text · cross-attention, layer 0 of 2, head 0 of 4")
    np.testing.assert_allclose(pane.grid, session.map(image, text, layers=[0], heads=[0]).grid, rtol=1e-5, atol=1e-12)


def test_a_five_second_sound_is_drawn_whole_with_the_second_the_model_heard_marked(make_window, qtbot, tmp_path):
    import soundfile as sf

    rate = 16000
    t = np.arange(5 * rate) / rate
    sf.write(tmp_path / "long.wav", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)
    (tmp_path / "long.txt").write_text("a red star")
    window = make_window([tmp_path])
    ws = window.workspace
    qtbot.waitUntil(lambda: ws.table is not None and ws.encoder is not None and "audio" in ws.table.modality,
                    timeout=120_000)
    pane = window.inspector.attention
    # selected as soon as the sound is on the map: its caption may join later, and the map is drawn then
    _wait_map(qtbot, pane, lambda: ws.select([int(np.flatnonzero(ws.table.modality == "audio")[0])]))
    qtbot.waitUntil(lambda: pane.canvas.isVisible() and pane.canvas.height() > 0)

    features = ws.encoder.logmel                        # what the built-in model's features keep of a sound
    heard = features.samples / features.sample_rate
    assert heard == 1.0
    canvas = pane.canvas
    assert canvas.spec.duration == 5.0                  # the whole clip is drawn
    assert pane.heard == (0.0, heard)
    parts = _fits(canvas)
    area = parts.tiles["spectrogram"]
    assert parts.window.left() == area.left()
    assert parts.window.width() / area.width() == pytest.approx(heard / 5.0)
    assert [seconds for _, seconds, _ in parts.time_labels][-1] == 5.0
    assert parts.time_labels[0][0] == "0 s" and len(parts.hz_labels) >= 2
    ys = [box.center().y() for _, _, box in parts.hz_labels]
    assert ys == sorted(ys, reverse=True)               # higher frequencies further up
    assert "the model heard 0–1 s of 5 s" in pane.caption.text()
    assert len(pane.grid) == len(pane.result.times) and pane.result.times.max() < heard


def test_a_double_click_opens_the_picture_large_and_it_follows_the_pane(demo_window, qtbot):
    window, ws = demo_window, demo_window.workspace
    pane = window.inspector.attention
    _wait_map(qtbot, pane, lambda: ws.select([_row(window, "scene_00003", "image")]))
    qtbot.mouseDClick(pane.canvas, QtCore.Qt.MouseButton.LeftButton)
    large = pane.large
    qtbot.waitUntil(lambda: large.isVisible() and large.canvas.width() > 600)
    try:
        small, big = pane.canvas.parts(), _fits(large.canvas)
        assert big.tiles["overlay"].width() >= 3 * small.tiles["overlay"].width() / 2
        assert large.canvas.scale == pane.scale and large.caption.text() == pane.caption.text()
        pane.select_word("green")
        assert large.canvas.scale == pane.scale == fit_scale(pane.grid, "log")
        assert large.caption.text().startswith("“green”")
    finally:
        large.close()
