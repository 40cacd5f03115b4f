"""The demo world as training arrays: pixels, log-mel frames and the ground truth behind them.

Scenes are rendered once into memory (uint8 pixels, float16 log-mels); captions are drawn
anew every time a batch is made, so the model sees many phrasings of each scene.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmstudio.demo.captions import Caption, describe, describe_object
from mmstudio.demo.render import render_image, render_sound
from mmstudio.demo.world import COLORS, IMAGE_SIZE, SHAPES, SIZES, Scene, make_scenes

SLOTS = 2


@dataclass
class WorldArrays:
    scenes: list[Scene]
    pixels: np.ndarray      # (N, 64, 64, 3) uint8
    mels: np.ndarray        # (N, frames, mels) float16, normalised with the tokenizer's LogMel
    attrs: np.ndarray       # (N, SLOTS, 4) int: shape, color, size, striped; -1 for an empty slot
    echo: np.ndarray        # (N,) int
    boxes: np.ndarray       # (N, SLOTS, grid*grid) float: fraction of each patch inside the object's box
    segments: np.ndarray    # (N, SLOTS, audio tokens) float: fraction of each audio token inside the note

    def __len__(self) -> int:
        return len(self.scenes)

    def signature(self, kind: str) -> np.ndarray:
        """Integer ids of what two modalities can agree on: equal id = a positive pair.

        ``image-text``: shapes, colours, sizes, stripes; ``audio-text``: shapes, colours, sizes,
        echo; ``image-audio``: shapes, colours, sizes.
        """
        base = self.attrs[:, :, :3].reshape(len(self), -1)
        if kind == "image-text":
            parts = [self.attrs.reshape(len(self), -1)]
        elif kind == "audio-text":
            parts = [base, self.echo[:, None]]
        elif kind == "image-audio":
            parts = [base]
        else:
            raise ValueError(kind)
        rows = np.concatenate(parts, axis=1)
        _, ids = np.unique(rows, axis=0, return_inverse=True)
        return ids.reshape(-1)


def build(n: int, seed: int, logmel, objects: str = "mixed", grid: int = 8, audio_tokens: int = 25,
          progress=None) -> WorldArrays:
    scenes = make_scenes(n, seed=seed, objects=objects)
    pixels = np.zeros((n, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    mels = np.zeros((n, logmel.frames, logmel.bank.shape[0]), np.float16)
    attrs = np.full((n, SLOTS, 4), -1, np.int64)
    boxes = np.zeros((n, SLOTS, grid * grid), np.float32)
    segments = np.zeros((n, SLOTS, audio_tokens), np.float32)
    chunk = 256
    for start in range(0, n, chunk):
        part = scenes[start:start + chunk]
        sounds = []
        for i, scene in enumerate(part, start):
            pixels[i] = render_image(scene)
            sounds.append(render_sound(scene))
            for k, obj in enumerate(scene.objects):
                attrs[i, k] = (SHAPES.index(obj.shape), COLORS.index(obj.color), SIZES.index(obj.size), int(obj.striped))
                boxes[i, k] = box_cover(obj.box, grid)
                segments[i, k] = segment_cover(obj.segment, audio_tokens, logmel.seconds)
        mels[start:start + len(part)] = logmel(sounds)
        if progress:
            progress(min(start + chunk, n), n)
    echo = np.array([int(s.echo) for s in scenes])
    return WorldArrays(scenes, pixels, mels, attrs, echo, boxes, segments)


def box_cover(box, grid: int, size: int = IMAGE_SIZE) -> np.ndarray:
    """Fraction of each patch (row-major) covered by the box (x0, y0, x1, y1)."""
    step = size / grid
    edges = np.arange(grid + 1) * step
    x0, y0, x1, y1 = box
    cover_x = np.clip(np.minimum(edges[1:], x1) - np.maximum(edges[:-1], x0), 0, None) / step
    cover_y = np.clip(np.minimum(edges[1:], y1) - np.maximum(edges[:-1], y0), 0, None) / step
    return (cover_y[:, None] * cover_x[None, :]).reshape(-1).astype(np.float32)


def segment_cover(segment, tokens: int, seconds: float) -> np.ndarray:
    step = seconds / tokens
    edges = np.arange(tokens + 1) * step
    t0, t1 = segment
    return (np.clip(np.minimum(edges[1:], t1) - np.maximum(edges[:-1], t0), 0, None) / step).astype(np.float32)


def captions_for(scenes: list[Scene], rng, tokenizer) -> tuple[np.ndarray, np.ndarray]:
    """Full captions → (ids (B, L), owners (B, L)); owner -1 for [CLS], padding and shared words."""
    return _encode([describe(s, rng) for s in scenes], tokenizer)


def object_captions_for(scenes: list[Scene], rng, tokenizer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One single-object caption per scene, for a random object → (ids, owners, which object)."""
    which = np.array([int(rng.integers(len(s.objects))) for s in scenes])
    ids, owners = _encode([describe_object(s, k, rng) for s, k in zip(scenes, which)], tokenizer)
    return ids, owners, which


def _encode(captions: list[Caption], tokenizer) -> tuple[np.ndarray, np.ndarray]:
    ids, _ = tokenizer.encode([c.text for c in captions])
    owners = np.full(ids.shape, -1, np.int64)
    for i, c in enumerate(captions):
        n = min(len(c.owners), ids.shape[1] - 1)
        owners[i, 1:1 + n] = c.owners[:n]
    return ids, owners
