"""The alignment panel over the demo: the numbers it shows, the matrix click, the gap slider, the trainer."""

import dataclasses

import numpy as np
import pytest
from PySide6 import QtCore

from mmstudio.analysis.alignment.gap import gap_shift, modality_gap
from mmstudio.analysis.alignment.report import pair_rows, retrieve
from mmstudio.analysis.alignment.retrieval import normalise, similarity_matrix


def open_panel(window, qtbot, settings=None):
    from mmstudio.ui.alignment.panel import QtAlignmentPanel

    panel = QtAlignmentPanel(window.workspace, window.view)
    qtbot.addWidget(panel)
    if settings is not None:
        panel.apply_settings(settings)  # before the report exists: kept until it comes
    panel.resize(1400, 380)
    panel.show()
    with qtbot.waitSignal(panel.reportReady, timeout=120_000):
        pass
    return panel


def shown_row(panel, name):
    for i in range(panel.table.rowCount()):
        if panel.table.item(i, 0).text() == name:
            return {panel.table.horizontalHeaderItem(j).text(): panel.table.item(i, j).text()
                    for j in range(panel.table.columnCount())}
    raise AssertionError(f"no row {name!r} in the retrieval table")


def test_retrieval_table_shows_what_the_analysis_computes_and_settings_wait_for_the_report(demo_window, qtbot):
    settings = {"pair": ["audio", "text"], "sort_by_label": True, "shift": 0.5,
                "trainer": {"source": "text", "target": "audio", "loss": "Triplet", "margin": 0.3, "steps": 120}}
    panel = open_panel(demo_window, qtbot, settings)
    table = demo_window.workspace.table
    pairs = pair_rows(table, "image", "text")
    expected = retrieve(table.vectors[pairs.rows_a], table.vectors[pairs.rows_b]).summary()
    row = shown_row(panel, "image → text")
    assert row["R@1"] == f"{expected['R@1']:.3f}" and row["R@10"] == f"{expected['R@10']:.3f}"
    assert row["mAP@10"] == f"{expected['mAP@10']:.3f}" and row["median rank"] == f"{expected['median_rank']:.1f}"
    assert panel.table.rowCount() == 6  # three pairs, both directions
    assert panel.report["pairs"][1]["retrieval"][0]["R@1"] == expected["R@1"]
    # the settings given before the report were applied when it came, and come back out
    out = panel.settings()
    assert out["pair"] == ["audio", "text"] and out["sort_by_label"] and out["shift"] == 0.5
    assert out["trainer"]["loss"] == "Triplet" and out["trainer"]["steps"] == 120
    assert out["trainer"]["source"] == "text" and out["trainer"]["margin"] == pytest.approx(0.3)
    assert "Diagnosis" in panel.maps_text.text() and panel.worst.count() > 0
    n = len(pair_rows(table, "audio", "text"))   # the pair shown: the line under the table says what was scored
    assert panel.scope_text.text() == f"audio ↔ text, both ways: exact, all {n:,} queries"


def test_clicking_a_matrix_cell_selects_both_items(demo_window, qtbot):
    panel = open_panel(demo_window, qtbot, {"pair": ["image", "text"], "sort_by_label": True})
    table = demo_window.workspace.table
    pairs = pair_rows(table, "image", "text")
    order = np.argsort(np.array([str(v) for v in table.label[pairs.rows_a]], dtype=object), kind="stable")
    i, j = 3, 17
    plot = panel.matrix.plot
    at = plot.mapFromScene(panel.matrix.cell_center(i, j))
    qtbot.mouseClick(plot.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=at)
    selected = demo_window.workspace.selection.tolist()
    assert sorted(selected) == sorted([int(pairs.rows_a[order[i]]), int(pairs.rows_b[order[j]])])
    assert table.modality[selected].tolist().count("image") == 1
    # every partner of the demo ranks 1: the worst-pairs list says so instead of listing pairs at rank 1
    # (a worst pair clicked selects both and opens them: tests/ui/test_retrieval_browser.py)
    data = panel.pairs[panel.current_pair()]
    assert [r["R@1"] for r in data.report["retrieval"]] == [1.0, 1.0]
    assert [panel.worst.item(i).text() for i in range(panel.worst.count())] == [
        f"every {data.a} ↔ {data.b} partner ranks 1, both ways: no pair is misplaced"]
    # a large pair draws a seeded random sample of its pairs, and the matrix says which
    assert panel.matrix.plot.getAxis("bottom").labelText == data.b   # the demo's pairs: all drawn
    shown = np.sort(np.random.default_rng(0).choice(len(pairs), 20, replace=False))
    sample = dataclasses.replace(data, shown=shown, similarity=similarity_matrix(data.xa[shown], data.xb[shown]), seed=0)
    panel.matrix.set_pair(sample)
    assert panel.matrix.plot.getAxis("bottom").labelText == f"text (20 of {len(pairs):,} pairs, random, seed 0)"
    np.testing.assert_array_equal(panel.matrix.image.image, sample.similarity[np.ix_(panel.matrix.order, panel.matrix.order)])


def test_the_gap_slider_rescores_retrieval_as_gap_shift_does(demo_window, qtbot):
    ws = demo_window.workspace
    rng = np.random.default_rng(0)
    # the demo aligns perfectly at every shift; noise makes the shift matter
    noisy = normalise(ws.table.vectors + 0.2 * rng.normal(size=ws.table.vectors.shape).astype(np.float32))
    ws.table = dataclasses.replace(ws.table, vectors=noisy)
    ws.tableChanged.emit()
    panel = open_panel(demo_window, qtbot, {"pair": ["image", "text"]})
    pairs = pair_rows(ws.table, "image", "text")
    xa, xb = ws.table.vectors[pairs.rows_a], ws.table.vectors[pairs.rows_b]
    gap = modality_gap(xa, xb)[0]
    base = gap_shift(xa, xb, [0.0])
    assert f"R@1 image → text <b>{base.r1_ab[0]:.3f}</b>" in panel.gap.text.text()
    fractions = np.arange(-100, 201, 10) / 100
    moved = [f for f in fractions if gap_shift(xa, xb, [f * gap]).r1_ab[0] != base.r1_ab[0]]
    assert moved, "no shift changes R@1 on the noisy demo"
    with qtbot.waitSignal(panel.gap.scored, timeout=10_000):
        panel.shift_slider.setValue(int(round(100 * moved[0])))
    expected = gap_shift(xa, xb, [moved[0] * gap])
    text = panel.gap.text.text()
    assert f"R@1 image → text <b>{expected.r1_ab[0]:.3f}</b>" in text
    assert f"text → image <b>{expected.r1_ba[0]:.3f}</b>" in text
    assert f"→ gap {expected.gap_after[0]:.3f}" in text
    assert panel.gap.result.r1_ab[0] == expected.r1_ab[0] != base.r1_ab[0]


def test_the_trainer_draws_curves_animates_the_map_and_stops(demo_window, qtbot):
    ws = demo_window.workspace
    panel = open_panel(demo_window, qtbot, {"trainer": {"source": "image", "target": "text", "steps": 1_000_000}})
    aligner = panel.aligner
    layout = ws.xy.copy()
    aligner.start_button.click()
    job = aligner.job
    assert job is not None and job in ws.runner.running
    qtbot.waitUntil(lambda: len(aligner.r1s) >= 3, timeout=120_000)
    assert len(aligner.loss_curve.getData()[0]) >= 2 and len(aligner.r1_curve.getData()[0]) >= 3
    assert aligner.showing_aligner()
    moved = aligner._moved
    assert not np.allclose(ws.xy[moved], layout[moved])        # the held-out images moved in the map
    others = np.setdiff1d(np.arange(len(layout)), moved)
    np.testing.assert_array_equal(ws.xy[others], layout[others])
    aligner.stop_button.click()
    qtbot.waitUntil(lambda: job not in ws.runner.running, timeout=60_000)
    assert job.cancelled() and not aligner.running() and aligner.start_button.isEnabled()
    assert not aligner.showing_aligner()
    np.testing.assert_array_equal(ws.xy, layout)                # the real layout is back
    assert aligner.steps[-1] < 1_000_000
