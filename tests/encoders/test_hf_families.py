"""The other contrastive families (SigLIP 2, ALIGN, AltCLIP, Chinese-CLIP, MetaCLIP 2, fused CLAP), each
a tiny random checkpoint saved like a user's folder and embedded with ``mmstudio embed``.

The reference is transformers' own call on the checkpoint's own processor, loaded on its own:
``model.get_image_features`` / ``get_text_features`` / ``get_audio_features`` on what
``AutoProcessor`` gives, normalised. Every vector must reach cosine ≥ 0.9999 with it.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from mmstudio.__main__ import main
from mmstudio.analysis.attention.heatmaps import AttentionSession, methods_for
from mmstudio.core.tables.table import EmbeddingTable
from mmstudio.encoders.base import ModelError
from mmstudio.encoders.registry import load_encoder

IMAGE_FAMILIES = ["siglip2", "align", "altclip", "chinese_clip", "metaclip_2"]
TEXTS = ["a red circle on the left", "two blue squares, café", "一只猫坐在红色的沙发上"]
SHAPES = [(40, 56), (30, 90), (72, 48)]  # (height, width): SigLIP 2 gives each its own patch grid
SECONDS = [0.5, 1.0, 2.5]                # the fused CLAP's window is 1 s: the last one is longer
MIN_COSINE = 0.9999


def images():
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in SHAPES]


def sounds(rate):
    rng = np.random.default_rng(1)
    return [(0.3 * np.sin(2 * np.pi * (200 + 150 * i) * np.arange(int(s * rate)) / rate)
             + 0.05 * rng.standard_normal(int(s * rate))).astype(np.float32) for i, s in enumerate(SECONDS)]


def reference(folder):
    """The checkpoint's model class (from config.json) and its AutoProcessor, loaded by transformers alone."""
    import transformers
    from transformers import AutoProcessor

    architecture = json.loads((folder / "config.json").read_text())["architectures"][0]
    model = getattr(transformers, architecture).from_pretrained(folder, local_files_only=True).eval()
    return model, AutoProcessor.from_pretrained(folder, local_files_only=True, backend="pil")


def unit(out):
    out = out if isinstance(out, torch.Tensor) else out.pooler_output
    return torch.nn.functional.normalize(out.float(), dim=-1).numpy()


def reference_images(model, processor, imgs):
    kwargs = {}
    if hasattr(processor.image_processor, "max_num_patches"):
        # Siglip2Processor's own defaults (256 patches of 16 px) override the saved image processor's:
        # pass the checkpoint's values, as its image processor holds them
        kwargs = dict(max_num_patches=processor.image_processor.max_num_patches,
                      patch_size=processor.image_processor.patch_size)
    with torch.inference_mode():
        return unit(model.get_image_features(**processor(images=imgs, return_tensors="pt", **kwargs)))


def reference_texts(model, processor, texts):
    kwargs = {} if getattr(processor, "text_kwargs", None) else {"padding": True, "truncation": True}
    with torch.inference_mode():  # SigLIP 2 and ALIGN pad to 64 tokens, their processors' defaults
        return unit(model.get_text_features(**processor(text=texts, return_tensors="pt", **kwargs)))


def embed_folder(tmp_path, model_folder, *, imgs=(), clips=(), rate=None, texts=TEXTS):
    """``mmstudio embed`` on a folder of PNGs / float WAVs and captions, as a user runs it →
    {(modality, stem): vector}."""
    folder = tmp_path / "data"
    folder.mkdir()
    for i, image in enumerate(imgs):
        image.save(folder / f"s{i}.png")
    for i, clip in enumerate(clips):
        sf.write(folder / f"s{i}.wav", clip, rate, subtype="FLOAT")
    for i, text in enumerate(texts):
        (folder / f"s{i}.txt").write_text(text, encoding="utf-8")
    out = tmp_path / "out.parquet"
    assert main(["embed", str(folder), "--model", str(model_folder), "--out", str(out), "--batch-size", "2"]) == 0
    table = EmbeddingTable.read(out)
    assert not table.errors
    return {(m, Path(p).stem): v for m, p, v in zip(table.modality, table.path, table.vectors)}


def assert_close(got, ref):
    got = np.asarray(got)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(got * ref, axis=1)) >= MIN_COSINE


@pytest.fixture(scope="module")
def encoders(family_checkpoints):
    return {key: load_encoder(str(folder), device="cpu") for key, folder in family_checkpoints.items()}


@pytest.mark.parametrize("key", IMAGE_FAMILIES)
def test_vectors_match_transformers(key, family_checkpoints, tmp_path, capsys):
    folder = family_checkpoints[key]
    vectors = embed_folder(tmp_path, folder, imgs=images())
    model, processor = reference(folder)
    assert_close([vectors["image", f"s{i}"] for i in range(3)], reference_images(model, processor, images()))
    assert_close([vectors["text", f"s{i}"] for i in range(3)], reference_texts(model, processor, TEXTS))
    assert "embedded 6 items (3 image, 3 text)" in capsys.readouterr().err


def test_each_family_reports_its_modalities_and_dimension(encoders):
    assert {k: (e.modalities, e.dim) for k, e in encoders.items()} == {
        "siglip2": (("image", "text"), 32), "align": (("image", "text"), 16), "altclip": (("image", "text"), 16),
        "chinese_clip": (("image", "text"), 16), "metaclip_2": (("image", "text"), 16),
        "clap_fused": (("audio", "text"), 16)}
    assert {k: type(e.model).__name__ for k, e in encoders.items()} == {
        "siglip2": "Siglip2Model", "align": "AlignModel", "altclip": "AltCLIPModel",
        "chinese_clip": "ChineseCLIPModel", "metaclip_2": "MetaClip2Model", "clap_fused": "ClapModel"}


def test_siglip2_gives_each_image_its_own_grid_and_batches_do_not_leak(encoders):
    enc = encoders["siglip2"]
    imgs = images()
    batch = enc.prepare("image", imgs)
    shapes = [tuple(s) for s in batch["spatial_shapes"].tolist()]
    assert len(set(shapes)) == 3 and all(r * c <= 16 for r, c in shapes)
    assert batch["pixel_attention_mask"].sum(1).tolist() == [r * c for r, c in shapes]
    together = enc.embed("image", imgs, tokens=True)
    with torch.inference_mode():  # each image alone, its patch list cut to its own patches: no padding at all
        alone = np.concatenate([unit(enc.model.get_image_features(
            pixel_values=batch["pixel_values"][i:i + 1, :r * c], pixel_attention_mask=torch.ones(1, r * c),
            spatial_shapes=batch["spatial_shapes"][i:i + 1])) for i, (r, c) in enumerate(shapes)])
    np.testing.assert_allclose(together.vectors, alone, atol=1e-5)  # the padding never reaches a vector
    assert [t.grid for t in together.tokens] == shapes
    assert [len(t.vectors) for t in together.tokens] == [r * c for r, c in shapes]
    wide = imgs[1]  # 90 × 30 px: more columns than rows
    result = AttentionSession(enc).map(wide, "a red circle", method="patch-similarity")
    assert result.grid.shape == shapes[1] and shapes[1][1] > shapes[1][0]
    assert result.upsampled(wide.size).shape == (30, 90) and np.isfinite(result.grid).all()


def test_align_patch_tokens_average_to_the_image_embedding(encoders):
    enc = encoders["align"]
    out = enc.embed("image", images(), tokens=True)
    for vector, tokens in zip(out.vectors, out.tokens):
        assert tokens.grid == (4, 4) and tokens.joint
        mean = tokens.vectors.mean(axis=0)
        np.testing.assert_allclose(mean / np.linalg.norm(mean), vector, atol=1e-5)
    assert methods_for(enc, "image") == ("patch-similarity",)


@pytest.mark.parametrize("key", ["altclip", "chinese_clip", "metaclip_2"])
def test_clip_built_families_give_patch_maps_against_their_own_text_embedding(key, encoders):
    enc = encoders[key]
    assert methods_for(enc, "image") == ("patch-similarity", "relevance")
    image, text = images()[0], TEXTS[0]
    result = AttentionSession(enc).map(image, text, method="patch-similarity")
    model = enc.model
    with torch.inference_mode():  # the same map from transformers' modules: projected patch tokens · text features
        pixels = enc.image_processor(images=[image], return_tensors="pt")["pixel_values"]
        states = model.vision_model(pixel_values=pixels).last_hidden_state[:, 1:]
        patches = unit(model.visual_projection(model.vision_model.post_layernorm(states)))[0]
        tok = enc.tokenizer([text], return_tensors="pt")
        text_vector = unit(model.get_text_features(**tok))[0]
    np.testing.assert_allclose(result.grid, (patches @ text_vector).reshape(4, 4), atol=1e-5)
    relevance = AttentionSession(enc).map(image, text, method="relevance").grid
    assert relevance.shape == (4, 4) and np.isfinite(relevance).all() and relevance.min() >= 0 < relevance.max()


def test_fused_clap_matches_transformers_on_a_clip_longer_than_its_window(family_checkpoints, tmp_path):
    folder = family_checkpoints["clap_fused"]
    enc = load_encoder(str(folder), device="cpu")
    rate = enc.audio_rate
    clips = sounds(rate)
    assert enc.window_seconds == 1.0 and SECONDS[-1] > enc.window_seconds
    vectors = embed_folder(tmp_path, folder, clips=clips, rate=rate)
    model, processor = reference(folder)
    features = []
    for clip in clips:  # the extractor draws its fusion crops from numpy's generator: one seed per clip
        np.random.seed(0)
        features.append(processor(audio=[clip], sampling_rate=rate, return_tensors="pt")["input_features"])
    is_longer = torch.tensor([[s > enc.window_seconds] for s in SECONDS])
    with torch.inference_mode():
        ref_audio = unit(model.get_audio_features(input_features=torch.cat(features), is_longer=is_longer))
    assert_close([vectors["audio", f"s{i}"] for i in range(3)], ref_audio)
    assert_close([vectors["text", f"s{i}"] for i in range(3)], reference_texts(model, processor, TEXTS))
    # the long clip is fused: not the vector of its first window
    first_window = enc.embed("audio", [clips[2][:rate]]).vectors[0]
    assert float(first_window @ vectors["audio", "s2"]) < 0.999


def test_fused_clap_vectors_do_not_depend_on_the_batch_nor_touch_numpys_generator(encoders):
    enc = encoders["clap_fused"]
    clips = sounds(enc.audio_rate)
    np.random.seed(123)
    expected = np.random.random(3)
    np.random.seed(123)
    together = enc.embed("audio", clips, tokens=True)
    assert np.array_equal(np.random.random(3), expected)
    alone = np.concatenate([enc.embed("audio", [c]).vectors for c in clips[::-1]])[::-1]
    np.testing.assert_allclose(together.vectors, alone, atol=1e-5)
    extractor, window, hop = enc.feature_extractor, enc.feature_extractor.nb_max_samples, enc.feature_extractor.hop_length
    lengths = [window - 1, window, window + hop // 2, window + hop, 3 * window]  # one less than a hop longer: not fused
    flags = extractor([np.zeros(n, np.float32) for n in lengths], sampling_rate=enc.audio_rate)["is_longer"]
    assert [enc.is_longer(n) for n in lengths] == [f[0] for f in flags] == [False, False, False, True, True]
    long = together.tokens[2]  # fused: its frames follow the whole 2.5 s sound
    assert long.times[0] < 0.2 and 2.3 < long.times[-1] < 2.5
    assert together.tokens[0].times[-1] < 0.5


def _with_truncation(source: Path, target: Path, truncation: str) -> Path:
    folder = shutil.copytree(source, target)
    config = json.loads((folder / "preprocessor_config.json").read_text())
    config["truncation"] = truncation
    (folder / "preprocessor_config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize("key, saved", [("clap", "fusion"), ("clap_fused", "rand_trunc")])
def test_an_extractor_saved_with_the_other_truncation_follows_the_checkpoint(key, saved, checkpoints,
                                                                             family_checkpoints, tmp_path):
    source = {**checkpoints, **family_checkpoints}[key]
    right = load_encoder(str(source), device="cpu")
    wrong = load_encoder(str(_with_truncation(source, tmp_path / "wrong", saved)), device="cpu")
    clips = sounds(right.audio_rate)[:2]  # within the window of both models
    np.testing.assert_allclose(wrong.embed("audio", clips).vectors, right.embed("audio", clips).vectors, atol=1e-6)
    assert wrong.feature_extractor.truncation == right.feature_extractor.truncation != saved


def _edited(source: Path, target: Path, **changes) -> Path:
    folder = shutil.copytree(source, target)
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_an_unsupported_architecture_is_one_line_naming_the_supported_ones(family_checkpoints, tmp_path, capsys):
    from mmstudio.encoders.hf.families import FAMILIES

    folder = _edited(family_checkpoints["align"], tmp_path / "llama", model_type="llama",
                     architectures=["LlamaForCausalLM"])
    assert main(["embed", str(tmp_path), "--model", str(folder), "--out", str(tmp_path / "o.parquet")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "is a 'llama' checkpoint (LlamaForCausalLM), which mmstudio does not load" in err
    for family in FAMILIES:
        assert f"{family.architectures[0]} ({family.name})" in err


def test_a_head_of_a_known_family_that_is_not_contrastive_is_refused(family_checkpoints, tmp_path):
    folder = _edited(family_checkpoints["siglip2"], tmp_path / "classifier",
                     architectures=["Siglip2ForImageClassification"])
    with pytest.raises(ModelError, match="is a SigLIP 2 .NaFlex. Siglip2ForImageClassification, not a contrastive "
                                         "image-text model; mmstudio loads Siglip2Model"):
        load_encoder(str(folder), device="cpu")
    relabelled = _edited(family_checkpoints["metaclip_2"], tmp_path / "relabelled", model_type="clip")
    with pytest.raises(ModelError, match="model_type 'clip' does not match its architectures .MetaClip2Model."):
        load_encoder(str(relabelled), device="cpu")
