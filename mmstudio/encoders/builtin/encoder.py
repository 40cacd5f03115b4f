"""The built-in demo model (``builtin``): image, audio and text in one 128-d space, offline.

Its weights and config ship in ``mmstudio/resources/builtin/``; ``mmstudio demo train`` reproduces them.
Beyond the Encoder protocol it offers :meth:`BuiltinEncoder.cross_attention`: the attention
of each text token over image patches or sound frames, from the model's cross-attention heads.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from mmstudio.encoders.base import Encoded, Encoder, ModelError, TokenFeatures
from mmstudio.encoders.device import autocast

BUILTIN_VERSION = 1


def resources_folder() -> Path:
    """``mmstudio/resources/builtin``: the package's data files (a checkout, an install, a bundle)."""
    from importlib.resources import files

    return Path(str(files("mmstudio.resources") / "builtin"))


def load_builtin(device: str = "cpu", precision: str = "fp32", folder=None) -> "BuiltinEncoder":
    folder = Path(folder) if folder is not None else resources_folder()
    config_file, weights_file = folder / "config.json", folder / "model.safetensors"
    if not (config_file.is_file() and weights_file.is_file()):
        raise ModelError(f"the built-in model is missing from {folder}; reinstall mmstudio",
                         cli_fix="Or rebuild it with `mmstudio demo train --out mmstudio/resources/builtin`")
    from safetensors.torch import load_file

    from mmstudio.encoders.builtin.model import BuiltinConfig, BuiltinModel

    meta = json.loads(config_file.read_text(encoding="utf-8"))
    cfg = BuiltinConfig.from_dict(meta["model"])
    model = BuiltinModel(cfg)
    state = {k: v.float() for k, v in load_file(weights_file).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelError(f"{weights_file} does not fit its config (missing {missing[:3]}, unexpected {unexpected[:3]})")
    digest = hashlib.blake2b(weights_file.read_bytes() + config_file.read_bytes(), digest_size=12).hexdigest()
    return BuiltinEncoder(model, cfg, device=device, precision=precision, identity=f"builtin:{digest}",
                          meta=meta)


class BuiltinEncoder(Encoder):
    modalities = ("image", "audio", "text")

    def __init__(self, model, cfg, *, device="cpu", precision="fp32", identity="builtin:unsaved", meta=None):
        from mmstudio.core.media.decode import DECODE_VERSION
        from mmstudio.encoders.builtin.features import LogMel, WordTokenizer

        self.name = "builtin"
        self.cfg = cfg
        self.meta = meta or {}
        self.device, self.precision = device, precision
        self.identity = f"{identity}:v{BUILTIN_VERSION}:d{DECODE_VERSION}"
        self.dim = cfg.dim
        self.audio_rate = cfg.sample_rate
        self.max_audio_seconds = cfg.audio_seconds
        self.image_draft = (cfg.image_size, cfg.image_size)
        self.tokenizer = WordTokenizer(cfg.vocabulary, cfg.max_words)
        self.logmel = LogMel(cfg.sample_rate, cfg.audio_seconds, n_mels=cfg.n_mels, mean=cfg.mel_mean, std=cfg.mel_std)
        self.model = model.to(device).eval()

    # ------------------------------------------------------------------ CPU half
    def prepare(self, modality: str, items: list):
        """numpy arrays (a worker that only prepares never imports torch)."""
        from mmstudio.encoders.builtin.features import image_pixels

        self._check_modality(modality)
        if modality == "image":
            return {"pixels": image_pixels(items)}
        if modality == "audio":
            durations = [min(len(c) / self.audio_rate, self.cfg.audio_seconds) for c in items]
            return {"mels": self.logmel(items), "durations": durations}
        ids, words = self.tokenizer.encode([str(t) for t in items])
        return {"ids": ids, "words": words}

    # ------------------------------------------------------------------ model half
    def _forward(self, modality, batch):
        import torch

        model = self.model
        if modality == "image":
            return model.image(torch.as_tensor(batch["pixels"], device=self.device))
        if modality == "audio":
            return model.audio(torch.as_tensor(batch["mels"], device=self.device))
        return model.text(torch.as_tensor(batch["ids"], device=self.device))

    def encode(self, modality: str, batch, *, tokens: bool = False) -> Encoded:
        import torch

        self._check_modality(modality)
        with torch.inference_mode(), autocast(self.device, self.precision):
            pooled, token_vectors, _ = self._forward(modality, batch)
        vectors = torch.nn.functional.normalize(pooled.float(), dim=-1).cpu().numpy()
        features = self._token_features(modality, batch, token_vectors.float().cpu().numpy()) if tokens else None
        return Encoded(np.ascontiguousarray(vectors, np.float32), features)

    def _token_features(self, modality, batch, states) -> list[TokenFeatures]:
        if modality == "image":
            g = self.cfg.grid
            return [TokenFeatures("image", s, grid=(g, g)) for s in states]
        if modality == "text":
            return [TokenFeatures("text", s[: len(w)], tokens=list(w)) for s, w in zip(states, batch["words"])]
        step = self.cfg.audio_seconds / self.cfg.audio_tokens
        times = (np.arange(self.cfg.audio_tokens) + 0.5) * step
        out = []
        for s, duration in zip(states, batch["durations"]):
            keep = times < max(duration, step / 2 + 1e-9)
            out.append(TokenFeatures("audio", s[keep], times=times[keep]))
        return out

    attention_methods = {"image": ("cross-attention", "patch-similarity"),
                         "audio": ("cross-attention", "patch-similarity")}

    def media_states(self, modality: str, items: list) -> list:
        import torch

        if modality not in ("image", "audio"):
            raise ModelError(f"cross-attention is between text and image or audio, not {modality}")
        with torch.inference_mode():
            _, _, states = self._forward(modality, self.prepare(modality, items))
        return list(states[:, 1:])  # the tower's own CLS is not attended to

    def cross_attention_maps(self, modality: str, states: list, texts: list[str]):
        import torch

        text_batch = self.prepare("text", texts)
        with torch.inference_mode():
            _, _, text_states = self._forward("text", text_batch)
            ids = torch.as_tensor(text_batch["ids"], device=self.device)
            _, weights = self.model.cross(modality)(text_states, ids == 0, torch.stack(list(states)).to(self.device))
        weights = weights.float().cpu().numpy()
        words = text_batch["words"]
        return [w[:, :, : len(t)] for w, t in zip(weights, words)], words

    def cross_attention(self, modality: str, media: list, texts: list[str]):
        """Attention of each text token over the media tokens, one (media, text) pair per index:
        ``(weights, words)`` as :meth:`cross_attention_maps` gives them."""
        return self.cross_attention_maps(modality, self.media_states(modality, media), texts)

    def batch_size(self, modality: str) -> int:
        return 256 if self.device.startswith("cuda") else 64
