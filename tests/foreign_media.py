"""Media that are not the demo world's, for the tests of the built-in model's note: photo-like images of
random sizes, English captions mostly outside the demo's vocabulary, sounds longer and at another rate.

``python tests/foreign_media.py FOLDER`` writes them for a look at the window."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SENTENCES = (
    "a photo of a cat sitting on a red sofa",
    "a dog running on the beach at sunset",
    "two children flying a kite in the park",
    "a plate of pasta with tomato sauce and basil",
    "an old bicycle leaning against a brick wall",
    "a yellow taxi waiting at a busy crossing",
    "fresh bread and cheese on a wooden table",
    "a lighthouse on a cliff above stormy waves",
)


def photo_like(rng, width: int, height: int) -> np.ndarray:
    """Smooth colour gradients, a few soft blobs and sensor noise: statistics of a photo, not of a
    flat-coloured demo scene."""
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    image = np.empty((height, width, 3), np.float32)
    for c in range(3):
        image[..., c] = rng.uniform(40, 200) + rng.uniform(-60, 60) * x + rng.uniform(-60, 60) * y
    for _ in range(4):
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.3)
        blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))[..., None]
        image += blob * rng.uniform(-80, 80, 3)
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_foreign_media(folder, n: int = 8, seed: int = 0, sounds: int = 2) -> list[Path]:
    """``n`` samples (a JPEG of a random size and an English caption each); the first ``sounds`` have a
    2.5-s stereo 44.1 kHz recording-like sound too. Returns the caption files."""
    import soundfile as sf
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    captions = []
    for i in range(n):
        stem = f"photo_{i:02d}"
        width, height = int(rng.integers(96, 640)), int(rng.integers(96, 480))
        Image.fromarray(photo_like(rng, width, height)).save(folder / f"{stem}.jpg", quality=90)
        captions.append(folder / f"{stem}.txt")
        captions[-1].write_text(SENTENCES[i % len(SENTENCES)] + ".", encoding="utf-8")
        if i < sounds:
            t = np.arange(int(2.5 * 44100)) / 44100
            voice = 0.2 * np.sin(2 * np.pi * 180 * t * (1 + 0.1 * np.sin(3 * t))) + rng.normal(0, 0.02, t.size)
            sf.write(folder / f"{stem}.wav", np.stack([voice, 0.8 * voice], axis=1).astype(np.float32), 44100)
    return captions


if __name__ == "__main__":
    write_foreign_media(sys.argv[1], n=int(sys.argv[2]) if len(sys.argv) > 2 else 8)
