"""The built-in model's configuration: sizes, vocabulary, audio features (no torch: a worker that only
prepares inputs for the model reads it too)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class BuiltinConfig:
    vocabulary: list[str] = field(default_factory=list)
    dim: int = 128                 # the shared space
    width: int = 128
    heads: int = 4
    image_size: int = 64
    patch: int = 8
    image_layers: int = 2
    text_layers: int = 2
    audio_layers: int = 3
    cross_layers: int = 2
    max_words: int = 32
    n_mels: int = 64
    mel_frames: int = 100
    frames_per_token: int = 4      # 4 frames of 10 ms: one audio token per 40 ms
    sample_rate: int = 16000
    audio_seconds: float = 1.0
    mel_mean: float = 0.0
    mel_std: float = 1.0
    aux_classes: dict = field(default_factory=dict)  # name → number of classes of the training-only heads

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "BuiltinConfig":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def grid(self) -> int:
        return self.image_size // self.patch

    @property
    def audio_tokens(self) -> int:
        return self.mel_frames // self.frames_per_token
