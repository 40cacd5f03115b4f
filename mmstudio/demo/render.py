"""Drawing and sounding a :class:`Scene`: a 64×64 RGB image and one second of 16 kHz audio."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from mmstudio.demo.world import DURATION, IMAGE_SIZE, SAMPLE_RATE, Scene, WorldObject

RGB = {"red": (215, 40, 40), "orange": (240, 140, 25), "yellow": (230, 215, 40),
       "green": (40, 160, 60), "blue": (45, 85, 225), "purple": (145, 55, 190)}
PITCH = {"red": 220.0, "orange": 262.0, "yellow": 330.0, "green": 392.0, "blue": 494.0, "purple": 587.0}
LOUDNESS = {"small": 0.16, "large": 0.5}
SCALE = 4  # supersampling for smooth edges


# ------------------------------------------------------------------------------------ image
def render_image(scene: Scene) -> np.ndarray:
    """(64, 64, 3) uint8: a textured background and the scene's objects."""
    rng = np.random.default_rng(scene.seed)
    big = IMAGE_SIZE * SCALE
    canvas = _background(rng, IMAGE_SIZE)
    for obj in scene.objects:
        # shapes are drawn 4× larger and box-filtered down: smooth edges as alpha
        alpha = np.asarray(_mask(obj, big).resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX),
                           np.float32)[..., None] / 255
        jitter = rng.integers(-18, 19, 3)
        color = np.clip(np.array(RGB[obj.color]) + jitter, 0, 255).astype(np.float32)
        fill = _stripes(color, IMAGE_SIZE, rng) if obj.striped else color
        canvas = canvas * (1 - alpha) + fill * alpha
    canvas += rng.normal(0, 4.0, canvas.shape)
    return np.clip(canvas, 0, 255).astype(np.uint8)


def _background(rng, size: int) -> np.ndarray:
    """Muted, smoothly varying texture: a few random low-frequency waves per channel."""
    y, x = np.mgrid[0:size, 0:size] / size
    base = rng.uniform(90, 170)
    out = np.empty((size, size, 3), np.float32)
    for c in range(3):
        field = np.full((size, size), base + rng.uniform(-20, 20), np.float32)
        for _ in range(3):
            fx, fy = rng.uniform(0.5, 4, 2)
            field += rng.uniform(6, 16) * np.sin(2 * np.pi * (fx * x + fy * y) + rng.uniform(0, 2 * np.pi))
        out[..., c] = field
    return out


def _stripes(color: np.ndarray, size: int, rng) -> np.ndarray:
    """Diagonal bands (period 6 px) of the colour and a pale tint of it, with soft edges."""
    y, x = np.mgrid[0:size, 0:size]
    wave = np.sin(2 * np.pi * (x + y + rng.uniform(0, 6)) / 6.0)
    band = np.clip(wave * 2 + 0.5, 0, 1)[..., None]
    pale = color * 0.35 + 255 * 0.65
    return band * color + (1 - band) * pale


def _mask(obj: WorldObject, size: int) -> Image.Image:
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    cx, cy = obj.center[0] * SCALE, obj.center[1] * SCALE
    r = obj.radius * SCALE
    if obj.shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    elif obj.shape == "square":
        h = r * 0.86
        draw.rectangle([cx - h, cy - h, cx + h, cy + h], fill=255)
    elif obj.shape == "triangle":
        draw.polygon([(cx, cy - r), (cx + r * 0.95, cy + r * 0.8), (cx - r * 0.95, cy + r * 0.8)], fill=255)
    elif obj.shape == "star":
        angles = np.pi / 2 + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
        draw.polygon([(cx + q * np.cos(a), cy - q * np.sin(a)) for a, q in zip(angles, radii)], fill=255)
    elif obj.shape == "cross":
        t = r * 0.34
        draw.rectangle([cx - r, cy - t, cx + r, cy + t], fill=255)
        draw.rectangle([cx - t, cy - r, cx + t, cy + r], fill=255)
    elif obj.shape == "ring":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        q = r * 0.55
        draw.ellipse([cx - q, cy - q, cx + q, cy + q], fill=0)
    else:
        raise ValueError(f"unknown shape {obj.shape}")
    return mask


# ------------------------------------------------------------------------------------ sound
def render_sound(scene: Scene) -> np.ndarray:
    """(16000,) float32 in [-1, 1]: each object's note in its segment, an echo if the scene has one."""
    rng = np.random.default_rng(scene.seed + 1)
    n = int(DURATION * SAMPLE_RATE)
    out = np.zeros(n, np.float32)
    for obj in scene.objects:
        start, end = (int(t * SAMPLE_RATE) for t in obj.segment)
        t = np.arange(end - start) / SAMPLE_RATE
        freq = PITCH[obj.color] * rng.uniform(0.985, 1.015)
        note = _waveform(obj.shape, freq, t) * LOUDNESS[obj.size] * rng.uniform(0.9, 1.1)
        out[start:end] += note * _envelope(len(t))
    if scene.echo:
        dry = out.copy()
        for delay, gain in ((0.11, 0.5), (0.22, 0.25), (0.33, 0.12)):
            d = int(delay * SAMPLE_RATE)
            out[d:] += gain * dry[:-d]
    out += rng.normal(0, 0.008, n).astype(np.float32)
    return np.clip(out, -1, 1).astype(np.float32)


def _waveform(shape: str, freq: float, t: np.ndarray) -> np.ndarray:
    phase = (freq * t) % 1.0
    if shape == "circle":        # pure sine
        return np.sin(2 * np.pi * phase)
    if shape == "square":        # square wave
        return np.where(phase < 0.5, 0.8, -0.8)
    if shape == "triangle":      # triangle wave
        return 4 * np.abs(phase - 0.5) - 1
    if shape == "star":          # sawtooth
        return 0.9 * (2 * phase - 1)
    if shape == "cross":         # narrow pulse
        return np.where(phase < 0.2, 0.9, -0.225)
    if shape == "ring":          # bell: inharmonic partials, quickly decaying
        decay = np.exp(-t * 6)
        return decay * (np.sin(2 * np.pi * freq * t) + 0.6 * np.sin(2 * np.pi * 2.76 * freq * t)
                        + 0.4 * np.sin(2 * np.pi * 5.4 * freq * t)) / 1.4
    raise ValueError(f"unknown shape {shape}")


def _envelope(n: int) -> np.ndarray:
    env = np.ones(n, np.float32)
    attack, release = int(0.01 * SAMPLE_RATE), int(0.05 * SAMPLE_RATE)
    env[:attack] = np.linspace(0, 1, attack)
    env[-release:] = np.linspace(1, 0, release)
    return env
