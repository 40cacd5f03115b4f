"""Stable maps: items added to an open map are placed into it batch by batch and nothing moves; colours
stay with their values (and in the project); zoom and selection stay; Refit is a visible, animated choice."""

import json
import threading

import numpy as np
from ui_helpers import settled

from mmstudio.analysis.projection.project import place_points
from mmstudio.ui.map.point_cloud import EMPHASIS_SELECTED


def label_colours(window) -> dict:
    """The colour each label value is drawn in on the map (read from the points themselves)."""
    table, rgb = window.workspace.table, window.view.cloud.rgb
    out = {}
    for value, colour in zip(table.label.tolist(), map(tuple, rgb.tolist())):
        assert out.setdefault(value, colour) == colour, f"{value} drawn in two colours"
    return out


def captions(path, label: str, n: int, seed: int):
    """A manifest of ``n`` inline captions labelled ``label`` (new text items, new to the cache)."""
    words = ["red", "blue", "circle", "square", "star", "big", "small", "left", "right", "sound"]
    rng = np.random.default_rng(seed)
    rows = [f"{label}_{seed}_{i},{label},{' '.join(rng.choice(words, 4))} {seed} {i}" for i in range(n)]
    path.write_text("id,label,caption\n" + "\n".join(rows) + "\n")
    return path


def test_added_items_are_placed_among_their_neighbours_and_nothing_else_moves(demo_window, qtbot, tmp_path):
    from mmstudio.demo.make import make_world

    window, ws, view = demo_window, demo_window.workspace, demo_window.view
    n = len(ws.table)
    old_table, old_xy, old_display = ws.table, ws.xy.copy(), view.cloud.xy.copy()
    ws.select([0, 5, 40])
    picked = [(ws.table.sample_id[r], ws.table.modality[r]) for r in ws.selection]
    centre = old_display[40].astype(float)
    view.viewbox.setRange(xRange=(centre[0] - 0.3, centre[0] + 0.3), yRange=(centre[1] - 0.3, centre[1] + 0.3),
                          padding=0)
    qtbot.wait(50)
    zoom = np.array(view.viewbox.viewRange())
    fits = []
    ws.layoutChanged.connect(fits.append)

    make_world(tmp_path / "more", n=8, seed=31)              # 24 items: a quarter of the map, placed
    window.open_paths([tmp_path / "more"])
    qtbot.waitUntil(lambda: settled(window) and len(ws.table) == n + 24, timeout=300_000)

    np.testing.assert_array_equal(ws.xy[:n], old_xy)                 # every old point exactly where it was
    np.testing.assert_array_equal(view.cloud.xy[:n], old_display)    # on the screen too
    expected = place_points(old_table.vectors, old_xy, ws.table.vectors[n:])
    np.testing.assert_allclose(ws.xy[n:], expected, atol=1e-5)       # where place_points puts them
    assert fits == []                                                # no new layout of the whole map
    assert ws.map.n_placed == 24 and view.refit.isEnabled() and "24 points are placed" in view.refit.toolTip()
    assert "24 placed" in view.status.text()
    np.testing.assert_allclose(np.array(view.viewbox.viewRange()), zoom, atol=1e-9)   # the zoom stayed
    assert [(ws.table.sample_id[r], ws.table.modality[r]) for r in ws.selection] == picked
    assert set(np.flatnonzero(view.cloud.emphasis == EMPHASIS_SELECTED).tolist()) == {0, 5, 40}


def hold_second_batch(encoder) -> threading.Event:
    """The encoder's second batch waits until the returned event is set (or two minutes pass)."""
    gate, calls = threading.Event(), []
    real = encoder.encode

    def encode(modality, prepared, tokens=False):
        calls.append(modality)
        if len(calls) == 2:
            gate.wait(120)
        return real(modality, prepared, tokens=tokens)

    encoder.encode = encode
    return gate


def test_items_appear_batch_by_batch_while_the_encoding_still_runs(demo_window, qtbot, tmp_path):
    from mmstudio.demo.make import make_world

    window, ws = demo_window, demo_window.workspace
    n, old_xy = len(ws.table), ws.xy.copy()
    encoder = ws.encoder
    gate = hold_second_batch(encoder)   # the second batch waits until the test has seen the first
    seen = []
    ws.pointsAdded.connect(lambda start: seen.append((start, len(ws.table), [j.kind for j in window.runner.running])))
    fits = []
    ws.layoutChanged.connect(fits.append)
    try:
        make_world(tmp_path / "big", n=100, seed=32)          # 300 new items, 64 to a batch
        window.open_paths([tmp_path / "big"])
        qtbot.waitUntil(lambda: len(seen) > 0, timeout=120_000)
        start, rows, running = seen[0]
        assert start == n and n < rows < n + 300                      # the first batch is on the map…
        assert any(kind.startswith("encode-") for kind in running)    # …while the encoding still runs
        assert len(window.view.cloud.xy) == rows
        np.testing.assert_array_equal(ws.xy[:n], old_xy)
    finally:
        gate.set()
        del encoder.encode
    qtbot.waitUntil(lambda: settled(window) and len(ws.table) == n + 300, timeout=300_000)
    assert len(seen) >= 2
    # 300 placed on a map of 72 fitted points: more than half are placed, so the map was refitted by itself
    assert fits and fits[-1] is True and ws.map.n_placed == 0 and not window.view.refit.isEnabled()


def test_cancel_keeps_the_items_already_shown_and_starts_no_layout_by_itself(make_window, qtbot, tmp_path):
    from mmstudio.demo.make import make_world

    window = make_window()
    ws, view = window.workspace, window.view
    qtbot.waitUntil(lambda: ws.encoder is not None and not window.runner.running, timeout=300_000)
    gate = hold_second_batch(ws.encoder)
    try:
        make_world(tmp_path / "w", n=60, seed=35)
        window.open_paths([tmp_path / "w"])
        qtbot.waitUntil(lambda: len(view.cloud.xy) > 0, timeout=120_000)
        window.cancel.click()
    finally:
        gate.set()
        del ws.encoder.encode
    qtbot.waitUntil(lambda: not window.runner.running, timeout=60_000)
    qtbot.wait(800)
    assert not ws.fitting() and 0 < len(ws.table) < 180 and len(view.cloud.xy) == len(ws.table)
    assert view.refit.isEnabled()                                    # laying them out is the user's choice


def test_category_colours_stay_with_their_values_after_adding_and_reopening(demo_window, make_window, qtbot,
                                                                            tmp_path):
    window, ws, view = demo_window, demo_window.workspace, demo_window.view
    view.color_by.setCurrentText("label")
    before = label_colours(window)
    assert len(before) >= 3
    # a new value that sorts before all the others and is now the most frequent one
    n = len(ws.table)
    window.open_paths([captions(tmp_path / "more.csv", "aardvark", 30, seed=33)])
    qtbot.waitUntil(lambda: settled(window) and len(ws.table) == n + 30, timeout=300_000)
    after = label_colours(window)
    assert {value: after[value] for value in before} == before
    assert after["aardvark"] not in before.values()
    legend = [item.text for _, item in view.legend.items]
    assert legend[0] == "aardvark"                                   # the legend still lists by count

    path = tmp_path / "study.mmstudio"
    assert window.projects.save_to(path)
    stored = json.loads(path.read_text())["colouring"]["categories"]["label"]
    assert {value: tuple(int(stored[value][i:i + 2], 16) for i in (1, 3, 5)) for value in after} == after

    again = make_window()
    again.projects.open(path)
    qtbot.waitUntil(lambda: settled(again) and again.workspace.table is not None
                    and len(again.workspace.table) == n + 30 and again.view.color_by.currentText() == "label",
                    timeout=300_000)
    assert label_colours(again) == after


def test_refit_glides_to_a_new_layout_and_keeps_the_old_one_until_then(demo_window, qtbot, tmp_path):
    from mmstudio.demo.make import make_world

    window, ws, view = demo_window, demo_window.workspace, demo_window.view
    n = len(ws.table)
    make_world(tmp_path / "more", n=6, seed=34)
    window.open_paths([tmp_path / "more"])
    qtbot.waitUntil(lambda: settled(window) and len(ws.table) == n + 18, timeout=300_000)
    placed_xy, placed_display = ws.xy.copy(), view.cloud.xy.copy()

    view.refit.click()                                     # cancelled: the map keeps its layout
    assert ws.fitting()
    window.runner.cancel_all()
    qtbot.waitUntil(lambda: not window.runner.running, timeout=60_000)
    qtbot.wait(100)
    np.testing.assert_array_equal(ws.xy, placed_xy)
    np.testing.assert_array_equal(view.cloud.xy, placed_display)

    at_the_end = []

    def landed(final):  # runs after the view's own slot: the glide starts from the old layout
        at_the_end.append((final, view._animation is not None, view.cloud.xy.copy()))

    ws.layoutChanged.connect(landed)
    frames = []
    view.cloud.set_xy = (lambda real: lambda xy: (frames.append(np.array(xy)), real(xy)))(view.cloud.set_xy)
    view.refit.click()
    np.testing.assert_array_equal(ws.xy, placed_xy)        # while the refit runs, the old layout stays
    qtbot.waitUntil(lambda: bool(at_the_end), timeout=120_000)
    final, animating, shown = at_the_end[0]
    assert final and animating
    np.testing.assert_array_equal(shown, placed_display)   # nothing moved before the glide
    qtbot.waitUntil(lambda: settled(window), timeout=60_000)
    assert len(frames) >= 5                                # it glided, frame by frame
    middle = frames[len(frames) // 2]
    assert 0 < np.abs(middle - placed_display).max() < np.abs(frames[-1] - placed_display).max()
    assert np.abs(ws.xy - placed_xy).max() > 1e-3          # the points moved
    assert ws.map.n_placed == 0 and not view.refit.isEnabled()
    np.testing.assert_allclose(view.cloud.xy, frames[-1])
