"""Training the built-in model: deterministic for a seed, and its output loads as `builtin` would."""

import json

from safetensors.torch import load_file

from mmstudio.__main__ import main
from mmstudio.demo.train import Trainer, TrainSettings
from mmstudio.encoders.builtin.encoder import load_builtin


def test_a_few_steps_change_the_weights_and_are_the_same_for_the_same_seed():
    settings = TrainSettings(scenes=160, steps=3, batch=32, warmup=2)
    states, initial = [], None
    for _ in range(2):
        trainer = Trainer(settings, log=lambda *_: None)
        initial = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        trainer.run()
        states.append({k: v.clone() for k, v in trainer.model.state_dict().items()})
    assert all((states[0][k] == states[1][k]).all() for k in states[0])
    moved = [k for k in initial if initial[k].is_floating_point() and not (initial[k] == states[0][k]).all()]
    assert len(moved) > len(initial) // 2, f"only {len(moved)} of {len(initial)} tensors changed"


def test_demo_train_writes_weights_config_and_metrics_that_load(tmp_path, capsys):
    out = tmp_path / "model"
    assert main(["demo", "train", "--out", str(out), "--steps", "2", "--scenes", "128", "--eval-scenes", "40"]) == 0
    meta = json.loads((out / "config.json").read_text())
    assert meta["training"]["steps"] == 2 and meta["training"]["seed"] == 0
    assert set(meta["metrics"]["retrieval_r1"]) >= {"image->text", "text->audio", "image->audio"}
    assert all(v.dtype.itemsize == 2 for v in load_file(out / "model.safetensors").values())
    encoder = load_builtin(folder=out)
    assert encoder.embed("text", ["a red circle"]).vectors.shape == (1, 128)
    assert "step 2/2" in capsys.readouterr().err
