"""Model names → encoders: ``builtin``, a Hugging Face hub id, or a local folder.

The backend is chosen from the checkpoint's ``config.json`` (``model_type`` and
``architectures``), through the table :data:`BACKENDS`; adding a family is one entry.
"""

from __future__ import annotations

from mmstudio.encoders.base import Encoder, ModelError

DEFAULT_MODEL = "builtin"

# model_type → "module:Class" (imported only when such a model is loaded)
BACKENDS = {
    "clip": "mmstudio.encoders.hf.dual:ClipEncoder",
    "siglip": "mmstudio.encoders.hf.dual:SiglipEncoder",
    "clap": "mmstudio.encoders.hf.clap:ClapEncoder",
    "blip": "mmstudio.encoders.hf.blip:BlipItmEncoder",
}


def load_encoder(name: str = DEFAULT_MODEL, *, device: str = "auto", precision: str = "auto",
                 cache=None) -> Encoder:
    """Load a model by name. Every failure is a :class:`ModelError` whose message says what to do."""
    from mmstudio.core.cache import digest_file
    from mmstudio.encoders.device import pick_device, pick_precision

    if name == "builtin":
        from mmstudio.encoders.builtin.encoder import load_builtin

        device = pick_device(device)
        return load_builtin(device=device, precision=pick_precision(device, precision))
    from mmstudio.encoders.hf.loader import resolve_source

    source = resolve_source(name)  # the folder is checked before torch is imported: a bad one fails fast
    model_type = source.config.get("model_type", "")
    target = BACKENDS.get(model_type)
    if target is None:
        kinds = ", ".join(sorted(BACKENDS))
        raise ModelError(f"model '{name}' is a '{model_type or 'unknown'}' checkpoint; mmstudio supports {kinds} "
                         "(and the built-in model)")
    _check_parts(name, source, model_type)
    device = pick_device(device)
    precision = pick_precision(device, precision)
    digest = cache.file_digest if cache is not None else digest_file
    module, cls = target.split(":")
    import importlib

    backend = getattr(importlib.import_module(module), cls)
    try:
        return backend(source, device, precision, digest)
    except ModelError:
        raise
    except Exception as exc:  # a folder whose parts do not fit together: transformers fails in many ways
        from mmstudio.core.logfile import one_line

        raise ModelError(f"model '{name}' ({model_type}) could not be loaded: {one_line(exc)}") from exc


def _check_parts(name: str, source, model_type: str) -> None:
    """What the backends need besides the weights, and a config that agrees with itself."""
    folder = source.folder
    if not any((folder / f).is_file() for f in ("preprocessor_config.json", "processor_config.json")):
        raise ModelError(f"model folder {folder} has no preprocessor_config.json (how inputs are prepared for "
                         "the model); save it with processor.save_pretrained(folder)")
    architectures = source.config.get("architectures") or []
    if not isinstance(architectures, list) or not all(isinstance(a, str) for a in architectures):
        raise ModelError(f"{folder / 'config.json'}: architectures must be a list of class names")
    if architectures and not any(a.lower().startswith(model_type) for a in architectures):
        raise ModelError(f"{folder / 'config.json'}: model_type '{model_type}' does not match its architectures "
                         f"({', '.join(architectures)}); the config was changed by hand or belongs to another model")
