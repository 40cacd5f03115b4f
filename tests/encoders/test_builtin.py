"""The built-in model as shipped: loads offline, embeds all three modalities, and meets its quality bars
on scenes drawn with a seed it never trained on."""

import json

import numpy as np
import pytest

from mmstudio.demo.captions import describe
from mmstudio.demo.render import render_image, render_sound
from mmstudio.demo.world import make_scenes
from mmstudio.encoders.builtin.encoder import resources_folder
from mmstudio.encoders.registry import load_encoder

HELD_OUT_SEED = 4242  # neither the training seed (0) nor the seed of the shipped metrics (777)


@pytest.fixture(scope="module")
def builtin():
    return load_encoder("builtin", device="cpu")


@pytest.fixture(scope="module")
def quality(builtin):
    from mmstudio.demo.evaluate import evaluate

    return evaluate(builtin, n=1000, seed=HELD_OUT_SEED)


def test_shipped_files_are_small_and_record_how_they_were_made():
    folder = resources_folder()
    assert (folder / "model.safetensors").stat().st_size < 10 * 2**20
    meta = json.loads((folder / "config.json").read_text())
    assert {"seed", "scenes", "steps", "minutes"} <= set(meta["training"])
    assert {"retrieval_r1", "pointing", "xor_accuracy"} <= set(meta["metrics"])


def test_embeds_three_modalities_into_one_normalised_space(builtin):
    scenes = make_scenes(6, seed=HELD_OUT_SEED)
    rng = np.random.default_rng(0)
    out = {"image": builtin.embed("image", [render_image(s) for s in scenes], tokens=True),
           "audio": builtin.embed("audio", [render_sound(s) for s in scenes], tokens=True),
           "text": builtin.embed("text", [describe(s, rng).text for s in scenes] , tokens=True)}
    assert builtin.modalities == ("image", "audio", "text") and builtin.dim == 128
    for encoded in out.values():
        assert encoded.vectors.shape == (6, 128)
        np.testing.assert_allclose(np.linalg.norm(encoded.vectors, axis=1), 1, atol=1e-5)
    assert out["image"].tokens[0].grid == (8, 8) and out["image"].tokens[0].vectors.shape == (64, 128)
    assert out["text"].tokens[0].tokens[0] == "[CLS]"
    times = out["audio"].tokens[0].times
    assert len(times) == 25 and times[0] == pytest.approx(0.02) and times[-1] == pytest.approx(0.98)


def test_unknown_words_are_marked_not_dropped(builtin):
    tokens = builtin.embed("text", ["a zebra circle"], tokens=True).tokens[0].tokens
    assert tokens == ["[CLS]", "a", "zebra [UNK]", "circle"]


def test_same_vectors_whatever_the_batch(builtin):
    scenes = make_scenes(9, seed=1)
    images = [render_image(s) for s in scenes]
    texts = [describe(s, np.random.default_rng(i)).text for i, s in enumerate(scenes)]
    for modality, items in (("image", images), ("text", texts)):
        whole = builtin.embed(modality, items).vectors
        parts = np.concatenate([builtin.embed(modality, items[i:i + 2]).vectors for i in range(0, 9, 2)])
        np.testing.assert_allclose(parts, whole, atol=1e-5)


def test_cross_attention_rows_are_distributions(builtin):
    scene = make_scenes(1, seed=3, objects="2")[0]
    (weights,), (words,) = builtin.cross_attention("image", [render_image(scene)], ["a red circle"])
    assert weights.shape == (builtin.cfg.cross_layers, 4, 4, 64)
    np.testing.assert_allclose(weights.sum(-1), 1, atol=1e-5)
    assert words == ["[CLS]", "a", "red", "circle"]


def test_retrieval_bars(quality):
    """Every direction the README's table claims (six), each at its bar."""
    r1 = quality["retrieval_r1"]
    claimed = {"image->text", "text->image", "audio->text", "text->audio", "image->audio", "audio->image"}
    assert set(r1) == claimed
    for direction in sorted(claimed):
        assert r1[direction] >= 0.90, (direction, r1)


def test_pointing_bars(quality):
    p = quality["pointing"]
    assert p["cross_attention"] >= 0.90 and p["patch_similarity"] >= 0.80 and p["audio_time"] >= 0.85, p


def test_xor_needs_both_modalities(quality):
    x = quality["xor_accuracy"]
    assert x["image"] <= 0.60 and x["audio"] <= 0.60, x
    assert x["image+audio (early-fusion MLP)"] >= 0.90, x
