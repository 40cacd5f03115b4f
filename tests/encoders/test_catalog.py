"""Checkpoints found in the local Hugging Face cache: a tiny random CLIP saved in the cache's own layout
is listed with its family, modalities and the dimension its encoder really has; checkpoints mmstudio
cannot use are listed with the reason; ``mmstudio models`` prints both."""

import json

import pytest
import tiny_models

from mmstudio.__main__ import main
from mmstudio.encoders import catalog
from mmstudio.encoders.catalog import FAMILIES, cached_models, hub_cache_dirs
from mmstudio.encoders.registry import BACKENDS

REVISION = "0123456789abcdef0123456789abcdef01234567"


def snapshot(hub, repo_id: str):
    """``hub/models--ORG--NAME/snapshots/REVISION``, with ``refs/main`` naming it (huggingface_hub's layout)."""
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(REVISION)
    folder = repo / "snapshots" / REVISION
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="module")
def fake_hub(tmp_path_factory):
    hub = tmp_path_factory.mktemp("hf") / "hub"
    tiny_models.build_tiny_clip(snapshot(hub, "acme/tiny-clip"), proj_dim=24)
    (snapshot(hub, "acme/a-bert") / "config.json").write_text(json.dumps({"model_type": "bert",
                                                                         "architectures": ["BertModel"]}))
    captioner = snapshot(hub, "acme/blip-captions")
    (captioner / "config.json").write_text(json.dumps({"model_type": "blip",
                                                       "architectures": ["BlipForConditionalGeneration"]}))
    (snapshot(hub, "acme/no-weights") / "config.json").write_text(json.dumps({"model_type": "clip",
                                                                             "architectures": ["CLIPModel"]}))
    return hub


@pytest.fixture
def hub_env(fake_hub, tmp_path, monkeypatch):
    """The fake cache is the one hub ids load from; nothing else (not the user's) is looked at."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(fake_hub))
    monkeypatch.setenv("HF_HUB_CACHE", str(fake_hub))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "no-hf-home"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return fake_hub


def test_a_cached_clip_is_found_with_its_dimension_and_loads_by_its_hub_id(hub_env):
    from transformers import CLIPConfig

    from mmstudio.encoders.registry import load_encoder

    assert hub_cache_dirs() == [hub_env]
    models = {m.hub_id: m for m in cached_models()}
    clip = models["acme/tiny-clip"]
    assert (clip.name, clip.family, clip.modalities, clip.reason) == ("acme/tiny-clip", "CLIP", ("image", "text"), None)
    assert clip.folder == hub_env / "models--acme--tiny-clip" / "snapshots" / REVISION
    assert clip.dim == 24 == CLIPConfig.from_pretrained(clip.folder).projection_dim
    assert load_encoder(clip.name, device="cpu").dim == clip.dim   # the name the dialog gives loads, at that size


def test_checkpoints_mmstudio_cannot_use_are_listed_with_why(hub_env):
    models = {m.hub_id: m for m in cached_models()}
    assert not any(m.supported for k, m in models.items() if k != "acme/tiny-clip")
    assert models["acme/a-bert"].reason == "'bert' is not CLIP, SigLIP, CLAP or BLIP ITM"
    assert models["acme/blip-captions"].reason == "BlipForConditionalGeneration: not BlipForImageTextRetrieval"
    assert models["acme/no-weights"].reason == "no .safetensors weights (mmstudio loads safetensors only)"
    assert (models["acme/blip-captions"].family, models["acme/blip-captions"].dim) == (None, None)
    assert (models["acme/no-weights"].family, models["acme/no-weights"].dim) == ("CLIP", 512)  # the default
    assert [m.hub_id for m in cached_models()][0] == "acme/tiny-clip"   # usable ones first


def test_a_cache_other_than_the_loaders_gives_the_snapshot_folder_as_the_name(fake_hub, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    clip = next(m for m in cached_models([fake_hub]) if m.hub_id == "acme/tiny-clip")
    assert clip.name == str(fake_hub / "models--acme--tiny-clip" / "snapshots" / REVISION)


def test_the_families_match_the_registry_and_transformers_defaults():
    import transformers

    from mmstudio.encoders.hf.blip import BlipItmEncoder
    from mmstudio.encoders.hf.clap import ClapEncoder
    from mmstudio.encoders.hf.dual import ClipEncoder, SiglipEncoder

    assert {f.model_type for f in FAMILIES} == set(BACKENDS)
    backends = {"clip": ClipEncoder, "siglip": SiglipEncoder, "clap": ClapEncoder, "blip": BlipItmEncoder}
    assert {f.model_type: f.modalities for f in FAMILIES} == {k: tuple(v.modalities) for k, v in backends.items()}
    # what a config.json that leaves the key out means (save_pretrained writes only what differs)
    defaults = {"clip": transformers.CLIPConfig().projection_dim,
                "siglip": transformers.SiglipConfig().vision_config.hidden_size,
                "clap": transformers.ClapConfig().projection_dim,
                "blip": transformers.BlipConfig().image_text_hidden_size}
    assert {f.model_type: f.dim_default for f in FAMILIES} == defaults


def test_mmstudio_models_lists_families_and_the_cache(hub_env, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "acme/tiny-clip  CLIP      image, text  24-d" in out
    assert "acme/a-bert  cannot be used: 'bert' is not CLIP, SigLIP, CLAP or BLIP ITM" in out
    for family in FAMILIES:
        assert f"{family.name:<10} {', '.join(family.modalities):<20} e.g. {family.example}" in out
    assert main(["models", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    clip = next(m for m in report["cached"] if m["hub_id"] == "acme/tiny-clip")
    assert (clip["dim"], clip["family"], clip["reason"]) == (24, "CLIP", None)


def test_no_cache_is_said(tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "none"))
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "none-either"))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert catalog.hub_cache_dirs() == []
    assert main(["models"]) == 0
    assert "no Hugging Face cache found" in capsys.readouterr().out
