"""The fusion lab panel (pytest-qt, offscreen) on a 300-scene demo world: its knobs re-score without
training, show what `mmstudio fuse` prints for the same settings, and hiding a modality in the
embedding view removes it here."""

import json

import numpy as np
import pytest

from mmstudio.__main__ import main
from mmstudio.analysis.fusion.attention import attention_words
from mmstudio.analysis.fusion.knobs import METHODS, Knobs
from mmstudio.ui.fusion.panel import QtFusionPanel

N_SCENES, WORLD_SEED = 300, 3


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from mmstudio.demo.make import make_world

    folder = tmp_path_factory.mktemp("fusion-world")
    make_world(folder, n=N_SCENES, seed=WORLD_SEED)
    return folder


@pytest.fixture
def panel(make_window, world, qtbot):
    """A window with the world open (PCA layout, to spare the CPU) and the panel shown next to it, trained."""
    window = make_window()
    window.workspace.projection["method"] = "pca"
    window.open_paths([str(world)])
    qtbot.waitUntil(lambda: window.workspace.table is not None and len(window.workspace.table) == 3 * N_SCENES,
                    timeout=300_000)
    panel = QtFusionPanel(window.workspace, window.view)
    qtbot.addWidget(panel)
    panel.resize(1300, 420)
    panel.show()
    qtbot.waitUntil(lambda: panel.scores is not None, timeout=300_000)
    panel.window_ = window
    return panel


def shown_accuracy(panel) -> dict[str, float]:
    """What the bars draw, checked against the table's text."""
    table = panel.table
    for r, name in enumerate(table.names):
        assert table.item(r, 0).text() == f"{panel.bars.values[name]:.3f}"
    return dict(panel.bars.values)


def move(panel, qtbot, knob, **expected):
    """Move a slider as a person would, and wait for the scores of the new knobs."""
    with qtbot.waitSignal(panel.scored, timeout=60_000):
        knob.slider.setValue(knob.slider.value() + 1)          # a drag passes through other values first
        knob.set_value(list(expected.values())[0])
    qtbot.waitUntil(lambda: panel.scores.knobs.missing == expected, timeout=60_000)


def test_missing_rate_knob_shows_what_mmstudio_fuse_computes_without_refitting(panel, qtbot, tmp_path, capsys):
    lab = panel.lab
    fits, log = lab.fits, list(lab.fit_log)
    clean = shown_accuracy(panel)
    assert set(clean) == {*METHODS, "image-only", "audio-only", "text-only"}
    words = panel.attention_text.text()   # the window's own embedding keeps no token features
    assert words == attention_words(panel.scores.methods["cross-attention"].extra)
    assert words.startswith("cross-attention over one vector per modality: text attends to image ")
    assert words.endswith("(token level not used: the table carries no token features (embed it with "
                          "`mmstudio embed --tokens`))")
    assert panel.controls.label() == "label" and panel.settings()["seed"] == 0
    assert f"trained on all {len(lab.split.train):,} training samples; scored on all " in panel.controls.status.text()

    move(panel, qtbot, panel.controls.level_knobs["missing", "audio"], audio=0.5)
    shown = shown_accuracy(panel)
    assert panel.lab is lab and lab.fits == fits and lab.fit_log == log      # a test-time knob never re-fits
    assert shown != clean and shown["audio-only"] < clean["audio-only"] - 0.1
    assert panel.scores.present_rate["audio"] == pytest.approx(0.5, abs=0.1)

    path = tmp_path / "world.parquet"
    panel.window_.workspace.table.write(path)
    assert main(["fuse", str(path), "--label", "label", "--missing", "audio=0.5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    info = lab.info()
    for key in ("seed", "dropout", "split", "modalities", "classes", "methods"):
        assert report["lab"][key] == info[key], key
    assert report["scores"]["knobs"] == panel.scores.knobs.to_dict()
    cli = {name: m["accuracy"] for name, m in report["scores"]["methods"].items()}
    assert shown == pytest.approx(cli, abs=1e-12)
    gated = report["scores"]["methods"]["gated"]["gate_open_rate"]
    assert panel.scores.methods["gated"].gate_open_rate == pytest.approx(gated)
    assert f"{gated:.0%}" in panel.gate_text.text()

    # the confusion matrix is the picked method's, as the CLI counts it
    panel.table.selectRow(panel.table.names.index("late-logit"))
    assert panel.selected == "late-logit"
    np.testing.assert_array_equal(panel.confusion.matrix, report["scores"]["methods"]["late-logit"]["confusion"])

    # more test-time knobs: still no training
    with qtbot.waitSignal(panel.scored, timeout=60_000):
        panel.controls.level_knobs["noise", "image"].set_value(0.8)
        panel.controls.gate.set_value(0.7)
        panel.controls.impute.setCurrentIndex(panel.controls.impute.findData("cross-modal"))
    qtbot.waitUntil(lambda: panel.scores.knobs.gate == 0.7 and panel.scores.knobs.impute == "cross-modal",
                    timeout=60_000)
    assert panel.lab is lab and lab.fits == fits


def test_hiding_a_modality_in_the_view_scores_as_if_it_were_missing(panel, qtbot):
    lab = panel.lab
    fits = lab.fits
    expected = lab.score(Knobs(missing={"audio": 1.0}), contributions=False)
    with qtbot.waitSignal(panel.scored, timeout=60_000):
        panel.window_.view.modality_boxes["audio"].setChecked(False)
    assert panel.scores.knobs.missing == {"audio": 1.0} and panel.scores.present_rate["audio"] == 0
    assert shown_accuracy(panel) == pytest.approx({n: s.accuracy for n, s in expected.methods.items()}, abs=1e-12)
    assert not panel.controls.level_knobs["missing", "audio"].slider.isEnabled()
    assert lab.fits == fits

    with qtbot.waitSignal(panel.scored, timeout=60_000):
        panel.window_.view.modality_boxes["audio"].setChecked(True)
    assert panel.scores.knobs.missing == {}


def test_settings_round_trip_methods_and_curves(panel, qtbot):
    with qtbot.waitSignal(panel.curveReady, timeout=120_000):
        panel.curves.modality.setCurrentText("audio")
    curve = panel.curves.curve
    assert curve.knob == "missing" and curve.modality == "audio" and len(curve.levels) == 11
    assert curve.values["audio-only"][-1] < curve.values["audio-only"][0]

    panel.controls.method_boxes["early-mlp"].setChecked(False)
    assert "early-mlp" not in panel.bars.values and "early-mlp" not in panel.table.names
    with qtbot.waitSignal(panel.scored, timeout=60_000):
        panel.controls.level_knobs["mismatch", "text"].set_value(0.3)
    settings = panel.settings()
    assert json.loads(json.dumps(settings)) == settings
    assert settings["mismatch"] == {"text": 0.3} and "early-mlp" not in settings["methods"]

    other = QtFusionPanel(panel.workspace, panel.view)
    qtbot.addWidget(other)
    other.apply_settings(settings)
    other.show()
    qtbot.waitUntil(lambda: other.scores is not None and other.scores.knobs == panel.scores.knobs, timeout=300_000)
    assert other.settings() == settings
    assert other.bars.values == pytest.approx(panel.bars.values, abs=1e-12)

    # modality dropout is a training-time setting: it trains the dropout heads for the new p (a job), nothing else
    lab, fits = other.lab, other.lab.fits
    other.controls.impute.setCurrentIndex(other.controls.impute.findData("dropout"))
    other.controls.dropout_knob.set_value(0.3)
    qtbot.waitUntil(lambda: 0.3 in lab.dropout_heads and other.scores.knobs.impute == "dropout", timeout=300_000)
    qtbot.waitUntil(lambda: lab.dropout == 0.3, timeout=60_000)
    assert other.lab is lab and lab.fits > fits and "dropout 0.3" in other.controls.status.text()


def test_a_table_with_token_features_shows_token_level_attention(make_window, qtbot, tmp_path):
    from token_world import token_world

    table, _ = token_world(n=240)
    table.write(tmp_path / "tokens.parquet")
    window = make_window()
    window.workspace.projection["method"] = "pca"
    window.open_paths([str(tmp_path / "tokens.parquet")])
    qtbot.waitUntil(lambda: window.workspace.table is not None and len(window.workspace.table) == 480,
                    timeout=300_000)
    panel = QtFusionPanel(window.workspace, window.view)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.scores is not None, timeout=300_000)
    extra = panel.scores.methods["cross-attention"].extra
    words = panel.attention_text.text()
    assert extra["level"] == "tokens" and words == attention_words(extra)
    assert words.startswith("cross-attention, token level: image") and "by construction" not in words
    assert f"attention entropy {extra['attention_entropy_bits']:.2f}" in words
    panel.controls.method_boxes["cross-attention"].setChecked(False)
    assert panel.attention_text.text() == ""
