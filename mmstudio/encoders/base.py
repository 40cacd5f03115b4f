"""The Encoder protocol: what every model backend (built-in, CLIP, SigLIP, CLAP, BLIP) offers.

An encoder embeds decoded media of the modalities it knows into one shared space:
L2-normalised float32 vectors of ``dim`` values. Work is split in two halves so that the
pipeline can overlap them: :meth:`Encoder.prepare` (CPU preprocessing, thread-safe, runs in
worker threads) and :meth:`Encoder.encode` (the model, on its device). :meth:`Encoder.without_model`
gives the first half alone, for CPU workers elsewhere (the Ray engine's decode tasks).
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from mmstudio.core.tables.tokens import TokenFeatures  # re-exported: encoders give them

__all__ = ["Encoded", "Encoder", "ModelError", "TokenFeatures", "l2_normalise"]


class ModelError(Exception):
    """A model could not be found, loaded or used. ``reason`` says why; ``cli_fix``, when there is
    one, how to get it from the command line. ``str()`` is both (what the commands print); the
    window shows the reason with its own way (Model > Model…, a folder picker)."""

    def __init__(self, reason: str, cli_fix: str = ""):
        super().__init__(f"{reason}. {cli_fix}" if cli_fix else reason)
        self.reason, self.cli_fix = reason, cli_fix


@dataclass
class Encoded:
    """Output of one batch: vectors (B, dim) and, on request, one TokenFeatures per item."""

    vectors: np.ndarray
    tokens: list[TokenFeatures] | None = None


class Encoder(ABC):
    """Base class of all encoders. Subclasses set the attributes and implement two methods."""

    name: str = ""            # what the user typed: "builtin", a hub id or a folder
    identity: str = ""        # name + weights digest + preprocessing version: the cache key
    modalities: tuple[str, ...] = ()
    dim: int = 0
    device: str = "cpu"
    precision: str = "fp32"   # fp32, fp16 or bf16 (autocast on GPUs)
    audio_rate: int | None = None          # audio is resampled to this rate before prepare()
    max_audio_seconds: float | None = None  # longer audio is cut to this many seconds
    image_draft: tuple[int, int] | None = None  # JPEGs may decode at reduced scale down to this (w, h)

    @abstractmethod
    def prepare(self, modality: str, items: list):
        """Decoded media (PIL images, 1-D float32 audio at ``audio_rate``, strings) → model input: a dict
        whose values (torch tensors, numpy arrays, lists) hold the items along their first axis, so that
        it can be cut into items and joined again (:mod:`mmstudio.encoders.prepared`)."""

    @abstractmethod
    def encode(self, modality: str, batch, *, tokens: bool = False) -> Encoded:
        """Model input from :meth:`prepare` → L2-normalised vectors (and token features)."""

    def without_model(self) -> "Encoder":
        """A copy that prepares model input (:meth:`prepare`, and the attributes decoding reads) but holds
        no weights (``model`` is None): small and picklable, for CPU workers feeding a model elsewhere."""
        clone = copy.copy(self)
        clone.model = None
        return clone

    def embed(self, modality: str, items: list, *, tokens: bool = False) -> Encoded:
        """Both halves at once, for a handful of items."""
        self._check_modality(modality)
        return self.encode(modality, self.prepare(modality, items), tokens=tokens)

    # --- optional: attention maps (see mmstudio.analysis.attention.heatmaps) -------------------------
    #: modality → the attention methods this model offers for (that modality, text) pairs
    attention_methods: dict[str, tuple[str, ...]] = {}

    def media_states(self, modality: str, items: list) -> list:
        """Per item, what a cross-attention head attends to (cacheable: computed once per item)."""
        raise ModelError(f"{self.name} has no cross-attention between text and {modality}")

    def cross_attention_maps(self, modality: str, states: list, texts: list[str]):
        """For pairs (states[i], texts[i]): ``(weights, words)`` with weights[i] of shape
        (layers, heads, T_i, N_i) — each row a distribution over media tokens — and words[i] the
        T_i text tokens."""
        raise ModelError(f"{self.name} has no cross-attention between text and {modality}")

    def relevance_map(self, image, text: str, layers: int = 2) -> np.ndarray:
        """Gradient-weighted attention rollout (Chefer et al. 2021) over image patches, as a grid."""
        raise ModelError(f"{self.name} has no relevance maps")

    def batch_size(self, modality: str) -> int:
        """A batch size suited to the device."""
        return 64 if self.device.startswith("cuda") else 16

    def describe(self) -> str:
        return f"{self.name} ({'+'.join(self.modalities)}, {self.dim}-d, {self.device}, {self.precision})"

    def _check_modality(self, modality: str) -> None:
        if modality not in self.modalities:
            raise ModelError(f"{self.name} embeds {' and '.join(self.modalities)}, not {modality}")


def l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, 1e-12)
