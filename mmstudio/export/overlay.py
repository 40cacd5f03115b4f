"""Attention maps drawn over what they look at: an image with a heatmap, a spectrogram with a time curve."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from mmstudio.export.colormaps import apply


def image_overlay(image: Image.Image, unit: np.ndarray, *, colormap: str = "inferno", opacity: float = 0.6,
                  min_size: int = 256) -> Image.Image:
    """The map's colours blended over the image at one opacity. ``unit`` is each pixel's place on the
    colour map, 0 to 1, at the image's size (:meth:`mmstudio.analysis.attention.contrast.Scale.unit` of
    the map, upsampled). Small images are enlarged (nearest neighbour) so the result is legible."""
    base = np.asarray(image.convert("RGB"), np.float32)
    if unit.shape != base.shape[:2]:
        raise ValueError(f"heat map is {unit.shape[::-1]}, the image {base.shape[1::-1]}")
    colours = apply(np.clip(unit, 0, 1), colormap, 0.0, 1.0).astype(np.float32)
    out = Image.fromarray((base * (1 - opacity) + colours * opacity).clip(0, 255).astype(np.uint8))
    scale = max(1, int(np.ceil(min_size / max(out.size))))
    return out.resize((out.width * scale, out.height * scale), Image.Resampling.NEAREST) if scale > 1 else out


def audio_overlay(samples: np.ndarray, rate: int, unit: np.ndarray, times: np.ndarray, *,
                  window: tuple[float, float] | None = None, colormap: str = "inferno", width: int = 640,
                  height: int = 240) -> Image.Image:
    """The whole sound's log-mel spectrogram (grey, low frequencies at the bottom) under the attention over
    time, drawn as a coloured band and a curve; ``unit`` is the map's place on the colour map (0–1) at
    ``times`` (s). Outside ``window`` (the seconds the model heard) the spectrogram is dimmed."""
    from mmstudio.export.spectrogram import spectrogram

    spec = spectrogram(samples, rate)
    grey = np.asarray(Image.fromarray(spec.grey()).resize((width, height - 24), Image.Resampling.BILINEAR), np.float32)
    heard = (0.0, spec.duration) if window is None else window
    x0, x1 = (int(round(float(spec.x_of(t)) * width)) for t in heard)
    grey[:, :x0] *= 0.35
    grey[:, x1:] *= 0.35
    out = Image.new("RGB", (width, height), (20, 20, 20))
    out.paste(Image.fromarray(grey.astype(np.uint8)), (0, 24))
    unit = np.clip(np.asarray(unit, np.float32), 0, 1)
    xs = np.clip(spec.x_of(times) * width, 0, width - 1)
    columns = np.arange(x0, max(x1, x0 + 1))
    band = np.interp(columns, xs, unit)
    out.paste(Image.fromarray(np.repeat(apply(band, colormap, 0, 1)[None], 24, axis=0)), (x0, 0))
    draw = ImageDraw.Draw(out)
    points = [(int(x), int(24 + (height - 28) * (1 - v))) for x, v in zip(xs, unit)]
    if len(points) > 1:
        draw.line(points, fill=(255, 200, 40), width=2)
    return out
