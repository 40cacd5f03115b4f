"""The scripts in examples/ run as a user runs them (a subprocess each), one feeding the next."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(script: str, *args, env=None) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *map(str, args)], capture_output=True, text=True,
                          timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    folder = tmp_path_factory.mktemp("examples")
    env = dict(os.environ, MMSTUDIO_CACHE_DIR=str(folder / "cache"), MMSTUDIO_LOG_DIR=str(folder / "log"))
    from mmstudio.demo.make import make_world

    world = make_world(folder / "world", n=40, seed=3)
    out = run("embed_a_folder.py", world.parent, folder / "table.parquet", env=env)
    assert "40 samples, 120 items (image, audio, text), 128-d, 0 skipped" in out
    return folder / "table.parquet", env


def test_every_example_is_run_here():
    ran = {"embed_a_folder.py", "project_a_table.py", "align_a_table.py", "fuse_a_table.py", "show_a_table.py",
           "compare_two_models.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == ran


def test_project_writes_a_map(table, tmp_path):
    path, env = table
    out = run("project_a_table.py", path, tmp_path / "map.parquet", env=env)
    assert "UMAP of 120 points" in out
    from mmstudio.core.tables.table import EmbeddingTable

    assert {"x", "y"} <= set(EmbeddingTable.read(tmp_path / "map.parquet").columns)


def test_align_prints_every_pair(table):
    out = run("align_a_table.py", table[0], env=table[1])
    assert out.count("R@1") == 6 and "image -> text" in out and "audio -> text" in out


def test_fuse_scores_every_method_clean_and_with_a_modality_missing(table):
    out = run("fuse_a_table.py", table[0], "shape", env=table[1])
    lines = out.strip().splitlines()
    methods = {line.split()[0] for line in lines}
    assert {"early-linear", "late-logit", "late-prob", "poe", "moe", "gated", "image-only"} <= methods
    assert all("with half the image missing" in line for line in lines)


def test_show_draws_the_window_on_the_table(table, tmp_path):
    env = dict(table[1], QT_QPA_PLATFORM="offscreen")
    run("show_a_table.py", table[0], "--png", tmp_path / "window.png", env=env)
    from PIL import Image

    with Image.open(tmp_path / "window.png") as picture:
        assert picture.size == (1200, 800)


def test_compare_two_models_prints_what_the_command_prints_on_held_out_samples(table, tmp_path, capsys):
    """The notebook-style script: the built-in model before and after an aligner, compared on the 50
    samples the aligner held out; its numbers are those `mmstudio compare --json` gives for the two
    tables it wrote, and every line it prints about a change follows from that report."""
    import json
    import re

    from mmstudio.__main__ import main

    out = run("compare_two_models.py", tmp_path, env=table[1])
    assert "300 rows (image, audio, text), 128-d, model builtin, 0 skipped" in out
    assert "trained on 50 samples; held-out R@1 image → text" in out
    assert main(["compare", str(tmp_path / "before.parquet"), str(tmp_path / "after.parquet"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == json.loads((tmp_path / "compare.json").read_text(encoding="utf-8"))
    assert report["matched"]["samples"] == 50 and report["B"]["model"] == "builtin + aligner (image → text)"
    lines = [line for line in out.splitlines() if " -> " in line and "before " in line]
    changed = []
    for pair in report["pairs"]:
        for r in pair["retrieval"]:
            for metric in ("R@1", "mAP@10"):
                d = r["difference"][metric]
                line = next(x for x in lines if re.match(rf"\s*{r['query']} -> {r['gallery']}\s+{re.escape(metric)} ", x))
                assert f"before {r['A'][metric]:.3f}  after {r['B'][metric]:.3f}" in line
                assert f"[{d['low']:+.3f}, {d['high']:+.3f}]" in line
                assert line.endswith("the interval excludes 0") == d["excludes_0"]
                changed += [metric] if d["excludes_0"] else []
    last = out.strip().splitlines()[-2]
    assert last.startswith("changed on 50 held-out samples" if changed else "no retrieval number changed on 50")
