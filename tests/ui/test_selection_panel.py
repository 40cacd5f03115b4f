"""The Selection panel on a small table (no model, no map): the gallery and counts of what is selected,
its nearest items of the other modalities, its alignment metrics, and two subsets compared."""

from collections import Counter

import numpy as np
import pytest
from selection_data import paired_table, rows_of

from mmstudio.analysis.alignment.neighbours import cross_modal_neighbours
from mmstudio.analysis.alignment.report import align_report
from mmstudio.ui.selection.gallery import GALLERY_LIMIT
from mmstudio.ui.selection.panel import NEAREST_K


@pytest.fixture
def panel(qtbot):
    from mmstudio.ui.app import make_app
    from mmstudio.ui.selection.panel import QtSelectionPanel
    from mmstudio.ui.workers import QtRunner
    from mmstudio.ui.workspace import Workspace

    make_app()
    runner = QtRunner(threads=2)
    ws = Workspace(runner)
    ws.table = paired_table(n=40)
    panel = QtSelectionPanel(ws)
    qtbot.addWidget(panel)
    panel.resize(1300, 300)
    panel.show()
    yield panel
    runner.cancel_all()
    runner.wait(30000)


def select(panel, qtbot, rows):
    with qtbot.waitSignal(panel.nearestReady, timeout=30_000):
        panel.workspace.select(rows)


def test_selected_rows_fill_the_gallery_and_the_counts(panel, qtbot):
    table = panel.workspace.table
    rows = np.concatenate([rows_of(table, ["s000", "s001", "s002", "s004"]), rows_of(table, ["s003"], ["text"])])
    select(panel, qtbot, rows)
    shown = [panel.gallery.item(i).data(256) for i in range(panel.gallery.count())]
    assert shown == sorted(rows.tolist())
    assert "13 items selected" in panel.summary.text() and "5 samples" in panel.summary.text()
    assert "showing 13 of 13" in panel.gallery_title.text()
    modality, label = panel.counts.blocks
    whole_m, whole_l = Counter(table.modality.tolist()), Counter(table.label.tolist())
    assert modality.rows == [("text", 5, whole_m["text"]), ("audio", 4, whole_m["audio"]),
                             ("image", 4, whole_m["image"])]
    assert sorted(label.rows) == sorted((name, k, whole_l[name]) for name, k in Counter(table.label[rows]).items())
    texts = [panel.gallery.item(i).text() for i in range(panel.gallery.count())]
    assert texts == [str(table.label[r]) for r in sorted(rows.tolist())]

    many = np.arange(len(table))   # 120 items: the gallery stops at 60 and says so
    select(panel, qtbot, many)
    assert panel.gallery.count() == GALLERY_LIMIT and f"showing {GALLERY_LIMIT} of 120" in panel.gallery_title.text()
    assert panel.gallery.rows[0] == 0 and panel.gallery.rows[-1] == 119     # spread over the whole selection
    assert panel.counts.blocks[0].rows == [("audio", 40, 40), ("image", 40, 40), ("text", 40, 40)]


def test_the_nearest_gallery_holds_the_selections_nearest_items_of_the_other_modalities(panel, qtbot):
    table = panel.workspace.table
    rows = rows_of(table, ["s005", "s006", "s007"], ["image"])
    select(panel, qtbot, rows)
    expected = cross_modal_neighbours(table, rows, NEAREST_K)
    shown = [panel.nearest.item(i).data(256) for i in range(panel.nearest.count())]
    assert shown == expected.tolist() and len(shown) == 2 * NEAREST_K
    assert set(table.modality[shown]) == {"audio", "text"}
    centre = table.vectors[rows].mean(axis=0)
    first = panel.nearest.item(0).text().split()[0]
    assert first == f"{table.vectors[shown[0]] @ centre / np.linalg.norm(centre):+.2f}"


def test_the_selections_alignment_metrics_are_mmstudio_aligns_on_those_rows(panel, qtbot):
    table = panel.workspace.table
    rows = rows_of(table, [f"s{i:03d}" for i in range(4, 28)], ["image", "text"])
    select(panel, qtbot, rows)
    with qtbot.waitSignal(panel.metricsReady, timeout=60_000):
        panel.align_button.click()
    [(title, report)] = panel.metrics.columns
    assert report == align_report(table.take(rows))
    # the number the panel shows, against a closed form: image i's nearest caption is its own
    image, text = rows[table.modality[rows] == "image"], rows[table.modality[rows] == "text"]
    r1 = np.mean(np.argmax(table.vectors[image] @ table.vectors[text].T, axis=1) == np.arange(len(image)))
    assert panel.metrics.value("image → text R@1") == f"{r1:.3f}"
    assert panel.metrics.value("image ↔ text pairs (n)") == "24"
    assert panel.metrics.value("image → text queries scored") == "all 24"   # every query, no sample
    assert "n = 48 items" in panel.metrics.horizontalHeaderItem(1).text()

    lonely = np.concatenate([rows_of(table, ["s001", "s002"], ["image"]), rows_of(table, ["s003"], ["text"])])
    select(panel, qtbot, lonely)
    started = []
    panel.workspace.runner.started.connect(lambda job: started.append(job.kind))
    with qtbot.waitSignal(panel.metricsReady, timeout=10_000):
        panel.align_button.click()
    assert "no pairs" in panel.metrics_status.text() and "3 samples" in panel.metrics_status.text()
    assert panel.metrics.rowCount() == 0 and "selection-align" not in started


def test_two_subsets_compare_side_by_side_each_with_its_n(panel, qtbot):
    ws, table = panel.workspace, panel.workspace.table
    ws.select(rows_of(table, [f"s{i:03d}" for i in range(0, 8)]))   # fewer than 10 pairs: no maps are fitted (quick)
    assert panel.save_subset("first") is None
    ws.select(rows_of(table, [f"s{i:03d}" for i in range(12, 21)], ["image", "audio"]))
    assert panel.save_subset("second") is None
    assert "exists already" in panel.save_subset("second")
    assert list(ws.subsets) == ["first", "second"] and ws.subsets.colour("first") != ws.subsets.colour("second")
    box = panel.subsets
    assert box.a_box.currentText() == "first" and box.b_box.currentText() == "second"
    with qtbot.waitSignal(panel.metricsReady, timeout=60_000):
        box.compare.click()
    (title_a, report_a), (title_b, report_b) = panel.metrics.columns
    assert report_a == align_report(table.take(ws.subset_rows("first")))
    assert report_b == align_report(table.take(ws.subset_rows("second")))
    headers = [panel.metrics.horizontalHeaderItem(i).text() for i in (1, 2)]
    assert headers == ["A: first\nn = 24 items", "B: second\nn = 18 items"]
    assert panel.metrics.value("image ↔ text pairs (n)", 0) == "8"
    assert panel.metrics.value("image ↔ text pairs (n)", 1) == "—"          # B has no captions
    assert panel.metrics.value("image ↔ audio pairs (n)", 1) == "9"


def test_export_writes_just_the_selected_rows(panel, qtbot, tmp_path):
    from mmstudio.core.tables.table import EmbeddingTable

    ws, table = panel.workspace, panel.workspace.table
    rows = rows_of(table, ["s010", "s020", "s030"], ["image", "text"])
    select(panel, qtbot, rows)
    lines = []
    ws.message.connect(lines.append)
    with qtbot.waitSignal(ws.runner.ended, timeout=30_000):
        panel.export(tmp_path / "picked.parquet", "parquet")
    written = EmbeddingTable.read(tmp_path / "picked.parquet")
    assert list(zip(written.sample_id, written.modality)) == list(zip(table.sample_id[rows], table.modality[rows]))
    np.testing.assert_array_equal(written.vectors, table.vectors[rows])
    qtbot.waitUntil(lambda: any("wrote the 6 selected rows" in line for line in lines), timeout=10_000)
