"""The `mmstudio` command as a user runs it: --info, embed to Parquet/NPZ, clear errors."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from corpus import write_corpus

from mmstudio.__main__ import main
from mmstudio.core.tables.table import EmbeddingTable


def test_info_names_versions_devices_and_cache(capsys, isolated_cache):
    assert main(["--info"]) == 0
    out = capsys.readouterr().out
    for key in ("python", "torch", "transformers", "qt", "devices", "would use", "cache"):
        assert any(line.startswith(key) for line in out.splitlines()), key
    assert "cpu" in out and str(isolated_cache) in out


def test_entry_point_help_runs(tmp_path):
    exe = Path(sys.executable).with_name("mmstudio")
    result = subprocess.run([str(exe), "embed", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert "--out" in result.stdout and "--no-cache" in result.stdout


@pytest.mark.parametrize("suffix", [".parquet", ".npz"])
def test_embed_writes_a_table_and_summarises_what_was_skipped(tmp_path, checkpoints, capsys, suffix):
    good, bad = write_corpus(tmp_path / "corpus")
    out = tmp_path / f"out{suffix}"
    code = main(["embed", str(tmp_path / "corpus"), "--model", str(checkpoints["clip"]), "--out", str(out),
                 "--batch-size", "4"])
    err = capsys.readouterr().err
    assert code == 0
    table = EmbeddingTable.read(out)
    assert len(table) == len(good["image"]) + len(good["text"])
    assert table.model == str(checkpoints["clip"]) and table.dim == 16
    assert f"embedded {len(table)} items (6 image, 3 text)" in err
    assert "skipped" in err and "does not embed audio" in err
    assert "huge.png" in err and "60000×60000" in err
    assert {Path(e.path).name for e in table.errors if e.path} >= {p.name for p in bad}


def test_second_embed_uses_the_cache_and_no_cache_bypasses_it(tmp_path, checkpoints, capsys, isolated_cache):
    folder = tmp_path / "texts"
    folder.mkdir()
    for i in range(3):
        (folder / f"t{i}.txt").write_text(f"caption {i}")
    args = ["embed", str(folder), "--model", str(checkpoints["clip"])]
    assert main(args + ["--out", str(tmp_path / "a.parquet")]) == 0
    assert main(args + ["--out", str(tmp_path / "b.parquet")]) == 0
    a, b = (pq.read_table(tmp_path / n).column("embedding").to_pylist() for n in ("a.parquet", "b.parquet"))
    assert a == b
    assert (isolated_cache / "embeddings.sqlite3").exists()
    from mmstudio.core.cache import EmbeddingCache

    assert EmbeddingCache(isolated_cache).count() == 3
    assert main(args + ["--no-cache", "--out", str(tmp_path / "c.npz")]) == 0
    np.testing.assert_allclose(EmbeddingTable.read(tmp_path / "c.npz").vectors, np.array(a), atol=1e-6)


def test_unknown_model_and_bad_output_are_clear_errors(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("hello")
    assert main(["embed", str(tmp_path / "a.txt"), "--model", "nobody/nothing", "--out", str(tmp_path / "x.parquet")]) == 2
    assert "hf download nobody/nothing" in capsys.readouterr().err
    assert main(["embed", str(tmp_path / "a.txt"), "--out", str(tmp_path / "x.json")]) == 2
    assert "use a .parquet or .npz file" in capsys.readouterr().err


def test_nothing_embedded_is_exit_code_1(tmp_path, checkpoints, capsys):
    (tmp_path / "broken.png").write_bytes(b"nope")
    code = main(["embed", str(tmp_path / "broken.png"), "--model", str(checkpoints["clip"]),
                 "--out", str(tmp_path / "x.parquet")])
    assert code == 1
    assert "broken.png" in capsys.readouterr().err


def test_demo_make_then_embed_with_the_default_builtin_model(tmp_path, capsys):
    assert main(["demo", "make", str(tmp_path / "world"), "--n", "6", "--seed", "1", "--corrupt", "text=0.5"]) == 0
    assert "wrote 6 scenes" in capsys.readouterr().err
    out = tmp_path / "world.parquet"
    assert main(["embed", str(tmp_path / "world"), "--out", str(out)]) == 0
    table = EmbeddingTable.read(out)
    assert len(table) == 18 and table.model == "builtin" and table.dim == 128
    assert set(table.columns) >= {"shape", "color", "xor", "obj1_box", "corrupted"}
    assert sorted(set(table.label)) == sorted(set(table.columns["shape"]))
    assert sum("text:swap" in c for c in table.columns["corrupted"][table.modality == "text"]) == 3


def test_embed_tokens_keeps_patches_frames_and_words_for_token_level_fusion(tmp_path, capsys, checkpoints):
    assert main(["demo", "make", str(tmp_path / "world"), "--n", "30", "--seed", "2"]) == 0
    out = tmp_path / "world.parquet"
    assert main(["embed", str(tmp_path / "world"), "--out", str(out), "--tokens"]) == 0
    table = EmbeddingTable.read(out)
    first = {m: table.tokens[table.rows(m)[0]] for m in table.modalities}
    assert first["image"].grid == (8, 8) and first["image"].vectors.shape == (64, 128)
    assert first["audio"].vectors.shape[1] == 128 and len(first["audio"].times) == len(first["audio"].vectors)
    assert first["text"].tokens[0] == "[CLS]" and len(first["text"].tokens) == len(first["text"].vectors)
    capsys.readouterr()
    assert main(["fuse", str(out), "--label", "shape", "--methods", "cross-attention", "--dropout", "0", "--json"]) == 0
    extra = json.loads(capsys.readouterr().out)["scores"]["methods"]["cross-attention"]["extra"]
    assert extra["level"] == "tokens" and extra["query"] == "text" and set(extra["attention"]) == {"image", "audio"}
    assert sum(extra["attention"].values()) == pytest.approx(1) and extra["keys_min"] >= 1 + 64 + 1
    # a Hugging Face model's tokens: CLIP's patches projected into the joint space, and its text tokens
    write_corpus(tmp_path / "corpus")
    clip = tmp_path / "clip.parquet"
    assert main(["embed", str(tmp_path / "corpus"), "--model", str(checkpoints["clip"]), "--out", str(clip),
                 "--tokens"]) == 0
    table = EmbeddingTable.read(clip)
    image = [table.tokens[r] for r in table.rows("image")]
    assert {t.grid for t in image} == {(4, 4)} and {t.vectors.shape for t in image} == {(16, table.dim)}
    assert all(t.tokens for t in (table.tokens[r] for r in table.rows("text")))
    capsys.readouterr()
    assert main(["embed", str(tmp_path / "corpus"), "--model", str(checkpoints["clip"]), "--tokens",
                 "--out", str(tmp_path / "x.npz")]) == 2
    assert "--tokens keeps token features in Parquet only" in capsys.readouterr().err
    assert main(["embed", str(tmp_path / "corpus"), "--tokens", "--engine", "ray", "--out", str(tmp_path / "s")]) == 2
    assert "the Ray engine writes vectors only" in capsys.readouterr().err


def test_demo_make_refuses_bad_options(tmp_path, capsys):
    assert main(["demo", "make", str(tmp_path / "w"), "--corrupt", "smell=0.5"]) == 2
    assert "modality must be image, audio or text" in capsys.readouterr().err


def test_attend_writes_an_overlay_the_size_of_the_image_or_a_sound_picture(tmp_path, capsys):
    from PIL import Image

    from mmstudio.demo.make import make_world

    make_world(tmp_path / "w", n=2, seed=3, objects="2")
    out = tmp_path / "map.png"
    assert main(["attend", str(tmp_path / "w" / "scene_00000.png"), "--text", "a red circle", "--out", str(out)]) == 0
    with Image.open(out) as im:
        assert im.size == (256, 256) and im.mode == "RGB"
    assert main(["attend", str(tmp_path / "w" / "scene_00000.wav"), "--text", "a red circle",
                 "--out", str(tmp_path / "sound.png")]) == 0
    assert "cross-attention map" in capsys.readouterr().err
    assert main(["attend", str(tmp_path / "w" / "scene_00000.png"), "--text", "a red circle", "--word", "zebra",
                 "--out", str(out)]) == 2
    assert "not a token" in capsys.readouterr().err


def test_a_mistyped_command_is_an_error_not_a_window(capsys):
    from mmstudio.__main__ import main

    assert main(["principlez"]) == 2
    err = capsys.readouterr().err
    assert "principlez: no such command, file or folder" in err and "principles" in err
