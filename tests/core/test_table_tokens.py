"""Token features in table files: what `mmstudio embed --tokens` writes comes back exactly, and a
damaged token column is refused naming the file and the row."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmstudio.core.errors import ItemError
from mmstudio.core.tables.files import TableFormatError
from mmstudio.core.tables.table import EmbeddingTable
from mmstudio.core.tables.tokens import TokenFeatures


@pytest.fixture
def table():
    rng = np.random.default_rng(0)

    def feats(modality, count, width=4, **extra):
        return TokenFeatures(modality, rng.standard_normal((count, width)).astype(np.float32), **extra)

    tokens = [feats("image", 4, grid=(2, 2)), feats("text", 3, tokens=["[CLS]", "a", "dog"]),
              None, feats("audio", 2, width=6, joint=False, times=np.array([0.25, 0.75]))]
    return EmbeddingTable(["a", "a", "b", "c"], ["image", "text", "image", "audio"], [None] * 4,
                          ["x", "x", None, "y"], rng.standard_normal((4, 4)).astype(np.float32),
                          {"size": [1, 2, 3, 4]}, errors=[ItemError("/d/bad.png", "image", "truncated", "d")],
                          tokens=tokens)


def test_tokens_round_trip_through_parquet_with_their_grid_words_and_times(table, tmp_path):
    table.write(tmp_path / "t.parquet")
    back = EmbeddingTable.read(tmp_path / "t.parquet")
    assert len(back.tokens) == len(table) == 4 and back.tokens[2] is None and len(back.errors) == 1
    for a, b in zip(table.tokens, back.tokens):
        if a is None:
            continue
        np.testing.assert_array_equal(a.vectors, b.vectors)
        assert (a.modality, a.joint, a.grid, a.tokens) == (b.modality, b.joint, b.grid, b.tokens)
        assert (a.times is None and b.times is None) or np.allclose(a.times, b.times)
    assert back.columns["size"].tolist() == [1, 2, 3, 4]
    assert "token_vectors" not in back.columns and "token_info" not in back.columns
    # a table without tokens writes no token columns, and reads back without them
    table.tokens = None
    table.write(tmp_path / "plain.parquet")
    assert "token_vectors" not in pq.read_schema(tmp_path / "plain.parquet").names
    assert EmbeddingTable.read(tmp_path / "plain.parquet").tokens is None


def test_tokens_of_a_folder_of_shards_stay_with_their_rows(table, tmp_path):
    folder = tmp_path / "shards"
    table.take([0, 1]).write(folder / "part-00000.parquet")
    table.take([2, 3]).write(folder / "part-00001.parquet")
    back = EmbeddingTable.read(folder)
    assert back.tokens[0].grid == (2, 2) and back.tokens[2] is None and back.tokens[3].vectors.shape == (2, 6)


@pytest.mark.parametrize("info, message", [
    ('{"count": 5}', "16 token values do not make 5 tokens"),
    ("not json", "its 'token_info' is not a JSON object with a token count"),
])
def test_a_damaged_token_column_names_the_file_and_the_row(table, tmp_path, info, message):
    table.write(tmp_path / "t.parquet")
    arrow = pq.read_table(tmp_path / "t.parquet")
    infos = arrow.column("token_info").to_pylist()
    infos[0] = info
    arrow = arrow.set_column(arrow.column_names.index("token_info"), "token_info", pa.array(infos, pa.string()))
    pq.write_table(arrow, tmp_path / "bad.parquet")
    with pytest.raises(TableFormatError, match=f"bad.parquet: row 0: {message}"):
        EmbeddingTable.read(tmp_path / "bad.parquet")


def test_a_column_of_that_name_in_someone_elses_file_is_just_a_column(tmp_path):
    meta = {b"mmstudio": json.dumps({"model": "m"}).encode()}
    arrow = pa.table({"sample_id": ["a"], "modality": ["image"], "token_info": ["mine"],
                      "embedding": pa.FixedSizeListArray.from_arrays(pa.array([1.0, 0.0], pa.float32()), 2)})
    pq.write_table(arrow.replace_schema_metadata(meta), tmp_path / "t.parquet")
    back = EmbeddingTable.read(tmp_path / "t.parquet")
    assert back.tokens is None and back.columns["meta_token_info"].tolist() == ["mine"]
