"""CLAP: an audio tower (HTSAT) and a text tower in one space, unfused or fused.

Audio is resampled to the feature extractor's rate (48 kHz for LAION's checkpoints).

- Unfused checkpoints (``enable_fusion`` false) take one mel spectrogram of one window (10 s):
  longer sounds are cut to it, shorter ones repeated to fill it (``truncation="rand_trunc"``).
- Fused checkpoints (``enable_fusion`` true, e.g. ``laion/clap-htsat-fused``) take four: a sound
  longer than the window gives the whole sound's spectrogram shrunk to the window and three
  window-long crops of it (from its first, middle and last third), which the tower fuses;
  ``truncation="fusion"``. The feature extractor picks the crops at random, so each sound's
  crops are drawn here with a fixed seed: a sound always gets the same vector, whatever its batch.
  Sounds are read up to :data:`FUSED_WINDOWS` windows (30 s for LAION's checkpoints).

The extractor's ``truncation`` is set from the checkpoint's config: a saved extractor that
disagrees (a fused model with ``rand_trunc`` features has 1 channel where it needs 4, and the
reverse) would fail on every sound. ``is_longer`` is set from the truth: in "fusion" mode the
extractor would otherwise flag a random clip of the batch, making embeddings depend on the batch.
"""

from __future__ import annotations

import threading

import numpy as np

from mmstudio.encoders.base import ModelError, TokenFeatures
from mmstudio.encoders.hf.base import HFEncoder
from mmstudio.encoders.hf.loader import load_model, load_tokenizer

FUSED_WINDOWS = 3       # a fused model reads sounds up to this many windows long
FUSION_SEED = 0         # the seed each sound's fusion crops are drawn with
FUSION_MEL_BINS = 64    # the extractor shrinks fused spectrograms to 64 mel bins, whatever its own count
_NUMPY_RNG = threading.Lock()  # the extractor draws from numpy's global generator


class ClapEncoder(HFEncoder):
    model_type = "clap"
    modalities = ("audio", "text")
    attention_methods = {"audio": ("patch-similarity",)}

    def load(self, source):
        from transformers import AutoFeatureExtractor, ClapModel

        self.tokenizer = load_tokenizer(source.folder)
        self.feature_extractor = AutoFeatureExtractor.from_pretrained(source.folder, local_files_only=True)
        model = load_model(ClapModel, source.folder)
        self.dim = model.config.projection_dim
        self.fused = bool(model.config.audio_config.enable_fusion)
        self._fit_extractor(source, model.config.audio_config)
        self.audio_rate = int(self.feature_extractor.sampling_rate)
        self.window_seconds = self.feature_extractor.nb_max_samples / self.audio_rate
        self.max_audio_seconds = self.window_seconds * (FUSED_WINDOWS if self.fused else 1)
        self.max_text_length = min(self.tokenizer.model_max_length, model.config.text_config.max_position_embeddings - 2)
        return model

    def prepare_text(self, texts):
        return self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_text_length,
                              return_tensors="pt")

    def _fit_extractor(self, source, audio_config) -> None:
        """The extractor's truncation from the model's ``enable_fusion``; its mel bins checked against the tower's."""
        extractor = self.feature_extractor
        extractor.truncation = "fusion" if self.fused else "rand_trunc"
        bins = audio_config.num_mel_bins
        if extractor.feature_size != bins:
            raise ModelError(f"{source.folder / 'preprocessor_config.json'}: {extractor.feature_size} mel bins, but "
                             f"the audio tower takes {bins} (config.json audio_config.num_mel_bins)")
        if self.fused and bins != FUSION_MEL_BINS:
            raise ModelError(f"{source.folder / 'config.json'}: a fused CLAP takes {FUSION_MEL_BINS} mel bins "
                             f"(transformers' fusion shrinks to {FUSION_MEL_BINS}), this one {bins}")

    def prepare_audio(self, clips):
        import torch

        clips = [np.asarray(c, np.float32) for c in clips]
        if self.fused:
            features = np.concatenate([self._fused_features(c) for c in clips])
        else:
            features = self.feature_extractor(clips, sampling_rate=self.audio_rate, return_tensors="np")["input_features"]
        return {"input_features": torch.from_numpy(np.ascontiguousarray(features, np.float32)),
                "is_longer": torch.tensor([[self.is_longer(len(c))] for c in clips], dtype=torch.bool),
                "durations": torch.tensor([len(c) / self.audio_rate for c in clips])}

    def is_longer(self, samples: int) -> bool:
        """Whether the fused tower fuses crops of this sound: it spans more mel frames than the window
        (the extractor's own test: a sound less than one hop longer than the window is not)."""
        hop = self.feature_extractor.hop_length
        return self.fused and samples // hop > self.feature_extractor.nb_max_samples // hop

    def _fused_features(self, clip: np.ndarray) -> np.ndarray:
        """One sound's four spectrograms (1, 4, frames, bins), its crops drawn with :data:`FUSION_SEED`
        (numpy's global generator, seeded and given back under a lock: prepare runs on several threads)."""
        with _NUMPY_RNG:
            state = np.random.get_state()
            np.random.seed(FUSION_SEED)
            try:
                return self.feature_extractor([clip], sampling_rate=self.audio_rate, return_tensors="np")["input_features"]
            finally:
                np.random.set_state(state)

    def forward_audio(self, batch, tokens):
        out = self.model.audio_model(input_features=batch["input_features"], is_longer=batch["is_longer"])
        pooled = self.model.audio_projection(out.pooler_output)
        if not tokens:
            return pooled, None
        # last_hidden_state is (batch, channels, frequency bands, time steps): average the bands
        frames = out.last_hidden_state.mean(dim=2).transpose(1, 2)
        return pooled, self.model.audio_projection(frames)

    def forward_text(self, batch, tokens):
        out = self.model.text_model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask"))
        pooled = self.model.text_projection(out.pooler_output)
        return pooled, self.model.text_projection(out.last_hidden_state) if tokens else None

    def token_features(self, modality, batch, states):
        if modality != "audio":
            return super().token_features(modality, batch, states)
        states = states.float().cpu().numpy()
        steps = states.shape[1]
        times = (np.arange(steps) + 0.5) * self.window_seconds / steps
        features = []
        for item, duration, longer in zip(states, batch["durations"].tolist(), batch["is_longer"][:, 0].tolist()):
            if longer:  # fused: the frames follow the whole sound, shrunk to the window
                features.append(TokenFeatures("audio", item, times=(np.arange(steps) + 0.5) * duration / steps))
                continue
            keep = times < max(duration, times[0] + 1e-9)  # later steps only repeat the clip (repeat-padding)
            features.append(TokenFeatures("audio", item[keep], times=times[keep]))
        return features
