"""The Hugging Face families mmstudio loads, in one table: what a checkpoint's ``config.json`` says
(``architectures``, ``model_type``) → the backend that loads it, and what it embeds.

Plain data, no torch: the one table of families. The registry picks a backend here; the Models table of the
README, ``mmstudio models``, the model dialog and the scan of the Hugging Face cache
(:mod:`mmstudio.encoders.catalog`: family, and embedding size from ``config.json``) read the same list.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    name: str                       # as people write it
    model_types: tuple[str, ...]    # config.json "model_type"
    architectures: tuple[str, ...]  # config.json "architectures" the backend loads (the model class)
    modalities: tuple[str, ...]
    dim_key: tuple[str, ...]        # where config.json holds the size of the shared space (keys, nested)
    dim_default: int                # transformers' value when config.json leaves that key out
    backend: str                    # "module:Class", imported only when such a checkpoint is loaded
    kind: str                       # what the backend needs the checkpoint to be, for the refusal
    examples: tuple[str, ...]       # checkpoints on the hub
    test: str                       # the test that checks its vectors against transformers' own call
    packages: tuple[str, ...] = ()  # transformers.models.* it needs besides its own (tokenizer, processor)


_DUAL = "a contrastive image-text model"
_TESTS = "tests/encoders/"

FAMILIES: tuple[Family, ...] = (
    Family("CLIP", ("clip",), ("CLIPModel",), ("image", "text"), ("projection_dim",), 512,
           "mmstudio.encoders.hf.dual:ClipEncoder", _DUAL,
           ("openai/clip-vit-base-patch32", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", "facebook/metaclip-b32-400m"),
           _TESTS + "test_hf_backends.py::test_dual_encoders_match_transformers_feature_functions"),
    Family("SigLIP", ("siglip",), ("SiglipModel",), ("image", "text"), ("vision_config", "hidden_size"), 768,
           "mmstudio.encoders.hf.dual:SiglipEncoder", _DUAL,
           ("google/siglip-base-patch16-224", "google/siglip2-base-patch16-224"),
           _TESTS + "test_hf_backends.py::test_dual_encoders_match_transformers_feature_functions", ("t5", "gemma")),
    Family("SigLIP 2 (NaFlex)", ("siglip2",), ("Siglip2Model",), ("image", "text"), ("vision_config", "hidden_size"),
           768, "mmstudio.encoders.hf.siglip2:Siglip2Encoder", _DUAL, ("google/siglip2-base-patch16-naflex",),
           _TESTS + "test_hf_families.py::test_vectors_match_transformers[siglip2]", ("gemma",)),
    Family("ALIGN", ("align",), ("AlignModel",), ("image", "text"), ("projection_dim",), 640,
           "mmstudio.encoders.hf.align:AlignEncoder", _DUAL,
           ("kakaobrain/align-base",), _TESTS + "test_hf_families.py::test_vectors_match_transformers[align]",
           ("efficientnet", "bert")),
    Family("AltCLIP", ("altclip",), ("AltCLIPModel",), ("image", "text"), ("projection_dim",), 768,
           "mmstudio.encoders.hf.clip_family:AltClipEncoder", _DUAL, ("BAAI/AltCLIP", "BAAI/AltCLIP-m9"),
           _TESTS + "test_hf_families.py::test_vectors_match_transformers[altclip]", ("clip", "xlm_roberta")),
    Family("Chinese-CLIP", ("chinese_clip",), ("ChineseCLIPModel",), ("image", "text"), ("projection_dim",), 512,
           "mmstudio.encoders.hf.clip_family:ChineseClipEncoder", _DUAL, ("OFA-Sys/chinese-clip-vit-base-patch16",),
           _TESTS + "test_hf_families.py::test_vectors_match_transformers[chinese_clip]", ("bert",)),
    Family("MetaCLIP 2", ("metaclip_2",), ("MetaClip2Model",), ("image", "text"), ("projection_dim",), 512,
           "mmstudio.encoders.hf.clip_family:MetaClip2Encoder", _DUAL,
           ("facebook/metaclip-2-worldwide-huge-quickgelu",),
           _TESTS + "test_hf_families.py::test_vectors_match_transformers[metaclip_2]", ("clip", "xlm_roberta")),
    Family("BLIP ITM", ("blip",), ("BlipForImageTextRetrieval",), ("image", "text"), ("image_text_hidden_size",), 256,
           "mmstudio.encoders.hf.blip:BlipItmEncoder", "an image-text matching model",
           ("Salesforce/blip-itm-base-coco", "Salesforce/blip-itm-large-flickr"),
           _TESTS + "test_hf_backends.py::test_blip_itc_embeddings_reproduce_the_models_own_similarity", ("bert",)),
    Family("CLAP (unfused and fused)", ("clap",), ("ClapModel",), ("audio", "text"), ("projection_dim",), 512,
           "mmstudio.encoders.hf.clap:ClapEncoder", "a contrastive audio-text model",
           ("laion/clap-htsat-unfused", "laion/clap-htsat-fused", "laion/larger_clap_music"),
           _TESTS + "test_hf_backends.py::test_clap_matches_transformers_and_resamples_to_its_rate, "
           + _TESTS + "test_hf_families.py::test_fused_clap_matches_transformers_on_a_clip_longer_than_its_window",
           ("roberta",)),
)


def family_for(model_type: str, architectures: list[str]) -> Family | None:
    """The family of a checkpoint: by its architectures first (the class it was saved from), else
    by its model_type. None when mmstudio loads neither."""
    for family in FAMILIES:
        if any(a in family.architectures for a in architectures):
            return family
    return next((f for f in FAMILIES if model_type in f.model_types), None)


def other_head(family: Family, architectures) -> str | None:
    """Why a checkpoint of ``family`` saved from another class (a BLIP captioner, a CLIP image classifier)
    is not what its backend loads, naming the class it needs; None when it is (or says no class)."""
    if architectures and not set(architectures) & set(family.architectures):
        return (f"{', '.join(architectures)}, not {family.kind}; "
                f"mmstudio loads {' or '.join(family.architectures)}")
    return None


def supported() -> str:
    """One line: every family with the architecture it loads."""
    return ", ".join(f"{f.architectures[0]} ({f.name})" for f in FAMILIES)
