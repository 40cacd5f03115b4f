"""The inspector's attention pane (pytest-qt, offscreen): maps drawn over the selected item."""

import numpy as np

from mmstudio.analysis.attention.heatmaps import pointing_hit


def _row(window, sample: str, modality: str) -> int:
    table = window.workspace.table
    return int(np.flatnonzero((table.sample_id == sample) & (table.modality == modality))[0])


def _draw(window, qtbot, text: str):
    pane = window.inspector.attention
    with qtbot.waitSignal(pane.mapReady, timeout=60_000):
        pane.text.setEditText(text)
        pane.compute()
    return pane


def _same(a, b) -> bool:
    """Two maps alike everywhere, relatively (attention weights far from the peak are ~1e-11)."""
    return np.allclose(a, b, rtol=1e-3, atol=0)


def _box(window, row: int, which: str):
    return [int(v) for v in window.workspace.table.columns[f"{which}_box"][row].split()]


def test_a_caption_naming_one_object_peaks_inside_that_objects_box(demo_window, qtbot):
    ws = demo_window.workspace
    row = _row(demo_window, "scene_00000", "image")  # a large red star and a small yellow dot
    ws.select([row])
    pane = demo_window.inspector.attention
    assert pane.isVisibleTo(demo_window.inspector) and pane.method.currentText() == "cross-attention"
    pane = _draw(demo_window, qtbot, "yellow circle")
    assert pane.heat.shape == (64, 64)  # the map as the overlay draws it, at the picture's size
    assert pointing_hit(pane.heat, _box(demo_window, row, "obj2"))
    assert not pointing_hit(pane.heat, _box(demo_window, row, "obj1"))
    assert pane.canvas.overlay is not None and not pane.canvas.overlay.isNull()
    pane = _draw(demo_window, qtbot, "red star")
    assert pointing_hit(pane.heat, _box(demo_window, row, "obj1"))

    whole = pane.heat.copy()
    words = [pane.words.item(i).text() for i in range(pane.words.count())]
    assert words[1:] == ["red", "star"]
    pane.select_word("red")          # what clicking the word does
    assert pane.word == "red" and not _same(pane.heat, whole)
    assert pointing_hit(pane.heat, _box(demo_window, row, "obj1"))
    pane.select_word(None)
    assert _same(pane.heat, whole)


def test_layers_and_heads_can_be_picked_and_change_the_map(demo_window, qtbot):
    ws = demo_window.workspace
    ws.select([_row(demo_window, "scene_00003", "image")])
    pane = _draw(demo_window, qtbot, "green cross")
    assert pane.result.n_layers >= 1 and pane.result.n_heads >= 2
    assert pane.head.maximum() == pane.result.n_heads - 1
    averaged = pane.heat.copy()
    with qtbot.waitSignal(pane.mapReady, timeout=60_000):
        pane.head.setValue(0)
    assert not _same(pane.heat, averaged)


def test_a_sound_shows_attention_over_time_and_a_text_shades_its_words(demo_window, qtbot):
    ws = demo_window.workspace
    ws.select([_row(demo_window, "scene_00000", "audio")])
    pane = _draw(demo_window, qtbot, "red star")
    assert pane.result.modality == "audio" and pane.heat.ndim == 1
    assert len(pane.heat) == len(pane.result.times) and pane.play.isVisibleTo(pane)

    row = _row(demo_window, "scene_00000", "text")
    with qtbot.waitSignal(pane.mapReady, timeout=60_000):
        ws.select([row])
    words = dict(pane.token_relevance)
    assert {"red", "star", "yellow"} <= set(words)
    assert "red" in pane.tokens.text() and "background" in pane.tokens.text()
