"""Opening an embedding table in the window: a folder of Parquet shards (`embed --engine ray`) or one file."""

import numpy as np

from mmstudio.core.tables.table import EmbeddingTable


def shards(folder, n=3, rows=40, dim=16):
    rng = np.random.default_rng(0)
    parts = []
    for i in range(n):
        vectors = rng.standard_normal((rows, dim)).astype(np.float32)
        ids = [f"s{i}-{j}" for j in range(rows)]
        part = EmbeddingTable(ids, ["image", "text"] * (rows // 2), [f"/x/{s}.png" for s in ids], ["a", "b"] * (rows // 2),
                              vectors / np.linalg.norm(vectors, axis=1, keepdims=True), model="builtin",
                              info={"identity": "test"})
        part.write(folder / f"part-{i:05d}.parquet")
        parts.append(part)
    return EmbeddingTable.concat(parts)


def test_a_folder_of_shards_opens_as_one_table_and_is_drawn(make_window, qtbot, tmp_path):
    expected = shards(tmp_path / "shards")
    window = make_window([tmp_path / "shards"])
    ws = window.workspace
    qtbot.waitUntil(lambda: ws.encoder is not None and ws.table is not None and len(window.view.cloud.xy) == 120,
                    timeout=120_000)  # the model loading meanwhile leaves the opened table in place
    table = ws.table
    assert len(table) == 120 and table.sample_id.tolist() == expected.sample_id.tolist()
    np.testing.assert_array_equal(table.vectors, expected.vectors)
    assert len(window.view.cloud.xy) == 120
    assert len(ws.dataset) == 0  # nothing was scanned as media
    assert "opened 120 embedded items" in window.log.toPlainText()


def test_a_large_table_shows_its_landmark_map_first_then_the_rows_placed(make_window, qtbot, tmp_path, monkeypatch):
    from ui_helpers import settled

    from mmstudio.analysis.projection import landmark_map, project

    # the sizes scaled down: a landmark map above 1,000 rows, on 300 landmarks, rows placed 300 at a time
    monkeypatch.setattr(project, "LANDMARK_MIN_ROWS", 1000)
    monkeypatch.setattr(project, "landmark_count", lambda n: 300)
    monkeypatch.setattr(landmark_map, "PLACE_ROWS", 300)
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((6, 16))
    vectors = (centres[rng.integers(0, 6, 1200)] + 0.3 * rng.standard_normal((1200, 16))).astype(np.float32)
    ids = [f"r{i}" for i in range(1200)]
    EmbeddingTable(ids, ["image", "text", "audio"] * 400, [f"/x/{i}.png" for i in ids], ["a"] * 1200,
                   vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).write(tmp_path / "big.npz")
    window = make_window([tmp_path / "big.npz"], warm=False)
    ws = window.workspace
    shown = []
    ws.layoutChanged.connect(lambda final: shown.append((final, ws.xy.copy(), ws.fit_method)))
    qtbot.waitUntil(lambda: settled(window) and ws.fit_method == "umap", timeout=300_000)
    during = [xy for final, xy, method in shown if not final and method is None and len(xy) == 1200]
    # the PCA preview, then the landmark map and the blocks of placed rows, before the final layout
    assert len(during) >= 4 and all(np.isfinite(xy).all() for xy in during)
    assert shown[-1][0] and np.isfinite(ws.xy).all() and ws.xy is ws.map.xy
    assert not np.array_equal(during[-1], during[-2])   # the rows moved to their places block by block
    assert "landmark map: 300 landmarks, the rest placed" in window.log.toPlainText()


def test_a_table_opened_without_its_media_lists_its_samples_in_the_library(make_window, qtbot, tmp_path, monkeypatch):
    from PySide6 import QtCore

    from mmstudio.ui.inspector.library import EntryRole

    rng = np.random.default_rng(2)
    n = 30
    ids = [f"s{i:02d}" for i in range(n) for _ in range(2)]
    modality = ["image", "text"] * n
    paths = [f"/x/{ids[k]}.png" if m == "image" else None for k, m in enumerate(modality)]
    captions = [None if m == "image" else f"caption of {ids[k]}" for k, m in enumerate(modality)]
    labels = ["cat" if int(i[1:]) % 3 else "dog" for i in ids]
    vectors = rng.standard_normal((2 * n, 16)).astype(np.float32)
    score = np.full(2 * n, 2.8512587817086)
    EmbeddingTable(ids, modality, paths, labels, vectors, {"caption": np.array(captions, object), "score": score},
                   model="builtin").write(tmp_path / "t.parquet")
    window = make_window([tmp_path / "t.parquet"])
    ws, library = window.workspace, window.library
    qtbot.waitUntil(lambda: ws.table is not None and len(window.view.cloud.xy) == 2 * n, timeout=120_000)
    qtbot.waitUntil(lambda: library.model.rowCount() == n, timeout=10_000)
    kind, sample = library.model.data(library.model.index(3), EntryRole)
    assert kind == "sample" and sample.id == "s03" and sample.label == "dog"
    assert sample.items["image"].path == "/x/s03.png" and sample.items["text"].text == "caption of s03"
    assert library.counts.text().startswith(f"{n} samples")
    window._update_status()
    assert window.count_label.text().startswith(f"{n} samples · {2 * n} items")
    # a row picked in the library selects its sample's rows on the map, and back
    library.list.selectionModel().select(library.model.index(3), QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect)
    assert sorted(ws.selection.tolist()) == [6, 7]
    ws.select(np.array([10, 41]))
    assert sorted(i.row() for i in library.list.selectionModel().selectedIndexes()) == [5, 20]
    # the filter lists the samples with a matching row
    from mmstudio.core.tables.filtering import FilterSpec

    ws.row_filter.set_spec(FilterSpec(labels=frozenset({"dog"})))
    qtbot.waitUntil(lambda: library.model.rowCount() == 10, timeout=10_000)
    assert all(library.model.data(library.model.index(r), EntryRole)[1].label == "dog" for r in range(10))
    # a filter whose mask comes from a job (a large table): the list is filtered once, when the mask is in
    from ui_helpers import settled

    from mmstudio.ui import row_filter as row_filter_module

    qtbot.waitUntil(lambda: settled(window), timeout=120_000)   # no job left that replaces the table meanwhile
    monkeypatch.setattr(row_filter_module, "MASK_AT_ONCE", 0)
    shown = []
    real_show_only = library.model.show_only
    monkeypatch.setattr(library.model, "show_only", lambda keep: (shown.append(keep), real_show_only(keep)))
    ws.row_filter.set_spec(FilterSpec(labels=frozenset({"cat"})))
    qtbot.waitUntil(lambda: library.model.rowCount() == 20, timeout=10_000)
    qtbot.wait(50)
    assert len(shown) == 1 and int(shown[0].sum()) == 20
    monkeypatch.undo()

    # more samples selected elsewhere than the list highlights: counted under it instead, then highlighted again
    from mmstudio.ui.inspector import library as library_module

    ws.row_filter.set_spec(FilterSpec())
    qtbot.waitUntil(lambda: library.model.rowCount() == n, timeout=10_000)
    monkeypatch.setattr(library_module, "FOLLOW_MAX", 3)
    ws.select(np.arange(10))    # five samples
    assert library.counts.text().endswith("5 selected (too many to highlight)")
    assert not library.list.selectionModel().selectedIndexes()
    ws.select(np.array([0, 1, 2]))   # two samples
    assert "too many" not in library.counts.text()
    assert sorted(i.row() for i in library.list.selectionModel().selectedIndexes()) == [0, 1]
    ws.select(np.array([7]))   # the inspector: the item's caption and numbers, rounded to what the panel shows
    text = window.inspector.details.text()
    assert "caption of s03" in text and "score: 2.85126" in text and "2.85125878" not in text
