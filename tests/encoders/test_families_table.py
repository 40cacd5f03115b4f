"""The table of families (mmstudio.encoders.hf.families) agrees with transformers, the backends, the tests
it names and the README's Models table."""

import importlib
from pathlib import Path

import pytest

from mmstudio.encoders.hf.families import FAMILIES, family_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_each_family_names_real_classes_and_a_backend_that_loads_them(family):
    import transformers
    from transformers import CONFIG_MAPPING

    from mmstudio.encoders.hf.base import HFEncoder

    for model_type in family.model_types:
        assert model_type in CONFIG_MAPPING
    for architecture in family.architectures:
        assert isinstance(getattr(transformers, architecture), type)
    module, name = family.backend.split(":")
    backend = getattr(importlib.import_module(module), name)
    assert issubclass(backend, HFEncoder) and backend.model_type in family.model_types
    assert backend.modalities == family.modalities
    for package in family.packages:
        importlib.import_module(f"transformers.models.{package}")


def test_every_test_the_table_names_exists_and_the_readme_lists_it():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    models = readme[readme.index("## Models\n"):readme.index("\n## ", readme.index("## Models\n") + 1)]
    for family in FAMILIES:
        assert f"`{family.architectures[0]}`" in models, family.name
        for test_id in family.test.split(", "):
            path, name = test_id.split("::")
            source = (ROOT / path).read_text(encoding="utf-8")
            function, _, param = name.partition("[")
            assert f"def {function}(" in source, test_id
            if param:
                assert f'"{param.rstrip("]")}"' in source, test_id
            assert f"`{test_id.removeprefix('tests/encoders/')}`" in models, test_id


def test_a_checkpoint_is_known_by_its_architectures_first_then_its_model_type():
    assert family_for("clap", ["CLIPModel"]).name == "CLIP"  # the class it was saved from decides
    assert family_for("siglip2", []).name == "SigLIP 2 (NaFlex)"
    assert family_for("blip", ["BlipForConditionalGeneration"]).name == "BLIP ITM"  # refused later, by name
    assert family_for("llama", ["LlamaForCausalLM"]) is None
