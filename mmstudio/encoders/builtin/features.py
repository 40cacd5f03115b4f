"""Inputs of the built-in model: word tokens for text, log-mel frames for audio, scaled pixels for images.

Shared by the encoder (``builtin``) and the training code in :mod:`mmstudio.demo.train`, so
both see exactly the same features.
"""

from __future__ import annotations

import re

import numpy as np

from mmstudio.core.media.audio import mel_filterbank

PAD, UNK, CLS = "[PAD]", "[UNK]", "[CLS]"
WORD = re.compile(r"[a-z]+")


class WordTokenizer:
    """Lower-cased words; ids from a fixed vocabulary; unknown words → ``[UNK]``; ``[CLS]`` first."""

    def __init__(self, vocabulary: list[str], max_length: int):
        self.vocab = [PAD, UNK, CLS] + [w for w in vocabulary if w not in (PAD, UNK, CLS)]
        self.ids = {w: i for i, w in enumerate(self.vocab)}
        self.max_length = max_length

    def words(self, text: str) -> list[str]:
        return WORD.findall(text.lower())

    def encode(self, texts: list[str]) -> tuple[np.ndarray, list[list[str]]]:
        """(ids (B, L) int64 padded with 0, the tokens as strings) with L = the longest, ≤ max_length."""
        rows = [[CLS] + self.words(t)[: self.max_length - 1] for t in texts]
        length = max(len(r) for r in rows)
        ids = np.zeros((len(rows), length), np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = [self.ids.get(w, 1) for w in row]
        shown = [[w if w in self.ids else f"{w} {UNK}" for w in row] for row in rows]
        return ids, shown


class LogMel:
    """Audio (16 kHz, padded or cut to ``seconds``) → (frames, n_mels) normalised log-mel features."""

    def __init__(self, sample_rate=16000, seconds=1.0, n_fft=400, hop=160, n_mels=64, mean=0.0, std=1.0):
        self.sample_rate, self.seconds, self.n_fft, self.hop = sample_rate, seconds, n_fft, hop
        self.samples = int(sample_rate * seconds)
        self.frames = self.samples // hop
        self.bank = mel_filterbank(sample_rate, n_fft, n_mels, 50.0, sample_rate / 2)
        self.window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
        self.mean, self.std = mean, std

    def __call__(self, clips: list[np.ndarray]) -> np.ndarray:
        """(B, frames, n_mels) float32."""
        batch = np.zeros((len(clips), self.samples), np.float32)
        for i, clip in enumerate(clips):
            clip = np.asarray(clip, np.float32)[: self.samples]
            batch[i, : len(clip)] = clip
        pad = self.n_fft // 2
        padded = np.pad(batch, ((0, 0), (pad, pad)), mode="reflect")
        idx = np.arange(self.frames)[:, None] * self.hop + np.arange(self.n_fft)[None, :]
        frames = padded[:, idx] * self.window                       # (B, frames, n_fft)
        with np.errstate(over="ignore", invalid="ignore"):  # absurd amplitudes overflow: the embedding
            power = np.abs(np.fft.rfft(frames, axis=-1)) ** 2  # is then refused as non-finite, by name
            mel = power.astype(np.float32) @ self.bank.T
            return ((np.log(mel + 1e-6) - self.mean) / self.std).astype(np.float32)


def image_pixels(images) -> np.ndarray:
    """PIL images or uint8 arrays (any size) → (B, 3, 64, 64) float32 in [-1, 1]."""
    from PIL import Image

    out = []
    for im in images:
        if not isinstance(im, np.ndarray):
            im = np.asarray(im.convert("RGB").resize((64, 64), Image.Resampling.BICUBIC)
                            if im.size != (64, 64) else im.convert("RGB"))
        elif im.shape[:2] != (64, 64):
            im = np.asarray(Image.fromarray(im).resize((64, 64), Image.Resampling.BICUBIC))
        out.append(im)
    arr = np.stack(out).astype(np.float32).transpose(0, 3, 1, 2)
    return arr / 127.5 - 1.0
