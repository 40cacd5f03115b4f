"""`mmstudio embed` on a Hugging Face dataset and on WebDataset shards, with the broken items named."""

import numpy as np
import pyarrow.parquet as pq
import pytest
from archive_data import member_offsets, write_parquet_dataset, write_shards

from mmstudio.__main__ import main
from mmstudio.core.tables.table import EmbeddingTable

BROKEN_ROWS = (5, 404, 999)


def test_a_hub_parquet_dataset_of_1000_rows_is_embedded_with_its_broken_cells_named(tmp_path, capsys):
    files = write_parquet_dataset(tmp_path / "hf", n=1000, files=3, broken=BROKEN_ROWS)
    out = tmp_path / "out.parquet"
    assert main(["embed", str(tmp_path / "hf"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "embedded 1997 items (997 image, 1000 text) of 1000 samples with builtin" in err
    starts = np.cumsum([0] + [pq.read_metadata(f).num_rows for f in files])   # where each file's rows begin

    def cell(row, column):
        i = int(np.searchsorted(starts, row, side="right")) - 1
        return f"{files[i]}::row {row - starts[i]} {column}"

    named = [cell(row, "image") for row in BROKEN_ROWS]
    assert "skipped 3 items:" in err and "not an image file (unrecognised data) (3): " + ", ".join(named) in err
    assert "images from column 'image', captions from column 'caption', labels from column 'label'" in err
    table = EmbeddingTable.read(out)
    assert sorted(e.path for e in table.errors) == sorted(named)
    assert {e.sample_id for e in table.errors} == {"train/5", "train/404", "train/999"}
    image_rows = table.modality == "image"
    assert table.label[image_rows].tolist()[:3] == ["red", "green", "blue"]
    assert table.columns["score"][table.sample_id == "train/500"].tolist() == pytest.approx([0.5] * 2)
    assert table.path[(table.sample_id == "train/500") & ~image_rows][0] == cell(500, "caption")
    assert "train/404" not in set(table.sample_id[image_rows]) and "train/404" in set(table.sample_id)


def test_webdataset_shards_by_brace_pattern_with_a_truncated_shard_and_a_corrupt_member(tmp_path, capsys):
    shards = write_shards(tmp_path / "wds", shards=3, per_shard=6, corrupt=(3,))
    _, data_at, size = member_offsets(shards[2])["sample00016.txt"]
    shards[2].write_bytes(shards[2].read_bytes()[:data_at + 5])   # cut inside sample 16's caption
    out = tmp_path / "out.npz"
    assert main(["embed", str(tmp_path / "wds" / "shard-{000000..000002}.tar"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    # 17 samples (16 and 17 lose what lies after the cut): 17 pictures less the corrupt one, 16 captions
    assert "embedded 32 items (16 image, 16 text) of 17 samples" in err
    assert f"not an image file (unrecognised data): {shards[0]}::sample00003.png" in err
    assert f"member is truncated: the shard ends 5 bytes into its {size} bytes: {shards[2]}::sample00016.txt" in err
    table = EmbeddingTable.read(out)
    assert set(table.columns["shard"]) == {"shard-000000.tar", "shard-000001.tar", "shard-000002.tar"}
    assert table.label[table.sample_id == "sample00004"].tolist() == ["1", "1"]


def test_a_column_or_split_the_dataset_lacks_is_one_line_and_exit_code_2(tmp_path, capsys):
    write_parquet_dataset(tmp_path / "hf", n=6, files=1)
    out = str(tmp_path / "x.parquet")
    assert main(["embed", str(tmp_path / "hf"), "--image-column", "picture", "--out", out]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mmstudio embed: --image-column: ")
    assert err[0].endswith("no column 'picture' (its columns: image, caption, label, score)")
    assert main(["embed", str(tmp_path / "hf"), "--split", "test", "--out", out]) == 2
    assert capsys.readouterr().err.strip().endswith("no split 'test' (its splits: train)")
    assert main(["embed", str(tmp_path / "hf"), "--split", "train", "--text-column", "caption", "--out", out]) == 0
