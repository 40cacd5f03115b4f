"""Model names → encoders: ``builtin``, a Hugging Face hub id, or a local folder.

The backend is chosen from the checkpoint's ``config.json`` (``architectures``, then
``model_type``) through the table of families, :data:`mmstudio.encoders.hf.families.FAMILIES`;
adding a family is one entry there.
"""

from __future__ import annotations

from mmstudio.encoders.base import Encoder, ModelError
from mmstudio.encoders.hf.families import FAMILIES, family_for, other_head, supported

DEFAULT_MODEL = "builtin"

# model_type → "module:Class" (imported only when such a model is loaded)
BACKENDS = {model_type: f.backend for f in FAMILIES for model_type in f.model_types}


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
    family = _family(name, source, model_type)
    target = family.backend
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


def _family(name: str, source, model_type: str):
    """The checkpoint's family, from a config that agrees with itself, and the parts its backend needs
    besides the weights; or a :class:`ModelError` naming what mmstudio loads."""
    folder = source.folder
    architectures = source.config.get("architectures") or []
    if not isinstance(architectures, list) or not all(isinstance(a, str) for a in architectures):
        raise ModelError(f"{folder / 'config.json'}: architectures must be a list of class names")
    family = family_for(model_type, architectures)
    classes = f" ({', '.join(architectures)})" if architectures else ""
    if family is None:
        raise ModelError(f"model '{name}' is a '{model_type or 'unknown'}' checkpoint{classes}, which mmstudio does "
                         f"not load; it loads {supported()}, and the built-in model")
    if model_type not in family.model_types:
        raise ModelError(f"{folder / 'config.json'}: model_type '{model_type}' does not match its architectures "
                         f"({', '.join(architectures)}); the config was changed by hand or belongs to another model")
    head = other_head(family, architectures)
    if head:
        raise ModelError(f"model '{name}' is a {family.name} {head}")
    if not any((folder / f).is_file() for f in ("preprocessor_config.json", "processor_config.json")):
        raise ModelError(f"model folder {folder} has no preprocessor_config.json (how inputs are prepared for "
                         "the model); save it with processor.save_pretrained(folder)")
    return family
