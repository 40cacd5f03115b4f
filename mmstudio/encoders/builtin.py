"""The built-in demo model (``builtin``): a small image/text/audio encoder trained on the demo world."""

from __future__ import annotations

from mmstudio.encoders.base import ModelError


def load_builtin(device: str, precision: str):
    raise ModelError("the built-in demo model is not part of this build yet; pass --model with a "
                     "Hugging Face hub id (e.g. openai/clip-vit-base-patch32) or a local model folder")
