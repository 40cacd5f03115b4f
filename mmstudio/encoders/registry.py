"""Model names → encoders: ``builtin``, a Hugging Face hub id, or a local folder.

The backend is chosen from the checkpoint's ``config.json`` (``model_type`` and
``architectures``), through the table :data:`BACKENDS`; adding a family is one entry.
"""

from __future__ import annotations

from mmstudio.encoders.base import Encoder, ModelError

DEFAULT_MODEL = "builtin"

# model_type → "module:Class" (imported only when such a model is loaded)
BACKENDS = {
    "clip": "mmstudio.encoders.hf_dual:ClipEncoder",
    "siglip": "mmstudio.encoders.hf_dual:SiglipEncoder",
    "clap": "mmstudio.encoders.hf_clap:ClapEncoder",
    "blip": "mmstudio.encoders.hf_blip:BlipItmEncoder",
}


def load_encoder(name: str = DEFAULT_MODEL, *, device: str = "auto", precision: str = "auto",
                 cache=None) -> Encoder:
    """Load a model by name. Every failure is a :class:`ModelError` whose message says what to do."""
    from mmstudio.core.cache import digest_file
    from mmstudio.encoders.device import pick_device, pick_precision

    device = pick_device(device)
    precision = pick_precision(device, precision)
    digest = cache.file_digest if cache is not None else digest_file
    if name == "builtin":
        from mmstudio.encoders.builtin import load_builtin

        return load_builtin(device=device, precision=precision)
    from mmstudio.encoders.hf_loader import resolve_source

    source = resolve_source(name)
    model_type = source.config.get("model_type", "")
    target = BACKENDS.get(model_type)
    if target is None:
        kinds = ", ".join(sorted(BACKENDS))
        raise ModelError(f"model '{name}' is a '{model_type or 'unknown'}' checkpoint; mmstudio supports {kinds} "
                         "(and the built-in model)")
    module, cls = target.split(":")
    import importlib

    backend = getattr(importlib.import_module(module), cls)
    return backend(source, device, precision, digest)
