"""`mmstudio embed` on caption files with the built-in model (`--captions first` and `all`), and
`mmstudio align` on what it wrote: the rows, the broken items named, and R@k under the any-caption
protocol equal to a plain loop of it."""

import json

import numpy as np
import pytest
from caption_files import write_audiocaps, write_clotho, write_coco
from caption_reference import reference_ranks, summary

from mmstudio.__main__ import main
from mmstudio.core.tables.table import EmbeddingTable


def _embed(capsys, path, out, *options) -> tuple[EmbeddingTable, str]:
    assert main(["embed", str(path), "--out", str(out), *options]) == 0
    return EmbeddingTable.read(out), capsys.readouterr().err


def _align(capsys, path) -> tuple[dict, str]:
    assert main(["align", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert main(["align", str(path)]) == 0
    return report, capsys.readouterr().out


def _texts(table) -> dict:
    """sample id → its text rows in caption_index order."""
    out: dict = {}
    index = table.columns.get("caption_index", np.zeros(len(table)))
    for row in np.lexsort((index, table.modality)):
        if table.modality[row] == "text":
            out.setdefault(table.sample_id[row], []).append(row)
    return out


def _check_protocol(report, table, media, captions_line=None):
    """align's numbers against the reference loop, both ways."""
    (pair,) = report["pairs"]
    to_text, to_media, _ = reference_ranks(table, media)
    for got, ranks in zip(pair["retrieval"], (to_text, to_media)):
        want = summary(ranks)
        assert {k: got[k] for k in want} == pytest.approx(want, abs=1e-12), got["query"]
    if captions_line is not None:
        assert pair["captions"]["protocol"] == captions_line
    else:
        assert "captions" not in pair
    return pair


def test_coco_embeds_the_first_or_every_caption_and_align_counts_any_caption_as_a_hit(tmp_path, capsys):
    coco = write_coco(tmp_path / "coco")
    data = json.loads(coco["path"].read_text())
    in_file_order: dict = {}
    for note in data["annotations"]:
        in_file_order.setdefault(str(note["image_id"]), []).append(note["caption"])

    first, err = _embed(capsys, coco["path"], tmp_path / "first.parquet")
    assert "embedded 98 items (48 image, 50 text) of 50 samples" in err
    for name, image_id in zip(coco["missing"], coco["missing_ids"]):   # each broken item named, with its annotations
        line = next(line for line in err.splitlines() if name in line)
        assert f"file not found (image {image_id} in captions_val2017.json, annotations" in line
    assert sorted(e.path.rsplit("/", 1)[-1] for e in first.errors) == sorted(coco["missing"])
    assert "caption_index" not in first.columns
    assert sorted(first.sample_id[first.rows("image")]) == sorted(set(coco["ids"]) - set(coco["missing_ids"]))
    assert sorted(first.sample_id[first.rows("text")]) == sorted(coco["ids"])

    every, err = _embed(capsys, coco["path"], tmp_path / "all.parquet", "--captions", "all")
    assert "embedded 298 items (48 image, 250 text) of 50 samples" in err
    texts = _texts(every)
    assert sorted(texts) == sorted(coco["ids"])
    for sid, rows in texts.items():
        assert every.columns["caption_index"][rows].tolist() == [0, 1, 2, 3, 4]
    assert np.isnan(every.columns["caption_index"][every.rows("image")]).all()
    # caption 0 of each sample is the text row of --captions first: the first caption in the file's order
    first_text = {first.sample_id[r]: first.vectors[r] for r in first.rows("text")}
    for sid, rows in texts.items():
        np.testing.assert_allclose(every.vectors[rows[0]], first_text[sid], atol=1e-6)
    captions = every.columns["caption"]   # each text row keeps its own caption (the window shows it)
    for sid, rows in texts.items():
        assert captions[rows].tolist() == in_file_order[sid]
    assert set(captions[every.rows("image")]) == {in_file_order[sid][0] for sid in every.sample_id[every.rows("image")]}
    from mmstudio.encoders.registry import load_encoder

    encoder = load_encoder("builtin", device="cpu")
    sid = coco["ids"][3]
    np.testing.assert_allclose(every.vectors[texts[sid]], encoder.embed("text", in_file_order[sid]).vectors,
                               atol=1e-5)

    report, text = _align(capsys, tmp_path / "all.parquet")
    pair = _check_protocol(report, every, "image",
                           "5 captions per image: a hit is any of them; text→image uses all 240 captions")
    assert pair["n_pairs"] == 48 and pair["retrieval"][1]["n"] == 240
    assert "  5 captions per image: a hit is any of them; text→image uses all 240 captions" in text
    assert "pair each image with its first caption" in text
    worst = pair["retrieval"][1]["worst"][0]
    assert every.sample_id[worst["query_row"]] == worst["sample_id"]
    assert every.columns["caption_index"][worst["query_row"]] == worst["caption_index"]
    assert f"{worst['sample_id']} caption {worst['caption_index'] + 1} ({worst['rank']})" in text


@pytest.mark.parametrize("kind", ["audiocaps", "clotho"])
def test_audio_caption_csvs_embed_each_clip_with_its_captions(tmp_path, capsys, kind):
    files = (write_audiocaps if kind == "audiocaps" else write_clotho)(tmp_path / kind)
    first, err = _embed(capsys, files["path"], tmp_path / "first.parquet")
    n_clips = 6 if kind == "audiocaps" else 5
    assert f"({n_clips - 1} audio, {n_clips} text) of {n_clips} samples" in err
    missing = files["missing"]
    (error,) = first.errors
    assert missing in error.path and missing.split(".")[0] in err
    every, err = _embed(capsys, files["path"], tmp_path / "all.parquet", "--captions", "all")
    texts = _texts(every)
    if kind == "audiocaps":
        assert {sid: len(rows) for sid, rows in texts.items()} == {y: len(c) for y, c in files["captions"].items()}
        line = "1–5 captions per sound (4.2 on average): a hit is any of them; text→audio uses all 21 captions"
    else:
        assert len(every.rows("text")) == 25 and all(len(rows) == 5 for rows in texts.values())
        line = "5 captions per sound: a hit is any of them; text→audio uses all 20 captions"
    report, text = _align(capsys, tmp_path / "all.parquet")
    _check_protocol(report, every, "audio", line)
    assert line in text
    report, text = _align(capsys, tmp_path / "first.parquet")
    _check_protocol(report, first, "audio")
    assert "captions per" not in text


def test_caption_options_are_checked_before_any_work(tmp_path, capsys):
    coco = write_coco(tmp_path / "coco", n=2, missing=())
    code = main(["embed", str(coco["path"]), "--out", str(tmp_path / "o.parquet"), "--images", str(tmp_path / "nowhere")])
    assert code == 2 and "argument --images: " in capsys.readouterr().err and not (tmp_path / "o.parquet").exists()
    code = main(["embed", str(coco["path"]), "--out", str(tmp_path / "shards"), "--captions", "all", "--engine", "ray"])
    assert code == 2 and "--captions all: the Ray engine embeds each sample's first caption" in capsys.readouterr().err
    moved = tmp_path / "pictures"
    (tmp_path / "coco" / "val2017").rename(moved)
    table, err = _embed(capsys, coco["path"], tmp_path / "o.parquet", "--images", str(moved))
    assert len(table.rows("image")) == 2 and "skipped" not in err
