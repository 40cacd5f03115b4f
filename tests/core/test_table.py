"""The embedding table and its files: Parquet and NPZ round trips, error rows, schema, bad files."""

import os

import numpy as np
import pyarrow.parquet as pq
import pytest

from mmstudio.core.errors import ItemError
from mmstudio.core.tables.files import TableFormatError
from mmstudio.core.tables.table import EmbeddingTable


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


KILLED_WRITER = """
import sys
import numpy as np
from mmstudio.core.tables.table import EmbeddingTable
n = 400_000
vectors = np.random.default_rng(0).normal(size=(n, 128)).astype(np.float32)
table = EmbeddingTable([str(i) for i in range(n)], ["text"] * n, [None] * n, [None] * n, vectors)
print("writing", flush=True)
table.write(sys.argv[1])
print("written", flush=True)
"""


@pytest.mark.parametrize("suffix", [".parquet", ".npz"])
def test_a_writer_killed_mid_write_leaves_the_old_table_intact(table, tmp_path, suffix):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / f"t{suffix}"
    table.write(out)
    before = out.read_bytes()
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(out)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:   # kill once the new bytes are on their way
        partial = [p for p in tmp_path.iterdir() if p.name != out.name]
        if out.read_bytes() != before or any(p.stat().st_size > 0 for p in partial):
            break
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait(60)
    assert proc.returncode == -signal.SIGKILL, "the writer finished before it could be killed"
    assert out.read_bytes() == before
    again = EmbeddingTable.read(out)
    assert again.sample_id.tolist() == table.sample_id.tolist()


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


# --------------------------------------------------------------------------- file names that are not UTF-8
@pytest.mark.parametrize("suffix", [".parquet", ".npz"])
def test_paths_that_are_not_utf8_round_trip_exactly(tmp_path, suffix):
    odd = os.fsdecode(b"/d/caf\xe9.png")                       # what a Latin-1 file name becomes in Python
    table = EmbeddingTable(["caf\ufffd", "ok"], ["image", "image"], [odd, "/d/ok.png"], ["x", "x"],
                           np.eye(2, 3, dtype=np.float32),
                           errors=[ItemError(os.fsdecode(b"/d/bad\xff.jpg"), "image", "image is truncated", "bad")])
    out = tmp_path / f"t{suffix}"
    table.write(out)
    back = EmbeddingTable.read(out)
    assert back.path.tolist() == [odd, "/d/ok.png"]
    assert os.fsencode(back.path[0]) == b"/d/caf\xe9.png"        # the very bytes: the file opens again
    assert os.fsencode(back.errors[0].path) == b"/d/bad\xff.jpg"
    if suffix == ".parquet":                                    # other tools see readable text and the bytes
        rows = pq.read_table(out).select(["path", "path_bytes"]).to_pylist()
        assert rows == [{"path": "/d/caf\ufffd.png", "path_bytes": b"/d/caf\xe9.png"},
                        {"path": "/d/ok.png", "path_bytes": None},
                        {"path": "/d/bad\ufffd.jpg", "path_bytes": b"/d/bad\xff.jpg"}]


def test_utf8_paths_add_no_path_bytes_column(table, tmp_path):
    table.write(tmp_path / "t.parquet")
    assert "path_bytes" not in pq.read_table(tmp_path / "t.parquet").column_names


# --------------------------------------------------------------------------- checksums
def _flip_embedding_page(path, count=200):
    """XOR ``count`` bytes in the middle of the embedding column's pages (what a bad disk or copy does)."""
    meta = pq.ParquetFile(path).metadata.row_group(0)
    chunk = next(meta.column(i) for i in range(meta.num_columns)
                 if meta.column(i).path_in_schema.startswith("embedding"))
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    middle = start + chunk.total_compressed_size // 2
    data = bytearray(path.read_bytes())
    for k in range(middle - count // 2, middle + count // 2):
        data[k] ^= 0x5A
    path.write_bytes(bytes(data))


def test_flipped_bytes_in_a_data_page_are_refused_not_read(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((200, 32)).astype(np.float32)
    ids = [f"s{i}" for i in range(200)]
    EmbeddingTable(ids, ["image"] * 200, [None] * 200, ["a"] * 200, vectors).write(tmp_path / "t.parquet")
    _flip_embedding_page(tmp_path / "t.parquet")
    assert pq.read_table(tmp_path / "t.parquet").num_rows == 200  # without the checksums: read, silently wrong
    with pytest.raises(TableFormatError, match="checksum") as info:
        EmbeddingTable.read(tmp_path / "t.parquet")
    assert str(tmp_path / "t.parquet") in str(info.value)


# --------------------------------------------------------------------------- what readers refuse
def _parquet(path, columns: dict, meta: bytes | None = b'{"model": "m"}'):
    import pyarrow as pa

    arrow = pa.table(columns)
    if meta is not None:
        arrow = arrow.replace_schema_metadata({b"mmstudio": meta})
    pq.write_table(arrow, path)


def _fixed(rows, dim=3):
    import pyarrow as pa

    return pa.FixedSizeListArray.from_arrays(pa.array(np.asarray(rows, np.float32).reshape(-1)), dim)


BAD_PARQUET = {
    "metadata-not-json": (lambda: {"sample_id": ["a"], "embedding": _fixed([[1, 0, 0]])}, b"{not json", "not valid JSON"),
    "metadata-a-list": (lambda: {"sample_id": ["a"], "embedding": _fixed([[1, 0, 0]])}, b"[1, 2]", "not an object"),
    "model-not-text": (lambda: {"sample_id": ["a"], "embedding": _fixed([[1, 0, 0]])}, b'{"model": 7}', "not text"),
    "info-not-object": (lambda: {"sample_id": ["a"], "embedding": _fixed([[1, 0, 0]])}, b'{"info": []}',
                        "'info'"),
    "null-in-list": (lambda: {"sample_id": ["a", "b"], "embedding": [[1.0, None], [0.0, 1.0]]}, None, "null"),
    "null-in-fixed-list": (lambda: {"sample_id": ["a"], "embedding": __import__("pyarrow").FixedSizeListArray.from_arrays(
        __import__("pyarrow").array([1.0, None, 0.0], __import__("pyarrow").float32()), 3)}, None, "null"),
    "fixed-list-of-strings": (lambda: {"sample_id": ["a"], "embedding": __import__("pyarrow").FixedSizeListArray.from_arrays(
        __import__("pyarrow").array(["x", "y"]), 2)}, None, "not a list of numbers"),
    "embedding-a-number": (lambda: {"sample_id": ["a"], "embedding": [1.0]}, None, "not a list of numbers"),
    "ragged-lists": (lambda: {"sample_id": ["a", "b"], "embedding": [[1.0, 0.0], [1.0]]}, None, "different lengths"),
    "integer-sample-id": (lambda: {"sample_id": [1, 2], "embedding": _fixed([[1, 0, 0], [0, 1, 0]])}, None,
                          "column 'sample_id' is int64, not text"),
    "integer-modality": (lambda: {"modality": [1], "embedding": _fixed([[1, 0, 0]])}, None, "'modality'"),
    "no-embedding-no-error": (lambda: {"sample_id": ["a", "b"], "embedding": __import__("pyarrow").array(
        [[1.0, 0.0], None], __import__("pyarrow").list_(__import__("pyarrow").float32()))}, None,
                              "neither an embedding nor an error"),
    "nan-rows": (lambda: {"sample_id": ["a", "b", "c"], "modality": ["image", "text", "image"],
                          "embedding": _fixed([[1, 0, 0], [np.nan, 0, 0], [np.inf, 1, 0]])}, None,
                 "2 rows have a non-finite embedding (NaN or infinity): b [text], c [image]"),
    "nested-extra-column": (lambda: {"sample_id": ["a"], "tags": [[1, 2]], "embedding": _fixed([[1, 0, 0]])}, None,
                            "column 'tags'"),
}


@pytest.mark.parametrize("case", BAD_PARQUET, ids=list(BAD_PARQUET))
def test_bad_parquet_tables_are_refused_with_the_reason(tmp_path, case):
    columns, meta, message = BAD_PARQUET[case]
    path = tmp_path / "bad.parquet"
    _parquet(path, columns(), meta)
    with pytest.raises(TableFormatError) as info:
        EmbeddingTable.read(path)
    assert message in str(info.value) and str(path) in str(info.value)


BAD_NPZ = {
    "1-D embedding": (dict(embedding=np.ones(3, np.float32)), "1-D array"),
    "3-D embedding": (dict(embedding=np.ones((2, 3, 4), np.float32)), "3-D array"),
    "string embedding": (dict(embedding=np.array([["a", "b"]])), "not numbers"),
    "mismatched lengths": (dict(embedding=np.ones((3, 2), np.float32), sample_id=np.array(["a", "b"])),
                           "'sample_id' has 2 rows, the embeddings 3"),
    "integer sample_id": (dict(embedding=np.ones((2, 2), np.float32), sample_id=np.array([1, 2])), "int64"),
    "metadata not json": (dict(embedding=np.ones((1, 2), np.float32), mmstudio=np.array("{oops")), "not valid JSON"),
    "metadata a list": (dict(embedding=np.ones((1, 2), np.float32), mmstudio=np.array("[]")), "not an object"),
    "metadata not text": (dict(embedding=np.ones((1, 2), np.float32), mmstudio=np.arange(3)), "not JSON text"),
    "model not text": (dict(embedding=np.ones((1, 2), np.float32), mmstudio=np.array('{"model": [1]}')), "not text"),
    "column too short": (dict(embedding=np.ones((2, 2), np.float32), **{"column/size": np.array([1.0])}),
                         "'column/size'"),
    "error arrays differ": (dict(embedding=np.ones((1, 2), np.float32), **{"error/path": np.array(["a", "b"]),
                                                                          "error/reason": np.array(["r"])}),
                            "different lengths"),
    "nan": (dict(embedding=np.array([[1, 0], [np.nan, 1]], np.float32), sample_id=np.array(["a", "b"])),
            "1 row has a non-finite embedding (NaN or infinity): b"),
}


@pytest.mark.parametrize("case", BAD_NPZ, ids=list(BAD_NPZ))
def test_bad_npz_tables_are_refused_with_the_reason(tmp_path, case):
    arrays, message = BAD_NPZ[case]
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(TableFormatError) as info:
        EmbeddingTable.read(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_a_table_with_an_integer_extra_column_writes_back(tmp_path):
    """Numbers in an NPZ column (ints included) are a numeric column, which every writer takes."""
    path = tmp_path / "t.npz"
    np.savez(path, embedding=np.eye(2, dtype=np.float32), sample_id=np.array(["a", "b"]),
             **{"column/count": np.array([3, 4])})
    back = EmbeddingTable.read(path)
    np.testing.assert_array_equal(back.columns["count"], [3.0, 4.0])
    back.write(tmp_path / "again.parquet")
    np.testing.assert_array_equal(EmbeddingTable.read(tmp_path / "again.parquet").columns["count"], [3.0, 4.0])


def test_shards_of_a_folder_are_checked_like_one_file(tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    _parquet(folder / "part-00000.parquet", {"sample_id": ["a"], "embedding": _fixed([[1, 0, 0]])})
    _parquet(folder / "part-00001.parquet", {"sample_id": ["b"], "embedding": _fixed([[np.nan, 0, 0]])})
    with pytest.raises(TableFormatError, match="non-finite embedding .*: b"):
        EmbeddingTable.read(folder)
    _parquet(folder / "part-00001.parquet", {"sample_id": ["b"], "embedding": _fixed([[0, 1, 0]])}, b"[]")
    with pytest.raises(TableFormatError, match="part-00001.parquet: its 'mmstudio' metadata is a JSON list"):
        EmbeddingTable.read(folder)


@pytest.mark.parametrize("suffix", [".parquet", ".npz"])
def test_written_tables_get_the_permissions_of_a_new_file(table, tmp_path, suffix):
    from mmstudio.core.atomic import umask

    out = tmp_path / f"t{suffix}"
    table.write(out)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask()
    out.chmod(0o600)                                            # a file's own permissions are kept
    table.write(out)
    assert out.stat().st_mode & 0o777 == 0o600


def test_a_column_named_path_bytes_does_not_clobber_the_exact_paths(tmp_path):
    with pytest.raises(ValueError, match="may not be named"):
        EmbeddingTable(["a"], ["image"], ["/d/a.png"], [None], np.ones((1, 2), np.float32), {"path_bytes": ["x"]})
    _parquet(tmp_path / "t.parquet", {"sample_id": ["a"], "path_bytes": ["someone's text"],
                                      "embedding": _fixed([[1, 0, 0]])})
    assert EmbeddingTable.read(tmp_path / "t.parquet").columns["meta_path_bytes"].tolist() == ["someone's text"]
