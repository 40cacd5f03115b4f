"""The tiny offline checkpoints of tests/tiny_models.py reload like real ones and run."""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

_TESTS_DIR = Path(__file__).resolve().parents[1]
if str(_TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(_TESTS_DIR))

import tiny_models  # noqa: E402

FILES = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json"}
ARCHITECTURES = {
    "clip": "CLIPModel",
    "siglip": "SiglipModel",
    "clap": "ClapModel",
    "blip": "BlipForImageTextRetrieval",
}
# transformers 5 logs this whenever it prints ANY SigLIP config: it validates a default
# SiglipTextConfig (vocab 32000, bos/eos 49406/49407). Real SigLIP checkpoints trigger it too.
KNOWN_NOISE = "must be `None` or an integer within the vocabulary (between 0 and 31999)"

TEXTS = ["a photo of a cat", "Two DOGS playing, café! 42"]


def _embedding(out) -> torch.Tensor:
    """v4 returned a tensor from get_*_features, v5 a BaseModelOutputWithPooling."""
    return out if isinstance(out, torch.Tensor) else out.pooler_output


def _images():
    from PIL import Image

    rng = np.random.default_rng(0)
    return [
        Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)),
        Image.fromarray(rng.integers(0, 256, (80, 40, 3), dtype=np.uint8)),
    ]


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _load(folder: Path):
    """Load a folder the way mmstudio's loader does: offline, class from config.architectures."""
    import transformers
    from transformers import AutoConfig, AutoFeatureExtractor, AutoImageProcessor, AutoTokenizer

    config = AutoConfig.from_pretrained(folder, local_files_only=True)
    model_class = getattr(transformers, config.architectures[0])
    model = model_class.from_pretrained(folder, local_files_only=True, use_safetensors=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    if config.model_type == "clap":
        preprocessor = AutoFeatureExtractor.from_pretrained(folder, local_files_only=True)
    else:
        preprocessor = AutoImageProcessor.from_pretrained(folder, local_files_only=True, backend="pil")
    return config, model, tokenizer, preprocessor


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    return tiny_models.build_all(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def loaded(folders):
    """Every checkpoint loaded once; also records what transformers logged and warned meanwhile."""
    from transformers.utils import logging as hf_logging

    records = _Records()
    hf_logger = hf_logging.get_logger("transformers")
    hf_logger.addHandler(records)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = {key: _load(folder) for key, folder in folders.items()}
    finally:
        hf_logger.removeHandler(records)
    result["_log"] = [m for m in records.messages if KNOWN_NOISE not in m]
    result["_warnings"] = [str(w.message) for w in caught]
    return result


def test_folders_look_like_real_checkpoints(folders):
    import json

    assert set(folders) == {"clip", "siglip", "clap", "blip"}
    for key, folder in folders.items():
        assert FILES <= {p.name for p in folder.iterdir()}, key
        config = json.loads((folder / "config.json").read_text())
        assert config["architectures"] == [ARCHITECTURES[key]]


def test_reload_is_quiet(loaded):
    assert loaded["_log"] == []
    assert loaded["_warnings"] == []


def test_builds_are_deterministic(folders, tmp_path):
    again = tiny_models.build_all(tmp_path)
    for key, folder in folders.items():
        for name in sorted(FILES):
            assert (folder / name).read_bytes() == (again[key] / name).read_bytes(), (key, name)


def test_builders_leave_the_global_rng_alone(tmp_path):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny_models.build_tiny_clip(tmp_path / "clip")
    assert torch.equal(torch.rand(3), expected)


@torch.no_grad()
def test_clip(loaded):
    config, model, tokenizer, processor = loaded["clip"]
    assert type(model).__name__ == "CLIPModel"
    assert type(tokenizer).__name__ == "CLIPTokenizer"
    text = config.text_config
    # the CLIP trap: bos/eos inside the vocabulary, eos the real end-of-text token
    assert (text.bos_token_id, text.eos_token_id) == (tokenizer.bos_token_id, tokenizer.eos_token_id)
    assert tokenizer.eos_token == "<|endoftext|>" and text.eos_token_id == len(tokenizer) - 1
    assert text.vocab_size == len(tokenizer)

    pixel_values = processor(images=_images(), return_tensors="pt")["pixel_values"]
    assert pixel_values.shape == (2, 3, 32, 32)
    enc = tokenizer(TEXTS, padding=True, return_tensors="pt")
    assert enc["input_ids"][0, 0] == tokenizer.bos_token_id
    assert tokenizer.unk_token_id not in enc["input_ids"][1, 1:-1].tolist()  # bytes cover café

    vision = model.vision_model(pixel_values=pixel_values)
    assert vision.last_hidden_state.shape == (2, 1 + 16, 32)
    assert vision.pooler_output.shape == (2, 32)
    text_out = model.text_model(**enc)
    first_eos = (enc["input_ids"] == text.eos_token_id).int().argmax(-1)
    assert first_eos.tolist() == [6, enc["input_ids"].shape[1] - 1]
    torch.testing.assert_close(text_out.pooler_output, text_out.last_hidden_state[torch.arange(2), first_eos])

    image_emb = _embedding(model.get_image_features(pixel_values=pixel_values))
    text_emb = _embedding(model.get_text_features(**enc))
    assert image_emb.shape == text_emb.shape == (2, config.projection_dim) == (2, 16)
    assert torch.isfinite(image_emb).all() and torch.isfinite(text_emb).all()
    torch.testing.assert_close(model.visual_projection(vision.pooler_output), image_emb)


@torch.no_grad()
def test_siglip(loaded):
    config, model, tokenizer, processor = loaded["siglip"]
    assert type(model).__name__ == "SiglipModel"
    max_length = config.text_config.max_position_embeddings
    assert tokenizer.model_max_length == max_length == 16

    pixel_values = processor(images=_images(), return_tensors="pt")["pixel_values"]
    assert pixel_values.shape == (2, 3, 32, 32)
    enc = tokenizer(TEXTS, padding="max_length", truncation=True, return_tensors="pt")
    assert list(enc.keys()) == ["input_ids"]  # like SiglipTokenizer: no attention mask
    assert enc["input_ids"].shape == (2, max_length)
    assert enc["input_ids"][0, -1] == tokenizer.pad_token_id == tokenizer.eos_token_id

    vision = model.vision_model(pixel_values=pixel_values)
    assert vision.last_hidden_state.shape == (2, 16, 32)  # no CLS token
    text_out = model.text_model(**enc)
    assert text_out.last_hidden_state.shape == (2, max_length, 32)
    torch.testing.assert_close(text_out.pooler_output, model.text_model.head(text_out.last_hidden_state[:, -1]))

    image_emb = _embedding(model.get_image_features(pixel_values=pixel_values))
    text_emb = _embedding(model.get_text_features(**enc))
    assert image_emb.shape == text_emb.shape == (2, 32)
    assert torch.isfinite(image_emb).all() and torch.isfinite(text_emb).all()
    assert model.logit_scale.item() == pytest.approx(np.log(10.0)) and model.logit_bias.item() == -10.0


@torch.no_grad()
def test_clap(loaded):
    config, model, tokenizer, feature_extractor = loaded["clap"]
    assert type(model).__name__ == "ClapModel"
    assert type(feature_extractor).__name__ == "ClapFeatureExtractor"
    assert feature_extractor.truncation == "rand_trunc" and not config.audio_config.enable_fusion
    sr = feature_extractor.sampling_rate
    rng = np.random.default_rng(0)
    audios = [
        np.sin(2 * np.pi * 440 * np.arange(sr // 2) / sr).astype(np.float32),  # 0.5 s
        (0.1 * rng.standard_normal(sr)).astype(np.float32),  # 1 s = max_length_s
    ]
    features = feature_extractor(audios, sampling_rate=sr, return_tensors="pt")
    frames = feature_extractor.nb_max_samples // feature_extractor.hop_length + 1
    assert features["input_features"].shape == (2, 1, frames, config.audio_config.num_mel_bins) == (2, 1, 101, 16)
    assert features["is_longer"].tolist() == [[False], [False]]

    audio_out = model.audio_model(**features)
    assert audio_out.last_hidden_state.shape == (2, 32, 2, 32)  # (batch, channels, freq, time)
    assert audio_out.pooler_output.shape == (2, 32)
    audio_emb = _embedding(model.get_audio_features(**features))
    assert audio_emb.shape == (2, 16) and torch.isfinite(audio_emb).all()
    torch.testing.assert_close(audio_emb.norm(dim=-1), torch.ones(2))  # CLAP normalises
    torch.testing.assert_close(audio_emb, torch.nn.functional.normalize(model.audio_projection(audio_out.pooler_output), dim=-1))

    enc = tokenizer(TEXTS, padding=True, return_tensors="pt")
    assert enc["input_ids"][0, 0] == tokenizer.bos_token_id == 0 and tokenizer.pad_token_id == 1
    text_out = model.text_model(**enc)
    assert text_out.pooler_output.shape == (2, 32)
    text_emb = _embedding(model.get_text_features(**enc))
    assert text_emb.shape == (2, 16) and torch.isfinite(text_emb).all()


@torch.no_grad()
def test_blip_itm(loaded):
    config, model, tokenizer, processor = loaded["blip"]
    assert type(model).__name__ == "BlipForImageTextRetrieval"
    assert config.text_config.bos_token_id == tokenizer.convert_tokens_to_ids("[DEC]") == len(tokenizer) - 1

    pixel_values = processor(images=_images(), return_tensors="pt")["pixel_values"]
    assert pixel_values.shape == (2, 3, 32, 32)
    enc = tokenizer(TEXTS, padding=True, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    assert ids[0, 0] == tokenizer.cls_token_id

    vision = model.vision_model(pixel_values=pixel_values)
    assert vision.last_hidden_state.shape == (2, 1 + 16, 32)
    text_out = model.text_encoder(input_ids=ids, attention_mask=mask)
    assert text_out.last_hidden_state.shape == (2, ids.shape[1], 32)

    # ITC embeddings exactly as BlipForImageTextRetrieval(use_itm_head=False) computes them
    image_emb = torch.nn.functional.normalize(model.vision_proj(vision.last_hidden_state[:, 0]), dim=-1)
    text_emb = torch.nn.functional.normalize(model.text_proj(text_out.last_hidden_state[:, 0]), dim=-1)
    assert image_emb.shape == text_emb.shape == (2, config.image_text_hidden_size) == (2, 16)
    assert torch.isfinite(image_emb).all() and torch.isfinite(text_emb).all()
    assert not torch.allclose(image_emb[0], image_emb[1])
    itc = model(input_ids=ids, attention_mask=mask, pixel_values=pixel_values, use_itm_head=False)
    torch.testing.assert_close(itc.itm_score, image_emb @ text_emb.t())
    itm = model(input_ids=ids, attention_mask=mask, pixel_values=pixel_values)
    assert itm.itm_score.shape == (2, 2)

    image_mask = torch.ones(vision.last_hidden_state.shape[:-1], dtype=torch.long)
    crossed = model.text_encoder(
        ids,
        mask,
        encoder_hidden_states=vision.last_hidden_state,
        encoder_attention_mask=image_mask,
        output_attentions=True,
    )
    assert len(crossed.cross_attentions) == config.text_config.num_hidden_layers
    for attn in crossed.cross_attentions:
        assert attn.shape == (2, 4, ids.shape[1], 1 + 16)
        torch.testing.assert_close(attn.sum(-1), torch.ones(attn.shape[:-1]))


@torch.no_grad()
def test_clip_benchmark_shape(tmp_path):
    from transformers import AutoImageProcessor, CLIPModel

    folder = tiny_models.build_tiny_clip(
        tmp_path / "bench", image_size=224, patch_size=32, hidden=256, layers=4, heads=4, proj_dim=128
    )
    model = CLIPModel.from_pretrained(folder, local_files_only=True, use_safetensors=True).eval()
    processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True, backend="pil")
    pixel_values = processor(images=_images()[:1], return_tensors="pt")["pixel_values"]
    assert pixel_values.shape == (1, 3, 224, 224)
    assert model.vision_model(pixel_values=pixel_values).last_hidden_state.shape == (1, 50, 256)
    assert _embedding(model.get_image_features(pixel_values=pixel_values)).shape == (1, 128)


def test_family_builds_are_deterministic(family_checkpoints, tmp_path):
    import tiny_families

    again = tiny_families.build_families(tmp_path)
    assert set(again) == set(family_checkpoints)
    for key, folder in family_checkpoints.items():
        names = sorted(p.name for p in folder.iterdir())
        assert names == sorted(p.name for p in again[key].iterdir()) and set(FILES) <= set(names), key
        for name in names:
            assert (folder / name).read_bytes() == (again[key] / name).read_bytes(), (key, name)
