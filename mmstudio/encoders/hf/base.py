"""Shared machinery of the Hugging Face backends: loading, devices, autocast, normalisation."""

from __future__ import annotations

import threading

import numpy as np

from mmstudio.core.media.decode import DECODE_VERSION
from mmstudio.encoders.base import Encoded, Encoder, ModelError, TokenFeatures
from mmstudio.encoders.device import autocast
from mmstudio.encoders.hf.loader import ModelSource, folder_digest

BACKEND_VERSION = 1  # bump when a backend changes what it computes (part of the cache identity)


class HFEncoder(Encoder):
    """A Hugging Face model wrapped as an :class:`Encoder`. Subclasses load parts and forward."""

    model_type = ""

    def __init__(self, source: ModelSource, device: str, precision: str, digest_file):
        self.source = source
        self.name = source.name
        self.device = device
        self.precision = precision
        self.identity = (f"hf:{self.model_type}:{source.name}:{folder_digest(source.folder, digest_file)}"
                         f":b{BACKEND_VERSION}:d{DECODE_VERSION}")
        self._text_lock = threading.Lock()  # fast tokenizers are not safe to call from two threads at once
        self.model = self.load(source).to(device)
        self.fast_image_prep = None
        if getattr(self, "image_processor", None) is not None:
            from mmstudio.encoders.hf.image_prep import FastImagePrep

            self.fast_image_prep = FastImagePrep.from_processor(self.image_processor)
            self.image_draft = self.fast_image_prep.draft_size if self.fast_image_prep else None

    def __getstate__(self):  # pickled (without_model() for the Ray engine's decode tasks): locks stay behind
        return {k: v for k, v in self.__dict__.items() if k != "_text_lock"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._text_lock = threading.Lock()

    def load(self, source: ModelSource):
        """Load model, tokenizer and processors; set ``modalities`` and ``dim``; return the model."""
        raise NotImplementedError

    # ----------------------------------------------------------------- the model half
    def encode(self, modality: str, batch, *, tokens: bool = False) -> Encoded:
        import torch

        self._check_modality(modality)
        batch = {k: v.to(self.device) if hasattr(v, "to") else v for k, v in batch.items()}
        with torch.inference_mode(), autocast(self.device, self.precision):
            pooled, token_states = getattr(self, f"forward_{modality}")(batch, tokens)
        vectors = torch.nn.functional.normalize(pooled.float(), dim=-1).cpu().numpy()
        features = self.token_features(modality, batch, token_states) if tokens else None
        return Encoded(np.ascontiguousarray(vectors, dtype=np.float32), features)

    def token_features(self, modality, batch, states) -> list[TokenFeatures]:
        """Per-item token features from the token states a forward returned."""
        states = states.float().cpu().numpy()
        if modality == "text":
            mask = batch.get("attention_mask")
            ids = batch["input_ids"].cpu().numpy()
            keep = mask.cpu().numpy().astype(bool) if mask is not None else np.ones_like(ids, bool)
            return [TokenFeatures("text", states[i][keep[i]], tokens=self.tokenizer.convert_ids_to_tokens(ids[i][keep[i]].tolist()))
                    for i in range(len(states))]
        if modality == "image":
            n = states.shape[1]
            side = int(round(n ** 0.5))
            if side * side != n:
                raise ModelError(f"{self.name}: {n} image tokens do not form a square grid")
            return [TokenFeatures("image", s, joint=self.image_tokens_joint, grid=(side, side)) for s in states]
        raise ModelError(f"{self.name}: no token features for {modality}")

    image_tokens_joint = True

    # ----------------------------------------------------------------- the CPU half
    def prepare(self, modality: str, items: list):
        self._check_modality(modality)
        if modality == "text":
            with self._text_lock:
                return dict(self.prepare_text(items))
        return dict(getattr(self, f"prepare_{modality}")(items))

    def prepare_image(self, images):
        if self.fast_image_prep is not None:
            return {"pixel_values": self.fast_image_prep(images)}
        return self.image_processor(images=images, return_tensors="pt")

    def batch_size(self, modality: str) -> int:
        return 128 if self.device.startswith("cuda") else 32
