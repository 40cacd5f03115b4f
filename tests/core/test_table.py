"""The embedding table and its files: Parquet and NPZ round trips, error rows, schema, bad files."""

import numpy as np
import pyarrow.parquet as pq
import pytest

from mmstudio.core.errors import ItemError
from mmstudio.core.table import EmbeddingTable
from mmstudio.core.table_files import TableFormatError


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((4, 6)).astype(np.float32)
    return EmbeddingTable(
        sample_id=["a", "a", "b", "c"], modality=["image", "text", "image", "audio"],
        path=["/d/a.png", None, "/d/b.png", "/d/c.wav"], label=["cat", "cat", None, "dog"],
        vectors=vectors, columns={"size": ["3", "4.5", "", "1"], "colour": ["red", None, "blue", "red"]},
        model="some/model", info={"identity": "hf:clip:some/model:abc"},
        errors=[ItemError("/d/bad.jpg", "image", "image is truncated", "bad")],
    )


@pytest.mark.parametrize("suffix", [".parquet", ".npz"])
def test_round_trip_keeps_every_column_and_the_errors(table, tmp_path, suffix):
    out = tmp_path / f"t{suffix}"
    table.write(out)
    back = EmbeddingTable.read(out)
    np.testing.assert_array_equal(back.vectors, table.vectors)
    assert back.vectors.dtype == np.float32
    for name in ("sample_id", "modality", "path", "label"):
        assert getattr(back, name).tolist() == getattr(table, name).tolist()
    np.testing.assert_array_equal(back.columns["size"], [3.0, 4.5, np.nan, 1.0])
    assert back.columns["colour"].tolist() == ["red", None, "blue", "red"]
    assert back.errors == table.errors
    assert (back.model, back.info) == (table.model, table.info)
    assert back.modalities == ("image", "audio", "text")


def test_parquet_schema_is_what_other_tools_read(table, tmp_path):
    out = tmp_path / "t.parquet"
    table.write(out)
    arrow = pq.read_table(out)
    assert arrow.column_names == ["sample_id", "modality", "path", "label", "size", "colour", "embedding", "error"]
    assert str(arrow.schema.field("embedding").type) == "fixed_size_list<element: float>[6]"
    assert arrow.num_rows == 5  # four embedded rows and one error row
    rows = arrow.to_pylist()
    assert rows[-1]["embedding"] is None and rows[-1]["error"] == "image is truncated"
    assert rows[0]["embedding"] == pytest.approx(table.vectors[0].tolist())
    assert b'"dim": 6' in arrow.schema.metadata[b"mmstudio"]


def test_a_new_column_can_be_added_without_renaming_the_others(table, tmp_path):
    projected = table.with_column("x", np.arange(4.0)).with_column("y", np.ones(4))
    out = tmp_path / "p.parquet"
    projected.write(out)
    back = EmbeddingTable.read(out)
    assert list(back.columns) == ["size", "colour", "x", "y"]
    np.testing.assert_array_equal(back.columns["x"], np.arange(4.0))


def test_take_and_rows(table):
    images = table.take(table.rows("image"))
    assert images.sample_id.tolist() == ["a", "b"]
    np.testing.assert_array_equal(images.vectors, table.vectors[[0, 2]])


def test_reserved_column_names_are_refused(table):
    with pytest.raises(ValueError, match="may not be named"):
        table.with_column("embedding", np.zeros(4))


@pytest.mark.parametrize("name, content, message", [
    ("junk.parquet", b"not parquet at all", "not a readable Parquet file"),
    ("junk.npz", b"PK\x03\x04garbage", "not a readable NPZ file"),
    ("t.csv", b"a,b\n", "cannot read .csv"),
])
def test_bad_files_give_a_clear_error_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(TableFormatError, match=message) as info:
        EmbeddingTable.read(path)
    assert str(path) in str(info.value)


def test_writing_is_atomic_and_leaves_no_temporary_files(table, tmp_path):
    out = tmp_path / "t.parquet"
    out.write_bytes(b"old")
    table.write(out)
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_concat_joins_rows_columns_and_errors(table):
    other = EmbeddingTable(["z"], ["text"], [None], ["bird"], np.ones((1, 6), np.float32), {"size": [7.0], "mood": ["calm"]},
                           errors=[ItemError("/d/x.wav", "audio", "audio is empty", "x")])
    joined = EmbeddingTable.concat([table, other])
    assert joined.sample_id.tolist() == ["a", "a", "b", "c", "z"]
    np.testing.assert_array_equal(joined.columns["size"], [3.0, 4.5, np.nan, 1.0, 7.0])
    assert joined.columns["mood"].tolist() == [None, None, None, None, "calm"]
    assert joined.columns["colour"].tolist() == ["red", None, "blue", "red", None]
    assert len(joined.errors) == 2 and joined.model == "some/model"
    with pytest.raises(ValueError, match="dimensions"):
        EmbeddingTable.concat([table, EmbeddingTable(["q"], ["text"], [None], [None], np.ones((1, 3), np.float32))])
