"""Hugging Face datasets on disk: hub-style Parquet and save_to_disk folders, read with pyarrow alone."""

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from archive_data import (
    BROKEN,
    arrow_table,
    picture,
    rows,
    write_parquet_dataset,
    write_saved_dataset,
    write_saved_dict,
)
from PIL import Image

from mmstudio.core.media.decode import decode
from mmstudio.core.media.image import read_image
from mmstudio.core.media.text import read_text
from mmstudio.core.sources.hf_columns import ColumnChoice, SourceError
from mmstudio.core.sources.inputs import load_paths
from mmstudio.core.tables.files import is_table_path

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "hf_reference"


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def test_a_hub_parquet_folder_is_one_sample_per_row_with_cells_read_from_the_files(tmp_path):
    files = write_parquet_dataset(tmp_path / "hf", n=300, files=3, row_group=40)
    dataset = load_paths([tmp_path / "hf"])   # README.md beside data/ is not a caption
    assert len(dataset) == 300 and not dataset.errors
    assert [s.id for s in dataset.samples[:2]] == ["train/0", "train/1"] and dataset.samples[-1].id == "train/299"
    assert [s.label for s in dataset.samples[:4]] == ["red", "green", "blue", "red"]   # ClassLabel names
    assert dataset.samples[150].metadata == {"score": pytest.approx(0.5)}
    note = " ".join(n.reason for n in dataset.notes)
    assert "images from column 'image'" in note and "captions from column 'caption'" in note
    assert "labels from column 'label'" in note and "kept as metadata: score" in note
    # row 150 is row 50 of the second file (100 rows each), in its second row group
    sample = dataset.samples[150]
    assert sample.items["image"].path == f"{files[1]}::row 50 image"
    np.testing.assert_array_equal(np.asarray(read_image(sample.items["image"].path)), pixels(picture(150)))
    assert read_text(sample.items["text"].path).text == rows(151)["caption"][150]
    assert decode(sample.items["text"]) == "a red square number 150"


def test_a_broken_cell_is_an_error_naming_the_file_the_row_and_the_reason(tmp_path):
    from mmstudio.core.errors import MediaError

    files = write_parquet_dataset(tmp_path / "hf", n=30, files=1, broken=(7,))
    dataset = load_paths([files[0]])
    with pytest.raises(MediaError) as caught:
        decode(dataset.samples[7].items["image"])
    assert caught.value.path == f"{files[0]}::row 7 image"
    (tmp_path / "same.png").write_bytes(BROKEN)   # the same bytes as a file: the same reason
    with pytest.raises(MediaError) as as_file:
        read_image(tmp_path / "same.png")
    assert caught.value.reason == as_file.value.reason
    decode(dataset.samples[8].items["image"])   # its neighbours decode


def test_a_save_to_disk_folder_reads_like_the_same_rows_in_parquet(tmp_path):
    columns = rows(50)
    write_saved_dataset(tmp_path / "saved", columns, batch=16)   # record batches of 16 rows
    write_parquet_dataset(tmp_path / "hub", n=50, files=1)
    saved, hub = load_paths([tmp_path / "saved"]), load_paths([tmp_path / "hub"])
    assert len(saved) == len(hub) == 50
    assert [s.label for s in saved.samples] == [s.label for s in hub.samples]
    assert saved.samples[0].id == "saved/0"   # no split named: the folder's name
    for i in (0, 17, 49):
        a, b = saved.samples[i], hub.samples[i]
        assert a.items["image"].path.endswith(f"data-00000-of-00001.arrow::row {i} image")
        np.testing.assert_array_equal(np.asarray(decode(a.items["image"])), np.asarray(decode(b.items["image"])))
        assert decode(a.items["text"]) == decode(b.items["text"]) == columns["caption"][i]


def test_a_dataset_dict_folder_gives_every_split_or_the_one_asked_for(tmp_path):
    write_saved_dict(tmp_path / "dd", {"train": rows(6), "test": rows(3)})
    both = load_paths([tmp_path / "dd"])
    assert [s.id for s in both.samples] == [f"train/{i}" for i in range(6)] + [f"test/{i}" for i in range(3)]
    assert {s.metadata["split"] for s in both.samples} == {"train", "test"}
    test = load_paths([tmp_path / "dd"], ColumnChoice(split="test"))
    assert [s.id for s in test.samples] == ["test/0", "test/1", "test/2"] and "split" not in test.samples[0].metadata
    with pytest.raises(SourceError, match=r"no split 'dev' \(its splits: train, test\)"):
        load_paths([tmp_path / "dd"], ColumnChoice(split="dev"))


@pytest.mark.parametrize("name", ["saved", "saved_dict", "hub"])
def test_files_written_by_the_datasets_package_itself_are_read(name):
    """tests/data/hf_reference/ was written by `datasets` 5.2.0 (its make.py); row 4's image is broken."""
    dataset = load_paths([REFERENCE / name])
    train = [s for s in dataset.samples if not s.id.startswith("test/")]
    assert len(train) == 6 and [s.label for s in train] == ["red", "green", "blue"] * 2
    assert decode(train[2].items["text"]) == "a blue square 2"
    np.testing.assert_array_equal(np.asarray(decode(train[2].items["image"]))[0, 0], [40, 60, 230])
    from mmstudio.core.errors import MediaError

    with pytest.raises(MediaError, match="not an image file"):
        decode(train[4].items["image"])
    if name == "saved_dict":
        assert len(dataset) == 8 and dataset.samples[-1].id == "test/1"


def test_an_audio_column_written_by_datasets_is_read_as_sound():
    dataset = load_paths([REFERENCE / "audio.parquet"])
    assert [set(s.items) for s in dataset.samples] == [{"audio", "text"}] * 2
    samples = decode(dataset.samples[1].items["audio"], audio_rate=16000)
    peak = np.argmax(np.abs(np.fft.rfft(samples))) * 16000 / len(samples)
    assert abs(peak - 440) < 15 and decode(dataset.samples[1].items["text"]) == "a higher tone"


def test_the_users_columns_override_the_choice_and_a_wrong_one_is_refused(tmp_path):
    columns = {**rows(5), "title": [f"t{i}" for i in range(5)]}
    table = arrow_table(columns)
    pq.write_table(table, tmp_path / "x.parquet")
    picked = load_paths([tmp_path / "x.parquet"], ColumnChoice(text="title", label="score"))
    assert decode(picked.samples[3].items["text"]) == "t3" and picked.samples[3].label == "0.6"
    assert picked.samples[3].metadata["caption"] == "a red square number 3"
    assert picked.samples[3].metadata["label"] == "red"   # a ClassLabel kept as metadata keeps its names
    with pytest.raises(SourceError, match=r"x.parquet: no column 'img' \(its columns: image, caption"):
        load_paths([tmp_path / "x.parquet"], ColumnChoice(image="img"))
    with pytest.raises(SourceError, match="column 'caption' holds string, not bytes"):
        load_paths([tmp_path / "x.parquet"], ColumnChoice(image="caption"))
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "a.png").write_bytes(picture(0))
    with pytest.raises(SourceError, match="applies to Hugging Face datasets"):
        load_paths([tmp_path / "pics"], ColumnChoice(text="title"))


def test_without_features_bytes_columns_are_sniffed_and_the_longest_strings_are_the_captions(tmp_path):
    n = 4
    table = pa.table({"id": [f"x{i}" for i in range(n)], "blob": pa.array([picture(i) for i in range(n)], pa.binary()),
                      "note": ["ok"] * n, "long_words": [f"a long description of picture {i}" for i in range(n)]})
    pq.write_table(table, tmp_path / "plain.parquet")
    dataset = load_paths([tmp_path / "plain.parquet"])
    sample = dataset.samples[2]
    assert set(sample.items) == {"image", "text"} and decode(sample.items["text"]).endswith("picture 2")
    assert sample.metadata == {"id": "x2", "note": "ok"}
    np.testing.assert_array_equal(np.asarray(decode(sample.items["image"])), pixels(picture(2)))


def test_null_cells_are_counted_in_a_note_and_path_only_cells_read_their_file(tmp_path):
    columns = rows(4)
    columns["image"][1] = None
    columns["caption"][2] = None
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "three.png").write_bytes(picture(3))
    columns["image"][3] = {"bytes": None, "path": "pics/three.png"}   # relative to the table's folder
    pq.write_table(arrow_table(columns), tmp_path / "t.parquet")
    dataset = load_paths([tmp_path / "t.parquet"])
    assert [set(s.items) for s in dataset.samples] == [{"image", "text"}, {"text"}, {"image"}, {"image", "text"}]
    notes = sorted(n.reason for n in dataset.notes if n.modality)
    assert notes == ["1 row without a caption (column 'caption' is null)",
                     "1 row without an image (column 'image' is null)"]
    np.testing.assert_array_equal(np.asarray(decode(dataset.samples[3].items["image"])), pixels(picture(3)))


def test_an_embedding_table_stays_a_table_and_a_media_parquet_is_not_one(tmp_path):
    from mmstudio.core.tables.table import EmbeddingTable

    vectors = np.eye(4, dtype=np.float32)
    EmbeddingTable(["a", "b", "c", "d"], ["image"] * 4, ["/x"] * 4, [None] * 4, vectors, model="m").write(
        tmp_path / "emb.parquet")
    write_parquet_dataset(tmp_path / "hf", n=6, files=2)
    assert is_table_path(tmp_path / "emb.parquet") and not is_table_path(tmp_path / "hf" / "data")
    assert not is_table_path(tmp_path / "hf" / "data" / "train-00000-of-00002.parquet")
    refused = load_paths([tmp_path / "emb.parquet"])
    assert len(refused) == 0 and "an embedding table, not media" in refused.skipped[0].reason
    assert len(load_paths([tmp_path / "hf" / "data"])) == 6


def test_a_damaged_parquet_file_is_one_line_and_the_other_files_still_read(tmp_path):
    files = write_parquet_dataset(tmp_path / "hf", n=20, files=2)
    files[0].write_bytes(files[0].read_bytes()[:200])
    dataset = load_paths([tmp_path / "hf"])
    assert len(dataset) == 10 and dataset.samples[0].id == "train/0"
    assert len(dataset.skipped) == 1 and "not a readable parquet table" in dataset.skipped[0].reason
