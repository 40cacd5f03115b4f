"""Model folders that cannot work (item 6): one model error each, naming the file and the reason,
exit 2, before torch is imported where the folder alone shows it; nothing written."""

import json

from harness import Case, copy_into, shared, tiny_clip


def _model(change):
    """``embed a.txt --model bad --out out.parquet`` with a copy of the tiny CLIP changed by ``change(folder)``."""
    def build(folder):
        model = copy_into(shared("clip", tiny_clip), folder, "bad")
        change(model)
        (folder / "a.txt").write_text("a red circle", encoding="utf-8")
        return ["embed", "a.txt", "--model", "bad", "--out", "out.parquet"]
    return build


def _edit(name, edit):
    def change(model):
        data = json.loads((model / name).read_text())
        (model / name).write_text(json.dumps(edit(data)))
    return change


def _truncate_weights(model):
    weights = model / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) - 1000])  # the header is whole, the tensors are cut


def _garbage_weights(model):
    import random

    (model / "model.safetensors").write_bytes(random.Random(0).randbytes(5000))


def _auto_map(name, **extra):
    def change(model):
        source = model / ("preprocessor_config.json" if name != "config.json" else "config.json")
        data = json.loads(source.read_text())
        data.update(auto_map={"AutoImageProcessor": "custom.Processor", "AutoModel": "custom.Model"}, **extra)
        (model / name).write_text(json.dumps(data))
    return change


def case(id, change, says):
    return Case(id, _model(change), says=("bad", *says), keeps=("out.parquet",))


CASES = [
    case("model-weights-truncated", _truncate_weights, ("model.safetensors", "truncated")),
    case("model-weights-garbage", _garbage_weights, ("model.safetensors", "damaged weights file")),
    case("model-weights-empty", lambda m: (m / "model.safetensors").write_bytes(b""), ("model.safetensors",)),
    case("model-no-preprocessor", lambda m: (m / "preprocessor_config.json").unlink(), ("preprocessor_config.json",)),
    case("model-auto-map-processor-config", _auto_map("processor_config.json"),
         ("processor_config.json", "custom code")),
    # transformers would ask "Do you wish to run the custom code? [y/N]" on stdin here; the case answers y
    Case("model-auto-map-preprocessor", _model(_auto_map("preprocessor_config.json", image_processor_type="Processor")),
         says=("preprocessor_config.json", "custom code"), keeps=("out.parquet",), stdin="y\n"),
    case("model-auto-map-config", _auto_map("config.json"), ("config.json", "custom code")),
    case("model-config-a-list", lambda m: (m / "config.json").write_text("[1, 2]"), ("config.json", "found list")),
    case("model-config-not-json", lambda m: (m / "config.json").write_text('{"model_type": "cl'),
         ("config.json", "unreadable config")),
    case("model-type-a-list", _edit("config.json", lambda d: {**d, "model_type": ["clip"]}),
         ("model_type must be a string",)),
    case("model-clip-relabelled-clap", _edit("config.json", lambda d: {**d, "model_type": "clap"}),
         ("model_type 'clap' does not match", "CLIPModel")),
    case("model-type-unknown", _edit("config.json", lambda d: {**d, "model_type": "llama", "architectures": []}),
         ("'llama' checkpoint",)),
    case("model-no-weights", lambda m: (m / "model.safetensors").unlink(), ("no .safetensors weights",)),
]
