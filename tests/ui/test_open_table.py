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
