"""CLAP: an audio tower (HTSAT) and a text tower in one space.

Audio is resampled to the feature extractor's rate (48 kHz for LAION's checkpoints) and cut
to its window (10 s). ``is_longer`` is set from the truth: in "fusion" mode the extractor
would otherwise flag a random clip of the batch, making embeddings depend on the batch.
"""

from __future__ import annotations

import numpy as np

from mmstudio.encoders.base import TokenFeatures
from mmstudio.encoders.hf.base import HFEncoder
from mmstudio.encoders.hf.loader import load_model, load_tokenizer


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
        self.audio_rate = int(self.feature_extractor.sampling_rate)
        self.max_audio_seconds = self.feature_extractor.nb_max_samples / self.audio_rate
        self.max_text_length = min(self.tokenizer.model_max_length, model.config.text_config.max_position_embeddings - 2)
        return model

    def prepare_text(self, texts):
        return self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_text_length,
                              return_tensors="pt")

    def prepare_audio(self, clips):
        import torch

        batch = self.feature_extractor([np.asarray(c, np.float32) for c in clips], sampling_rate=self.audio_rate,
                                       return_tensors="pt")
        # Every clip fits the window (the decoder cut it), so none is "longer".
        return {"input_features": batch["input_features"],
                "is_longer": torch.zeros(len(clips), 1, dtype=torch.bool),
                "durations": torch.tensor([len(c) / self.audio_rate for c in clips])}

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
        times = (np.arange(steps) + 0.5) * self.max_audio_seconds / steps
        features = []
        for item, duration in zip(states, batch["durations"].tolist()):
            keep = times < max(duration, times[0] + 1e-9)  # later steps only repeat the clip (repeat-padding)
            features.append(TokenFeatures("audio", item[keep], times=times[keep]))
        return features
