"""Attention maps drawn over what they look at: an image with a heatmap, a spectrogram with a time curve."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from mmstudio.export.colormaps import apply


def image_overlay(image: Image.Image, heat: np.ndarray, *, colormap: str = "inferno", opacity: float = 0.55,
                  min_size: int = 256) -> Image.Image:
    """``heat`` (already at the image's size) blended over the image; small images are enlarged
    (nearest neighbour) so the result is legible."""
    base = np.asarray(image.convert("RGB"), np.float32)
    if heat.shape != base.shape[:2]:
        raise ValueError(f"heat map is {heat.shape[::-1]}, the image {base.shape[1::-1]}")
    colours = apply(heat, colormap).astype(np.float32)
    alpha = opacity * _unit(heat)[..., None] ** 0.8  # transparent where attention is lowest
    out = Image.fromarray((base * (1 - alpha) + colours * alpha).clip(0, 255).astype(np.uint8))
    scale = max(1, int(np.ceil(min_size / max(out.size))))
    return out.resize((out.width * scale, out.height * scale), Image.Resampling.NEAREST) if scale > 1 else out


def audio_overlay(samples: np.ndarray, rate: int, curve: np.ndarray, times: np.ndarray, *,
                  colormap: str = "inferno", width: int = 640, height: int = 240) -> Image.Image:
    """A log-mel spectrogram (grey, low frequencies at the bottom) with the attention over time as a
    coloured band and a curve."""
    spec = _spectrogram(samples, rate)                                   # (freq, frames)
    grey = apply(spec[::-1], "gray")
    canvas = Image.fromarray(grey).resize((width, height - 24), Image.Resampling.BILINEAR)
    out = Image.new("RGB", (width, height), (20, 20, 20))
    out.paste(canvas, (0, 24))
    duration = len(samples) / rate
    xs = np.clip((np.asarray(times) / max(duration, 1e-9)) * width, 0, width - 1)
    band = np.interp(np.arange(width), xs, _unit(np.asarray(curve, np.float32)))
    out.paste(Image.fromarray(np.repeat(apply(band, colormap, 0, 1)[None], 24, axis=0)), (0, 0))
    draw = ImageDraw.Draw(out)
    points = [(int(x), int(24 + (height - 28) * (1 - v))) for x, v in zip(xs, _unit(np.asarray(curve, np.float32)))]
    if len(points) > 1:
        draw.line(points, fill=(255, 200, 40), width=2)
    return out


def _unit(values: np.ndarray) -> np.ndarray:
    lo, hi = float(np.min(values)), float(np.max(values))
    return np.zeros_like(values, np.float32) if hi <= lo else ((values - lo) / (hi - lo)).astype(np.float32)


def _spectrogram(samples: np.ndarray, rate: int, n_fft: int = 1024, n_mels: int = 96) -> np.ndarray:
    from mmstudio.core.media.audio import mel_filterbank

    hop = max(1, n_fft // 8)
    x = np.asarray(samples, np.float32)
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    mel = power @ mel_filterbank(rate, n_fft, n_mels, 40.0, rate / 2).T
    db = 10 * np.log10(mel.T + 1e-10)
    return np.maximum(db, db.max() - 70)  # 70 dB of range
