"""Caption files (COCO JSON, AudioCaps and Clotho CSVs) read by load_paths: one sample per picture or
clip with every caption kept, missing files named with their annotation, and the table rules for
several captions per sample (only text rows repeat, each with its own caption_index)."""

import json

import numpy as np
import pytest
from caption_files import write_audiocaps, write_clotho, write_coco

from mmstudio.analysis.common.pairing import pair_rows, sample_rows
from mmstudio.core.sources.inputs import load_paths
from mmstudio.core.tables.checks import TableFormatError
from mmstudio.core.tables.table import EmbeddingTable


def _file_order(coco: dict) -> dict:
    """image id → its captions in the order the JSON lists its annotations."""
    data = json.loads(coco["path"].read_text())
    out: dict = {}
    for note in data["annotations"]:
        out.setdefault(str(note["image_id"]), []).append(note["caption"])
    return out


def test_coco_is_one_sample_per_image_with_every_caption_and_missing_pictures_named(tmp_path):
    coco = write_coco(tmp_path)
    dataset = load_paths([coco["path"]])
    assert [s.id for s in dataset.samples] == coco["ids"]
    order = _file_order(coco)
    for sample in dataset.samples:
        assert sample.captions == tuple(order[sample.id]) and sorted(sample.captions) == sorted(
            coco["captions"][coco["ids"].index(sample.id)])
        assert sample.items["text"].text == sample.captions[0]
        assert sample.metadata == {"width": 64, "height": 64, "n_captions": 5, "caption": sample.captions[0]}
    assert dataset.count("image") == 48 and dataset.count("text") == 50
    assert dataset.samples[1].items["image"].path == str(tmp_path / "val2017" / "000000001007.png")
    errors = sorted(dataset.errors, key=lambda e: e.sample_id)
    assert [e.sample_id for e in errors] == coco["missing_ids"]
    for error, name, image_id in zip(errors, coco["missing"], coco["missing_ids"]):
        assert error.path == str(tmp_path / "val2017" / name) and error.modality == "image"
        assert error.reason.startswith(f"file not found (image {image_id} in captions_val2017.json, annotations ")
        assert {int(a) for a in error.reason.split("annotations ")[1].rstrip(")").split(", ")} == \
            set(coco["annotation_ids"][image_id])


def test_coco_pictures_elsewhere_come_from_the_folder_given_or_one_line_says_where_it_looked(tmp_path):
    coco = write_coco(tmp_path / "a", n=6, missing=())
    moved = tmp_path / "pictures"
    (tmp_path / "a" / "val2017").rename(moved)
    lost = load_paths([coco["path"]])
    (line,) = lost.errors
    assert line.path == str(coco["path"]) and "none of its 6 pictures is in" in line.reason
    assert "--images DIR" in line.reason and lost.count("text") == 6 and lost.count("image") == 0
    found = load_paths([coco["path"]], folders={"image": str(moved)})
    assert found.count("image") == 6 and found.errors == []


def test_a_json_that_is_not_coco_and_broken_annotations_are_skipped_with_the_reason(tmp_path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"rows": []}))
    (error,) = load_paths([other]).errors
    assert error.path == str(other) and "not a COCO captions file" in error.reason and "'rows'" in error.reason
    coco = write_coco(tmp_path / "c", n=3, missing=())
    data = json.loads(coco["path"].read_text())
    data["annotations"] += [{"image_id": 99, "id": 7, "caption": "stray"}, {"image_id": 1000, "id": 8, "caption": " "}]
    data["images"].append({"id": 1000, "file_name": "again.png"})
    coco["path"].write_text(json.dumps(data))
    dataset = load_paths([coco["path"]])
    reasons = sorted(e.reason for e in dataset.errors)
    assert reasons == ["annotation 7: image_id 99 is not among the images", "annotation 8 has no caption text",
                       "image id 1000 is listed twice; the first is kept"]
    assert len(dataset) == 3 and all(len(s.captions) == 5 for s in dataset.samples)


def test_audiocaps_groups_lines_by_clip_and_finds_sounds_by_youtube_or_audiocap_id(tmp_path):
    caps = write_audiocaps(tmp_path)
    dataset = load_paths([caps["path"]])
    assert {s.id: list(s.captions) for s in dataset.samples} == caps["captions"]
    by_id = {s.id: s for s in dataset.samples}
    assert by_id["yt2Xq-6"].items["audio"].path == str(tmp_path / "val" / "90021.wav")   # by its audiocap_id
    assert by_id["yt0Xq-0"].items["audio"].path == str(tmp_path / "val" / "yt0Xq-0.wav")
    assert by_id["yt0Xq-0"].metadata["start_time"] == "30" and by_id["yt5Xq-15"].metadata["n_captions"] == 1
    (error,) = dataset.errors
    assert error.sample_id == caps["missing"] and error.modality == "audio"
    assert "no sound named yt4Xq-12 or 90040" in error.reason and "of val.csv, audiocap_id 90040" in error.reason
    assert by_id[caps["missing"]].modalities == ("text",)


def test_clotho_keeps_caption_columns_in_order_and_names_a_missing_sound(tmp_path):
    clotho = write_clotho(tmp_path)
    dataset = load_paths([clotho["path"]])
    assert [s.id for s in dataset.samples] == [n[:-4] for n in clotho["names"]]
    assert [list(s.captions) for s in dataset.samples] == clotho["captions"]
    (error,) = dataset.errors
    assert error.path == str(tmp_path / "evaluation" / clotho["missing"])
    assert error.reason == "file not found (line 6 of clotho_captions_evaluation.csv)"
    plain = tmp_path / "manifest.csv"   # any other CSV is still a manifest
    plain.write_text("id,caption\nx,hello\n")
    assert [s.items["text"].text for s in load_paths([plain]).samples] == ["hello"]


def _captions_table(order=(0, 1, 2), caption_index=None):
    """Sample s0: an image and three captions (rows in ``order``); sample s1: an image and one caption."""
    rng = np.random.default_rng(0)
    ids = ["s0", *["s0"] * 3, "s1", "s1"]
    modality = ["image", "text", "text", "text", "image", "text"]
    index = [np.nan, *order, np.nan, 0] if caption_index is None else caption_index
    v = rng.standard_normal((6, 8)).astype(np.float32)
    return EmbeddingTable(ids, modality, [None] * 6, [None] * 6, v / np.linalg.norm(v, axis=1, keepdims=True),
                          {"caption_index": np.array(index, float)}, model="m")


def test_caption_rows_round_trip_and_pair_by_their_first_caption(tmp_path):
    table = _captions_table(order=(2, 0, 1))
    for suffix in (".parquet", ".npz"):
        back = EmbeddingTable.read(_written(table, tmp_path / f"t{suffix}"))
        np.testing.assert_array_equal(back.columns["caption_index"], table.columns["caption_index"])
        assert sample_rows(back)["s0"] == {"image": 0, "text": 2}   # caption 0, not the first text row
        pairs = pair_rows(back, "image", "text")
        assert pairs.rows_b.tolist() == [2, 5]


def _written(table, path):
    table.write(path)
    return path


@pytest.mark.parametrize("case, message", [
    ({"caption_index": [np.nan, 0, 1, 1, np.nan, 0]}, "1 row repeats a sample's modality: s0 [text]"),
    ({"caption_index": [0, 0, 1, 2, np.nan, 0]}, "1 row has a caption_index on a row that is not text: s0 [image]"),
    ({"caption_index": [np.nan, 0, 1.5, 2, np.nan, 0]}, "not a whole number"),
    ({"modality": ["image", "text", "text", "text", "image", "image"], "caption_index": [np.nan, 0, 1, 2, np.nan, np.nan]},
     "1 row repeats a sample's modality: s1 [image]"),
])
def test_tables_whose_samples_repeat_anything_but_captions_are_refused(tmp_path, case, message):
    table = _captions_table(caption_index=case.get("caption_index"))
    if "modality" in case:
        table.modality[:] = case["modality"]
    path = _written(table, tmp_path / "bad.parquet")
    with pytest.raises(TableFormatError, match="only text rows may repeat|not text|whole number") as info:
        EmbeddingTable.read(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_sample_ids_arrow_cannot_hold_are_compared_too_and_rows_without_an_id_are_not():
    from mmstudio.core.tables.checks import check_samples

    table = _captions_table()
    table.sample_id[:] = ["x\udcff"] * 4 + ["y\udcfe"] * 2     # lone surrogates: Arrow refuses them
    check_samples(table, "t")
    unnamed = _captions_table(caption_index=[np.nan, 0, 1, 2, np.nan, np.nan])
    unnamed.sample_id[4:] = None
    unnamed.modality[5] = "image"
    check_samples(unnamed, "t")
    with pytest.raises(ValueError, match="read-only"):   # its codes are kept: the column is not edited in place
        table.modality[1] = "image"
    table.modality = table.modality.copy()
    table.modality[1] = "image"
    table.columns["caption_index"][1] = np.nan
    with pytest.raises(TableFormatError, match=r"t: 1 row repeats a sample's modality: x\udcff \[image\]"):
        check_samples(table, "t")
