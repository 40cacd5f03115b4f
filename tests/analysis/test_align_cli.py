"""`mmstudio align` on a table written by mmstudio: the text, the JSON, and clear errors."""

import json

import numpy as np
import pytest

from mmstudio.__main__ import main
from mmstudio.analysis.alignment.losses import info_nce
from mmstudio.analysis.alignment.procrustes import linear_cka
from mmstudio.analysis.alignment.report import align_report, pair_rows
from mmstudio.analysis.alignment.retrieval import normalise, retrieve
from mmstudio.core.tables.table import EmbeddingTable


def make_table(n=40, modalities=("image", "audio", "text"), seed=0) -> EmbeddingTable:
    """Three modalities around shared per-sample points, each with its own offset (a modality gap)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 12))
    rows = {"sample_id": [], "modality": [], "path": [], "label": [], "vectors": []}
    for m_index, modality in enumerate(modalities):
        offset = np.zeros(12)
        offset[m_index] = 2.0
        for i in range(n):
            if modality == "text" and i == 0:
                continue  # sample 0 has no caption
            rows["sample_id"].append(f"s{i:02d}")
            rows["modality"].append(modality)
            rows["path"].append(f"{modality}/s{i:02d}")
            rows["label"].append(["circle", "star"][i % 2])
            rows["vectors"].append(base[i] + offset + 0.6 * rng.normal(size=12))
    vectors = normalise(np.array(rows.pop("vectors")))
    return EmbeddingTable(**rows, vectors=vectors, model="test-model")


@pytest.fixture(scope="module")
def table_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("align") / "t.parquet"
    make_table().write(path)
    return path


def test_pairs_keep_only_samples_with_both_modalities():
    table = make_table()
    pairs = pair_rows(table, "image", "text")
    assert len(pairs) == 39 and "s00" not in pairs.sample_ids.tolist()
    assert (table.sample_id[pairs.rows_a] == table.sample_id[pairs.rows_b]).all()
    assert (table.modality[pairs.rows_b] == "text").all()


def test_text_report_prints_every_measure(table_file, capsys):
    assert main(["align", str(table_file)]) == 0
    out = capsys.readouterr().out
    for pair in ("image ↔ audio: 40 paired samples", "image ↔ text: 39 paired samples", "audio ↔ text: 39"):
        assert pair in out
    for words in ("R@1", "R@5", "R@10", "median", "mAP@10", "label R@1", "worst aligned image → text",
                  "modality gap image ↔ text", "(as is)", "orthogonal residual", "similarity disparity",
                  "linear CKA", "map image → text:", "held-out R²", "InfoNCE (τ = 0.07)", "semi-hard", "hardest"):
        assert words in out, words
    table = EmbeddingTable.read(table_file)
    pairs = pair_rows(table, "image", "text")
    direct = retrieve(table.vectors[pairs.rows_a], table.vectors[pairs.rows_b])
    line = next(line for line in out.splitlines() if line.strip().startswith("image → text "))
    assert line.split()[3:6] == [f"{direct.recall(1):.3f}", f"{direct.recall(5):.3f}", f"{direct.recall(10):.3f}"]


def test_json_report_holds_the_numbers(table_file, capsys):
    assert main(["align", str(table_file), "--json", "--temperature", "0.1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["modalities"] == ["image", "audio", "text"] and report["model"] == "test-model"
    pair = next(p for p in report["pairs"] if p["modalities"] == ["image", "text"])
    table = EmbeddingTable.read(table_file)
    pairs = pair_rows(table, "image", "text")
    xa, xb = table.vectors[pairs.rows_a], table.vectors[pairs.rows_b]
    direct = retrieve(xa, xb, query_labels=table.label[pairs.rows_a], gallery_labels=table.label[pairs.rows_b])
    ab = pair["retrieval"][0]
    assert (ab["query"], ab["gallery"], ab["n"]) == ("image", "text", 39)
    assert ab["R@1"] == pytest.approx(direct.recall(1)) and ab["mean_rank"] == pytest.approx(direct.mean_rank)
    assert ab["label_R@1"] == pytest.approx(direct.label_r1)
    assert len(ab["worst"]) == 10 and ab["worst"][0]["rank"] == direct.ranks.max()
    assert np.array(pair["similarity"]).shape == (39, 39)
    assert pair["losses"]["info_nce"] == pytest.approx(info_nce(xa, xb, 0.1))
    assert pair["procrustes"]["linear_cka"] == pytest.approx(linear_cka(xa, xb))
    assert pair["gap"]["distance"] > 0.5 and len(pair["gap"]["shift"]["deltas"]) == 31
    assert pair["maps"]["verdict"] in ("near-linear", "non-linear (twisted)", "unrelated")


def test_report_needs_two_modalities():
    with pytest.raises(ValueError, match="at least two"):
        align_report(make_table(n=5, modalities=("image",)))


def test_errors_exit_2_with_a_reason(tmp_path, capsys):
    assert main(["align", str(tmp_path / "missing.parquet")]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    assert main(["align", str(bad)]) == 2
    assert "not a readable Parquet file" in capsys.readouterr().err
    single = tmp_path / "single.parquet"
    make_table(n=5, modalities=("text",)).write(single)
    assert main(["align", str(single)]) == 2
    assert "alignment needs at least two" in capsys.readouterr().err
