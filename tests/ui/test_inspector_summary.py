"""The inspector on a multi-selection: how many items, of which modalities and labels, their first
pictures and names, then the first item — not only the first item."""

from collections import Counter

import numpy as np
from selection_data import paired_table, rows_of
from ui_helpers import DEMO

from mmstudio.core.tables.table import EmbeddingTable


def test_a_multi_selection_is_summarised_above_its_first_item(qtbot):
    from mmstudio.ui.app import make_app
    from mmstudio.ui.inspector.inspector import QtInspector
    from mmstudio.ui.workers import QtRunner
    from mmstudio.ui.workspace import Workspace

    make_app()
    table = paired_table(n=12)
    pictures = [str(DEMO / f"scene_{i:05d}.png") for i in range(12)]
    path = np.where(table.modality == "image", np.array(pictures * 3, object), table.path)
    table = EmbeddingTable(table.sample_id, table.modality, path, table.label, table.vectors, table.columns)
    runner = QtRunner(threads=2)
    ws = Workspace(runner)
    ws.table = table
    inspector = QtInspector(ws)
    qtbot.addWidget(inspector)
    rows = np.concatenate([rows_of(table, ["s000", "s001", "s002", "s003", "s004", "s005", "s006"]),
                           rows_of(table, ["s007"], ["text"])])
    ws.select(rows)
    text = inspector.details.text()
    assert "22 items selected</b> (8 samples)" in text
    modality = Counter(table.modality[rows].tolist())
    assert f"modality: text {modality['text']} · audio {modality['audio']} · image {modality['image']}" in text
    labels = sorted(Counter(table.label[rows].tolist()).items(), key=lambda p: (-p[1], p[0]))
    assert "label: " + " · ".join(f"{name} {n}" for name, n in labels) in text
    assert "samples: s000, s001, s002, s003, s004, … (3 more)" in text
    assert "<b>First item</b>" in text and f"sample {table.sample_id[rows[0]]}" in text
    qtbot.waitUntil(lambda: inspector.details.text().count("<img") == 6, timeout=30_000)  # the first pictures
    first_images = [r for r in rows if table.modality[r] == "image"][:6]
    uris = [inspector.pictures.get("image", table.path[r], 48, 48, form="uri") for r in first_images]
    assert "".join(f'<img src="{u}"> ' for u in uris) in inspector.details.text()
    ws.select(rows[:1])
    assert "items selected" not in inspector.details.text()
    runner.cancel_all()
    runner.wait(30000)
