"""The demo world: scenes of one or two coloured shapes that are seen, heard and described.

A scene's ground truth decides everything else: the image draws its objects, the sound
plays them left to right (pitch from colour, timbre from shape, loudness from size), the
caption names them in the same order. Two attributes live in one modality only: whether
an object is *striped* (seen, not heard) and whether the scene *echoes* (heard, not seen);
the ``xor`` task is their exclusive or, so neither modality alone can predict it.
Everything is drawn from a seeded generator: the same seed gives the same world.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SHAPES = ("circle", "square", "triangle", "star", "cross", "ring")
COLORS = ("red", "orange", "yellow", "green", "blue", "purple")
SIZES = ("small", "large")

IMAGE_SIZE = 64
SAMPLE_RATE = 16000
DURATION = 1.0


@dataclass(frozen=True)
class WorldObject:
    shape: str
    color: str
    size: str
    striped: bool
    center: tuple[float, float]          # (x, y) in pixels
    segment: tuple[float, float]         # (start, end) of its note, seconds

    @property
    def radius(self) -> float:
        return 13.0 if self.size == "large" else 8.0

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) in pixels, x1/y1 exclusive, clipped to the image."""
        x, y = self.center
        r = self.radius
        return (max(0, int(np.floor(x - r))), max(0, int(np.floor(y - r))),
                min(IMAGE_SIZE, int(np.ceil(x + r))), min(IMAGE_SIZE, int(np.ceil(y + r))))


@dataclass(frozen=True)
class Scene:
    """One sample's ground truth; objects are ordered left to right (= the order they sound and are named)."""

    index: int
    objects: tuple[WorldObject, ...]
    echo: bool
    seed: int                            # seeds the rendering noise of this scene
    tags: dict = field(default_factory=dict, compare=False)

    @property
    def first(self) -> WorldObject:
        return self.objects[0]

    # the tasks (label columns); with two objects they refer to the first-named (left) object
    @property
    def shape(self) -> str:
        return self.first.shape

    @property
    def color(self) -> str:
        return self.first.color

    @property
    def xor(self) -> int:
        return int(self.first.striped != self.echo)


def make_scenes(n: int, seed: int = 0, objects: str = "mixed") -> list[Scene]:
    """``n`` scenes; ``objects`` is "1", "2" or "mixed" (half and half, interleaved)."""
    if objects not in ("1", "2", "mixed"):
        raise ValueError(f"objects must be 1, 2 or mixed, not {objects!r}")
    rng = np.random.default_rng(seed)
    scenes = []
    for i in range(n):
        count = int(objects) if objects != "mixed" else 1 + int(rng.random() < 0.5)
        scenes.append(_scene(i, count, rng))
    return scenes


def _scene(index: int, count: int, rng: np.random.Generator) -> Scene:
    shapes = rng.choice(len(SHAPES), size=count, replace=False)
    colors = rng.choice(len(COLORS), size=count, replace=False)
    objs = []
    for k in range(count):
        size = SIZES[int(rng.integers(2))]
        r = 13.0 if size == "large" else 8.0
        if count == 1:
            x = rng.uniform(r + 2, IMAGE_SIZE - r - 2)
            start = rng.uniform(0.1, 0.3)
            segment = (start, start + rng.uniform(0.4, 0.6))
        else:
            half = IMAGE_SIZE / 2
            x = rng.uniform(r + 1, half - r) if k == 0 else rng.uniform(half + r, IMAGE_SIZE - r - 1)
            start = rng.uniform(0.04, 0.1) if k == 0 else rng.uniform(0.5, 0.56)
            segment = (start, start + rng.uniform(0.33, 0.4))
        y = rng.uniform(r + 2, IMAGE_SIZE - r - 2)
        objs.append(WorldObject(SHAPES[shapes[k]], COLORS[colors[k]], size, bool(rng.random() < 0.5),
                                (float(x), float(y)), (float(segment[0]), float(segment[1]))))
    return Scene(index, tuple(objs), bool(rng.random() < 0.5), int(rng.integers(2**31)))
