"""The fusion lab and `mmstudio fuse` on the demo world, embedded by the built-in model: the gate
against a corrupted modality, the missing-modality strategies, robustness curves, and the CLI."""

import json

import numpy as np
import pytest

from mmstudio.__main__ import main
from mmstudio.analysis.fusion.curves import robustness_curve
from mmstudio.analysis.fusion.lab import FusionLab, Knobs
from mmstudio.core.tables.table import EmbeddingTable

N_SCENES, SEED = 600, 11
EARLY = ("early-linear", "early-mlp", "cross-attention")


def demo_table(n=N_SCENES, seed=SEED) -> EmbeddingTable:
    """What `mmstudio demo make` + `mmstudio embed` give, rendered and embedded in memory: one row per
    (scene, modality) with the built-in model's vectors and the task columns."""
    from mmstudio.demo.evaluate import embed_world
    from mmstudio.demo.world import make_scenes
    from mmstudio.encoders.registry import load_encoder

    scenes = make_scenes(n, seed=seed)
    vectors = embed_world(load_encoder("builtin", device="cpu"), scenes, seed)
    mods = list(vectors)
    ids = [f"scene_{i:05d}" for i in range(n)]
    rows = [(m, i) for m in mods for i in range(n)]
    return EmbeddingTable(
        sample_id=[ids[i] for _, i in rows], modality=[m for m, _ in rows], path=[f"{ids[i]}.{m}" for m, i in rows],
        label=[scenes[i].shape for _, i in rows], vectors=np.concatenate([vectors[m] for m in mods]),
        columns={"shape": [scenes[i].shape for _, i in rows], "xor": [str(scenes[i].xor) for _, i in rows]},
        model="builtin")


@pytest.fixture(scope="module")
def world():
    return demo_table()


@pytest.fixture(scope="module")
def world_file(world, tmp_path_factory):
    path = tmp_path_factory.mktemp("fusion") / "world.parquet"
    world.write(path)
    return path


@pytest.fixture(scope="module")
def shape_lab(world):
    """Image and audio (the captions name the shape outright, so text alone would be perfect)."""
    return FusionLab.fit(world, "shape", modalities=("image", "audio"), seed=0)


def mean_accuracy(lab, methods, seeds=(0, 1, 2), **knobs):
    return np.mean([[lab.score(Knobs(seed=s, **knobs), contributions=False).methods[m].accuracy for m in methods]
                    for s in seeds])


def test_clean_fusion_is_at_least_the_best_modality(shape_lab):
    scores = shape_lab.score()
    assert scores.best_single().accuracy > 0.8
    for name in ("late-logit", "early-linear", "poe", "gated"):
        assert scores.methods[name].accuracy >= scores.best_single().accuracy - 0.02, name
    assert scores.methods["gated"].gate_open_rate > 0.9
    assert set(scores.methods["late-logit"].contribution) == {"image", "audio"}


def test_under_mismatch_only_the_oracle_gate_beats_the_best_modality_the_label_free_ones_do_not(shape_lab):
    """Both modalities noisy, and half the audio vectors belong to other scenes (mismatched pairs). Plain
    fusion falls below the best single modality (negative transfer). A gate that trusts each expert's
    accuracy under these very conditions rescues it, but that needs labels of the corrupted data (the
    oracle); the label-free gates (confidence, clean validation accuracy) do not: the gate fails here."""
    corrupted = dict(noise={"all": 1.2}, mismatch={"audio": 0.5})
    best_single = max(mean_accuracy(shape_lab, [f"{m}-only"], **corrupted) for m in ("image", "audio"))
    gated = {t: mean_accuracy(shape_lab, ["gated"], gate=0.5, trust=t, **corrupted)
             for t in ("confidence", "clean-accuracy", "oracle")}
    gate_off = mean_accuracy(shape_lab, ["gated"], gate=0.0, **corrupted)
    late = mean_accuracy(shape_lab, ["late-logit"], **corrupted)
    assert gate_off == pytest.approx(late)          # a gate that never closes is the logit sum
    assert gated["oracle"] > best_single + 0.02 > late + 0.02
    assert gated["confidence"] < best_single and gated["clean-accuracy"] < best_single, gated
    assert Knobs().trust == "confidence"            # the default reads no label at test time
    scores = shape_lab.score(Knobs(trust="oracle", **corrupted))
    assert scores.trust["image"] > scores.trust["audio"]
    assert 0.3 < scores.methods["gated"].gate_open_rate < 0.9  # the same gate, whatever it trusts
    assert scores.methods["gated"].extra["dropped"]["audio"] > scores.methods["gated"].extra["dropped"]["image"]


def test_dropout_training_is_at_least_zero_fill_at_half_missing(shape_lab):
    for missing in ({"all": 0.5}, {"audio": 0.5}):
        dropout = mean_accuracy(shape_lab, EARLY, missing=missing, impute="dropout")
        zero = mean_accuracy(shape_lab, EARLY, missing=missing, impute="zero")
        assert dropout >= zero, missing
    clean = mean_accuracy(shape_lab, EARLY)
    assert mean_accuracy(shape_lab, EARLY, missing={"all": 0.5}, impute="dropout") < clean


def test_robustness_curves_on_the_demo_world(shape_lab):
    fits = shape_lab.fits
    curve = robustness_curve(shape_lab, "missing", "audio", levels=np.linspace(0, 1, 6))
    for name in curve.values:
        assert 0 <= curve.area(name) <= 1 and curve.relative(name) <= 1.02
    assert (np.diff(curve.present_rate) <= 0).all()
    np.testing.assert_allclose(curve.values["image-only"], curve.values["image-only"][0])
    assert curve.values["audio-only"][-1] < curve.values["audio-only"][0] - 0.3
    assert np.diff(curve.values["audio-only"]).max() <= 0.02
    # losing audio leaves image: late fusion ends where image alone is
    assert curve.values["late-logit"][-1] == pytest.approx(curve.values["image-only"][-1], abs=0.02)
    noise = robustness_curve(shape_lab, "noise", "image", levels=[0, 1, 2, 3])
    assert noise.values["image-only"][-1] < noise.values["image-only"][0]
    assert noise.relative("late-logit") > noise.relative("image-only")
    assert shape_lab.fits == fits


def test_xor_needs_an_interaction(world):
    lab = FusionLab.fit(world, "xor", modalities=("image", "audio"), methods="early-linear,early-mlp,late-logit",
                        dropout=0)
    scores = lab.score(contributions=False)
    assert scores.methods["early-mlp"].accuracy > 0.9
    assert scores.methods["late-logit"].accuracy < 0.7 and scores.methods["early-linear"].accuracy < 0.7


def test_cli_json(world_file, capsys):
    code = main(["fuse", str(world_file), "--label", "shape", "--modalities", "image,audio", "--missing", "audio=0.5",
                 "--impute", "cross", "--noise", "image=0.3", "--gate", "0.6", "--curve", "missing:audio", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["label"] == "shape" and report["lab"]["modalities"] == ["image", "audio"]
    assert report["scores"]["knobs"]["impute"] == "cross-modal" and report["scores"]["knobs"]["gate"] == 0.6
    methods = report["scores"]["methods"]
    assert {"early-linear", "early-mlp", "late-logit", "late-prob", "poe", "moe", "cross-attention", "gated",
            "image-only", "audio-only"} == set(methods)
    for m in methods.values():
        assert 0 <= m["accuracy"] <= 1 and 0 <= m["macro_f1"] <= 1 and m["nll"] > 0 and 0 <= m["ece"] <= 1
        assert np.array(m["confusion"]).sum() == report["scores"]["n_test"]
    assert report["scores"]["present_rate"]["audio"] == pytest.approx(0.5, abs=0.1)
    assert 0 <= methods["gated"]["gate_open_rate"] <= 1
    curve = report["curves"][0]
    assert curve["knob"] == "missing" and curve["modality"] == "audio" and len(curve["levels"]) == 11
    assert all(0 <= s["area"] <= 1 for s in curve["summary"].values())


def test_cli_text(world_file, capsys):
    assert main(["fuse", str(world_file), "--label", "xor", "--methods", "early-mlp,late-logit,gated",
                 "--modalities", "image,audio", "--dropout", "0"]) == 0
    out = capsys.readouterr().out
    for words in ("fusion of", "'xor'", "2 classes", "early-mlp", "late-logit", "gated", "image-only", "accuracy",
                  "macro-F1", "NLL", "ECE", "gate: open for", "Δ image"):
        assert words in out, words
    assert "poe" not in out
    assert "trust: each expert's confidence per sample (label-free)" in out
    assert main(["fuse", str(world_file), "--label", "xor", "--methods", "gated", "--modalities", "image,audio",
                 "--dropout", "0", "--trust", "oracle"]) == 0
    assert "trust: ORACLE" in capsys.readouterr().out


def test_cli_errors_exit_2_naming_the_file_and_reason(world_file, tmp_path, capsys):
    assert main(["fuse", str(tmp_path / "missing.parquet"), "--label", "shape"]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    assert main(["fuse", str(bad), "--label", "shape"]) == 2
    assert "not a readable Parquet file" in capsys.readouterr().err
    cases = [(["--label", "flavour"], "no column 'flavour'"),
             (["--label", "shape", "--missing", "smell=0.5"], "unknown modality 'smell'"),
             (["--label", "shape", "--noise", "image=lots"], "--noise 'image=lots'"),
             (["--label", "shape", "--missing", "audio=2"], "must be between 0 and 1"),
             (["--label", "shape", "--methods", "early,telepathy"], "unknown method(s) telepathy"),
             (["--label", "shape", "--modalities", "image,smell"], "no smell rows"),
             (["--label", "shape", "--curve", "wind"], "--curve 'wind'")]
    for extra, reason in cases:
        assert main(["fuse", str(world_file), *extra]) == 2, extra
        err = capsys.readouterr().err
        assert str(world_file) in err and reason in err and "Traceback" not in err, err


def test_cross_attention_over_one_vector_per_sample_is_said_to_be_uninformative(world_file, capsys):
    """Without token features, with two modalities the query attends to one key: every weight is 1 and
    the report says so instead of printing 'attends to audio 1.000'; with three (text querying image
    and audio) the weights and their entropy vary."""
    assert main(["fuse", str(world_file), "--label", "shape", "--modalities", "image,audio",
                 "--methods", "cross-attention", "--dropout", "0"]) == 0
    out = capsys.readouterr().out
    assert "its weight is 1 by construction" in out and "attends to audio 1.000" not in out
    assert main(["fuse", str(world_file), "--label", "shape", "--methods", "cross-attention", "--dropout", "0",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    extra = report["scores"]["methods"]["cross-attention"]["extra"]
    assert extra["keys"] == 2 and extra["uniform_bits"] == 1 and 0 < extra["attention_entropy_bits"] <= 1 + 1e-9
    assert extra["query"] == "text" and extra["level"] == "pooled" and report["lab"]["attention"] == "pooled"
    assert extra["why_pooled"] == "the table carries no token features (embed it with `mmstudio embed --tokens`)"
