"""Hugging Face backends, loaded only through the public loader as a user's folder would be.

Vectors are checked against transformers' own feature functions (the reference), token
features for their shapes, and the loader's errors for what they tell the user.
"""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from mmstudio.encoders.base import ModelError
from mmstudio.encoders.registry import load_encoder

TEXTS = ["a red circle on the left", "two blue squares", "café, naïve — ok?"]


def images(n=3, seed=0):
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (40 + 8 * i, 56, 3), dtype=np.uint8)) for i in range(n)]


def clips(rate, seconds=(0.4, 0.7, 1.0), seed=0):
    rng = np.random.default_rng(seed)
    t = [np.arange(int(s * rate)) / rate for s in seconds]
    return [(np.sin(2 * np.pi * (220 + 110 * i) * x) * 0.5 + 0.01 * rng.standard_normal(len(x))).astype(np.float32)
            for i, x in enumerate(t)]


def unwrap(out):
    return out if isinstance(out, torch.Tensor) else out.pooler_output


def normalised(x):
    x = unwrap(x).float()
    return torch.nn.functional.normalize(x, dim=-1).numpy()


def assert_unit_rows(vectors, dim):
    assert vectors.dtype == np.float32 and vectors.shape[1] == dim
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def encoders(checkpoints):
    return {key: load_encoder(str(folder), device="cpu") for key, folder in checkpoints.items()}


def test_each_backend_reports_its_modalities_and_dimension(encoders):
    assert {k: (e.modalities, e.dim) for k, e in encoders.items()} == {
        "clip": (("image", "text"), 16), "siglip": (("image", "text"), 32),
        "clap": (("audio", "text"), 16), "blip": (("image", "text"), 16)}
    for encoder in encoders.values():
        assert encoder.device == "cpu" and encoder.precision == "fp32"
        assert encoder.identity.startswith(f"hf:{encoder.model_type}:")


@pytest.mark.parametrize("key", ["clip", "siglip"])
def test_dual_encoders_match_transformers_feature_functions(encoders, key):
    enc = encoders[key]
    model = enc.model
    with torch.inference_mode():
        px = enc.image_processor(images=images(), return_tensors="pt")["pixel_values"]
        ref_img = normalised(model.get_image_features(pixel_values=px))
        if key == "siglip":
            ids = enc.tokenizer(TEXTS, padding="max_length", truncation=True, return_tensors="pt")["input_ids"]
            ref_txt = normalised(model.get_text_features(input_ids=ids))
        else:
            tok = enc.tokenizer(TEXTS, padding=True, return_tensors="pt")
            ref_txt = normalised(model.get_text_features(**tok))
    got_img = enc.embed("image", images()).vectors
    got_txt = enc.embed("text", TEXTS).vectors
    assert_unit_rows(got_img, enc.dim)
    np.testing.assert_allclose(got_img, ref_img, atol=1e-5)
    np.testing.assert_allclose(got_txt, ref_txt, atol=1e-5)


def test_clap_matches_transformers_and_resamples_to_its_rate(encoders):
    enc = encoders["clap"]
    rate = enc.audio_rate
    assert rate == enc.feature_extractor.sampling_rate
    audio = clips(rate)
    with torch.inference_mode():
        feats = enc.feature_extractor(audio, sampling_rate=rate, return_tensors="pt")
        ref_audio = normalised(enc.model.get_audio_features(input_features=feats["input_features"],
                                                            is_longer=torch.zeros(3, 1, dtype=torch.bool)))
        tok = enc.tokenizer(TEXTS, padding=True, return_tensors="pt")
        ref_txt = normalised(enc.model.get_text_features(**tok))
    np.testing.assert_allclose(enc.embed("audio", audio).vectors, ref_audio, atol=1e-5)
    np.testing.assert_allclose(enc.embed("text", TEXTS).vectors, ref_txt, atol=1e-5)


def test_blip_itc_embeddings_reproduce_the_models_own_similarity(encoders):
    enc = encoders["blip"]
    imgs = images()
    with torch.inference_mode():
        px = enc.image_processor(images=imgs, return_tensors="pt")["pixel_values"]
        tok = enc.tokenizer(TEXTS, padding=True, return_tensors="pt")
        sims = enc.model(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"], pixel_values=px,
                         use_itm_head=False)
        sims = (sims if isinstance(sims, torch.Tensor) else sims[0]).numpy()
    ours = enc.embed("image", imgs).vectors @ enc.embed("text", TEXTS).vectors.T
    np.testing.assert_allclose(ours, sims, atol=1e-5)


def test_token_features_carry_grids_strings_and_times(encoders):
    clip = encoders["clip"]
    out = clip.embed("image", images(2), tokens=True)
    assert [t.grid for t in out.tokens] == [(4, 4), (4, 4)]
    assert out.tokens[0].vectors.shape == (16, clip.dim)
    text = clip.embed("text", ["a red circle", "a much longer caption of many words"], tokens=True).tokens
    assert text[0].tokens[0] == "<|startoftext|>" and text[0].tokens[-1] == "<|endoftext|>"
    assert len(text[0].tokens) == len(text[0].vectors) < len(text[1].tokens)
    siglip = encoders["siglip"].embed("image", images(1), tokens=True).tokens[0]
    assert siglip.grid == (4, 4) and not siglip.joint
    clap = encoders["clap"]
    audio = clap.embed("audio", clips(clap.audio_rate, seconds=(0.3, 1.0)), tokens=True).tokens
    assert audio[0].times[-1] < 0.3 + audio[0].times[0] and len(audio[0].times) < len(audio[1].times)
    assert np.all(np.diff(audio[1].times) > 0) and audio[1].vectors.shape[1] == clap.dim
    blip = encoders["blip"].embed("image", images(1), tokens=True).tokens[0]
    assert blip.grid == (4, 4) and blip.vectors.shape == (16, 16)


def test_a_modality_the_model_lacks_is_refused_with_a_reason(encoders):
    with pytest.raises(ModelError, match="embeds audio and text, not image"):
        encoders["clap"].embed("image", images(1))


def test_unsupported_architecture_is_named(checkpoints, tmp_path):
    folder = shutil.copytree(checkpoints["clip"], tmp_path / "weird")
    config = json.loads((folder / "config.json").read_text())
    config["model_type"], config["architectures"] = "llama", ["LlamaForCausalLM"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match=r"'llama' checkpoint \(LlamaForCausalLM\), which mmstudio does not load; it loads "
                                         r"CLIPModel \(CLIP\), SiglipModel \(SigLIP\), Siglip2Model"):
        load_encoder(str(folder), device="cpu")


def test_blip_that_is_not_itm_is_refused(checkpoints, tmp_path):
    folder = shutil.copytree(checkpoints["blip"], tmp_path / "captioner")
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["BlipForConditionalGeneration"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="not an image-text matching model.*BlipForImageTextRetrieval"):
        load_encoder(str(folder), device="cpu")


def test_folders_without_config_or_safetensors_are_explained(checkpoints, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="has no config.json"):
        load_encoder(str(tmp_path / "empty"), device="cpu")
    folder = shutil.copytree(checkpoints["clip"], tmp_path / "pickled")
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(ModelError, match="loads safetensors only"):
        load_encoder(str(folder), device="cpu")
    with pytest.raises(ModelError, match="does not exist"):
        load_encoder(str(tmp_path / "nowhere"), device="cpu")


def test_hub_id_offline_without_a_local_copy_says_how_to_get_one():
    with pytest.raises(ModelError) as info:
        load_encoder("someone/not-downloaded-model", device="cpu")
    message = str(info.value)
    assert "not in the local Hugging Face cache" in message
    assert "hf download someone/not-downloaded-model" in message and "--model ./FOLDER" in message


def test_a_device_that_is_absent_is_refused_clearly():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ModelError, match="no CUDA GPU is visible"):
        load_encoder("builtin", device="cuda")


def test_identity_changes_when_the_weights_change(checkpoints, tmp_path):
    folder = shutil.copytree(checkpoints["clip"], tmp_path / "clip-copy")
    first = load_encoder(str(folder), device="cpu").identity
    from safetensors.torch import load_file, save_file

    weights = load_file(folder / "model.safetensors")
    key = next(k for k in weights if k.endswith("visual_projection.weight"))
    weights[key] = weights[key] * 2
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    assert load_encoder(str(folder), device="cpu").identity != first
