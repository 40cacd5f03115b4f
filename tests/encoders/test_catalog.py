"""Checkpoints found in the local Hugging Face cache: tiny random CLIP and ALIGN checkpoints saved in the
cache's own layout are listed with their family (from the one table, mmstudio.encoders.hf.families),
modalities and the dimension their encoder really has; checkpoints mmstudio cannot use are listed with
the reason the loader gives; ``mmstudio models`` prints both and every family."""

import json
import shutil

import pytest
import tiny_models

from mmstudio.__main__ import main
from mmstudio.encoders import catalog
from mmstudio.encoders.base import ModelError
from mmstudio.encoders.catalog import BUILTIN, cached_models, describe, hub_cache_dirs
from mmstudio.encoders.hf.families import FAMILIES

UNKNOWN = ("'bert' is not CLIP, SigLIP, SigLIP 2 (NaFlex), ALIGN, AltCLIP, Chinese-CLIP, MetaCLIP 2, BLIP ITM or "
           "CLAP (unfused and fused)")

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
def fake_hub(tmp_path_factory, family_checkpoints):
    hub = tmp_path_factory.mktemp("hf") / "hub"
    tiny_models.build_tiny_clip(snapshot(hub, "acme/tiny-clip"), proj_dim=24)
    shutil.copytree(family_checkpoints["align"], snapshot(hub, "acme/tiny-align"), dirs_exist_ok=True)
    classifier = snapshot(hub, "acme/clip-classifier")   # the tiny CLIP's files, saved from another head
    shutil.copytree(hub / "models--acme--tiny-clip" / "snapshots" / REVISION, classifier, dirs_exist_ok=True)
    config = json.loads((classifier / "config.json").read_text())
    (classifier / "config.json").write_text(json.dumps(config | {"architectures": ["CLIPForImageClassification"]}))
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


def test_a_cached_align_is_found_with_its_family_and_the_dimension_its_encoder_has(hub_env):
    from transformers import AlignConfig

    from mmstudio.encoders.registry import load_encoder

    align = next(m for m in cached_models() if m.hub_id == "acme/tiny-align")
    assert (align.name, align.family, align.modalities, align.reason) == ("acme/tiny-align", "ALIGN",
                                                                          ("image", "text"), None)
    assert align.dim == AlignConfig.from_pretrained(align.folder).projection_dim != AlignConfig().projection_dim
    assert load_encoder(align.name, device="cpu").dim == align.dim


def test_checkpoints_mmstudio_cannot_use_are_listed_with_why(hub_env):
    models = {m.hub_id: m for m in cached_models()}
    assert {k for k, m in models.items() if m.supported} == {"acme/tiny-clip", "acme/tiny-align"}
    assert models["acme/a-bert"].reason == UNKNOWN
    assert models["acme/blip-captions"].reason == ("BlipForConditionalGeneration, not an image-text matching model; "
                                                   "mmstudio loads BlipForImageTextRetrieval")
    assert models["acme/clip-classifier"].reason == ("CLIPForImageClassification, not a contrastive image-text "
                                                     "model; mmstudio loads CLIPModel")
    assert models["acme/no-weights"].reason == "no .safetensors weights (mmstudio loads safetensors only)"
    for other_head in ("acme/blip-captions", "acme/clip-classifier"):
        assert (models[other_head].family, models[other_head].dim) == (None, None)
    assert (models["acme/no-weights"].family, models["acme/no-weights"].dim) == ("CLIP", 512)  # the default
    assert [m.supported for m in cached_models()] == [True, True] + [False] * (len(models) - 2)  # usable first


def test_the_loader_refuses_another_head_with_the_reason_the_list_gives(hub_env):
    from mmstudio.encoders.registry import load_encoder

    classifier = next(m for m in cached_models() if m.hub_id == "acme/clip-classifier")
    with pytest.raises(ModelError) as refused:
        load_encoder(classifier.name, device="cpu")
    assert str(refused.value) == f"model 'acme/clip-classifier' is a CLIP {classifier.reason}"


def test_a_cache_other_than_the_loaders_gives_the_snapshot_folder_as_the_name(fake_hub, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    clip = next(m for m in cached_models([fake_hub]) if m.hub_id == "acme/tiny-clip")
    assert clip.name == str(fake_hub / "models--acme--tiny-clip" / "snapshots" / REVISION)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_each_familys_default_size_is_transformers_default(family):
    """What a config.json that leaves the key out means (save_pretrained writes only what differs)."""
    from transformers import CONFIG_MAPPING

    value = CONFIG_MAPPING[family.model_types[0]]()
    for key in family.dim_key:
        value = getattr(value, key)
    assert family.dim_default == value


def test_every_tiny_checkpoint_is_described_with_the_size_its_encoder_has(checkpoints, family_checkpoints):
    """One tiny checkpoint of each family, read from its config.json alone, then loaded."""
    from mmstudio.encoders.registry import load_encoder

    folders = {**checkpoints, **family_checkpoints}
    described = {key: describe(folder, key, str(folder)) for key, folder in folders.items()}
    assert {m.family for m in described.values()} == {f.name for f in FAMILIES}
    for key, model in described.items():
        encoder = load_encoder(model.name, device="cpu")
        assert (model.reason, model.modalities, model.dim) == (None, tuple(encoder.modalities), encoder.dim), key
    assert load_encoder(BUILTIN.load_name, device="cpu").dim == BUILTIN.dim


def test_mmstudio_models_lists_families_and_the_cache(hub_env, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "  acme/tiny-align  ALIGN  image, text  16-d\n" in out
    assert "  acme/tiny-clip   CLIP   image, text  24-d\n" in out
    assert f"acme/a-bert  cannot be used: {UNKNOWN}\n" in out
    width = len("CLAP (unfused and fused)")
    assert f"  {'built-in':<{width}}  image, audio, text 128-d  'builtin'" in out
    for family in FAMILIES:
        assert f"  {family.name:<{width}}  {', '.join(family.modalities):<17} e.g. {family.examples[0]}\n" in out
    assert main(["models", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    clip = next(m for m in report["cached"] if m["hub_id"] == "acme/tiny-clip")
    assert (clip["dim"], clip["family"], clip["reason"]) == (24, "CLIP", None)
    assert [f["name"] for f in report["families"]] == [f.name for f in FAMILIES]
    assert report["builtin"]["dim"] == 128


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
