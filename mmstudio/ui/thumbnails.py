"""Small pictures of media for the library, tooltips and the inspector (PIL, cached by file)."""

from __future__ import annotations

import base64
import io
import os
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw


def _stamp(path: str) -> tuple:
    try:
        st = os.stat(path)
        return (st.st_size, st.st_mtime_ns)
    except OSError:
        return (0, 0)


def image_thumbnail(path: str, size: int = 96) -> Image.Image | None:
    return _image_thumbnail(path, size, _stamp(path))


@lru_cache(maxsize=64)  # the loader keeps what it made (mmstudio.ui.thumbnail_loader)
def _image_thumbnail(path: str, size: int, stamp) -> Image.Image | None:
    from mmstudio.core.errors import MediaError
    from mmstudio.core.media.image import read_image

    try:
        image = read_image(path, draft=(size, size))
    except MediaError:
        return None
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    if image.width < size and image.height < size:  # tiny images (the demo's 64 px) are enlarged crisply
        scale = size // max(image.size)
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    return image


def waveform_glyph(path: str, width: int = 96, height: int = 32, color=(234, 67, 53)) -> Image.Image | None:
    return _waveform_glyph(path, width, height, tuple(color), _stamp(path))


@lru_cache(maxsize=64)
def _waveform_glyph(path: str, width: int, height: int, color: tuple, stamp) -> Image.Image | None:
    from mmstudio.core.errors import MediaError
    from mmstudio.core.media.audio import read_audio

    try:
        audio = read_audio(path, max_duration=30.0)
    except MediaError:
        return None
    return waveform_picture(audio.samples, width, height, color)


def waveform_picture(samples: np.ndarray, width: int, height: int, color=(234, 67, 53)) -> Image.Image:
    """The envelope of a sound: per column, the peak of |x| mirrored around the middle line."""
    x = np.abs(np.asarray(samples, np.float32))
    columns = np.array_split(x, width) if len(x) >= width else [x] * width
    peaks = np.array([c.max() if len(c) else 0.0 for c in columns])
    peaks = peaks / max(peaks.max(), 1e-6)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    mid = height / 2
    for i, p in enumerate(peaks):
        h = max(1.0, p * (height / 2 - 1))
        draw.line([(i, mid - h), (i, mid + h)], fill=color + (255,))
    return image


@lru_cache(maxsize=4096)
def text_of(path: str, limit: int = 300) -> str:
    from mmstudio.core.errors import MediaError
    from mmstudio.core.media.text import read_text

    try:
        text = read_text(path, max_bytes=4096).text
    except MediaError as exc:
        return f"({exc.reason})"
    return text if len(text) <= limit else text[:limit] + "…"


def png_data_uri(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
