"""Writing the demo world to disk: PNG, WAV and TXT per scene, and a ``manifest.csv``.

The manifest has one column per task (``shape``, ``color``, ``xor``; ``label`` = ``shape``;
with two objects the tasks refer to the first-named, left object), each object's attributes,
box (``x0 y0 x1 y1`` in pixels) and note (``start end`` in seconds) as metadata, and
``corrupted`` naming what a ``--corrupt`` option replaced (the ground truth stays true).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmstudio.core.jobs import Job
from mmstudio.demo.captions import describe
from mmstudio.demo.render import render_image, render_sound
from mmstudio.demo.world import SAMPLE_RATE, Scene, make_scenes

KINDS = ("swap", "noise")


@dataclass(frozen=True)
class Corruption:
    modality: str
    fraction: float
    kind: str = "swap"   # "swap": another scene's content; "noise": random pixels, white noise, random words

    @classmethod
    def parse(cls, text: str) -> "Corruption":
        """``image=0.3`` or ``audio=0.5:noise``."""
        try:
            modality, rest = text.split("=", 1)
            fraction, _, kind = rest.partition(":")
            c = cls(modality.strip(), float(fraction), kind.strip() or "swap")
        except ValueError:
            raise ValueError(f"--corrupt {text!r}: write MODALITY=FRACTION[:swap|noise], e.g. image=0.3") from None
        if c.modality not in ("image", "audio", "text"):
            raise ValueError(f"--corrupt {text!r}: modality must be image, audio or text")
        if not 0 <= c.fraction <= 1:
            raise ValueError(f"--corrupt {text!r}: fraction must be between 0 and 1")
        if c.kind not in KINDS:
            raise ValueError(f"--corrupt {text!r}: kind must be swap or noise")
        return c


def make_world(folder, n: int = 200, seed: int = 0, objects: str = "mixed",
               corrupt: list[Corruption] = (), job=None) -> Path:
    """Render ``n`` scenes into ``folder``; returns the manifest's path.

    The files are written into a temporary sibling and moved in at the end (see
    :func:`~mmstudio.core.atomic.staged_folder`): an interrupted run leaves nothing behind."""
    from mmstudio.core.atomic import staged_folder

    folder = Path(folder)
    with staged_folder(folder) as scratch:
        _render(scratch, n, seed, objects, corrupt, job)
    return folder / "manifest.csv"


def _render(folder: Path, n: int, seed: int, objects: str, corrupt, job) -> None:
    job = job or Job()
    import soundfile as sf
    from PIL import Image

    scenes = make_scenes(n, seed=seed, objects=objects)
    rng = np.random.default_rng(seed + 10_000)
    plan = _corruption_plan(n, corrupt, rng)
    rows = []
    for i, scene in enumerate(scenes):
        stem = f"scene_{i:05d}"
        image, sound, caption = render_image(scene), render_sound(scene), describe(scene, rng).text
        done = []
        for c in plan.get(i, ()):
            image, sound, caption = _corrupt(c, scene, scenes, (image, sound, caption), rng)
            done.append(f"{c.modality}:{c.kind}")
        Image.fromarray(image).save(folder / f"{stem}.png")
        sf.write(folder / f"{stem}.wav", sound, SAMPLE_RATE, subtype="PCM_16")
        (folder / f"{stem}.txt").write_text(caption + "\n", encoding="utf-8")
        rows.append(_row(stem, scene, caption, ";".join(done)))
        job.check()
        job.progress(i + 1, n)
    with (folder / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["id"])
        writer.writeheader()
        writer.writerows(rows)


def _corruption_plan(n: int, corrupt, rng) -> dict[int, list[Corruption]]:
    plan: dict[int, list[Corruption]] = {}
    for c in corrupt:
        for i in rng.choice(n, size=int(round(c.fraction * n)), replace=False):
            plan.setdefault(int(i), []).append(c)
    return plan


def _corrupt(c: Corruption, scene: Scene, scenes, media, rng):
    image, sound, caption = media
    if c.kind == "swap":
        others = [s for s in scenes if s.index != scene.index]
        other = others[int(rng.integers(len(others)))] if others else scene
        replacement = {"image": lambda: render_image(other), "audio": lambda: render_sound(other),
                       "text": lambda: describe(other, rng).text}[c.modality]()
    else:
        replacement = {
            "image": lambda: rng.integers(0, 256, image.shape, dtype=np.uint8),
            "audio": lambda: (rng.normal(0, 0.2, sound.shape)).clip(-1, 1).astype(np.float32),
            "text": lambda: " ".join(rng.choice(caption.split(), size=len(caption.split()))),
        }[c.modality]()
    index = ("image", "audio", "text").index(c.modality)
    media = [image, sound, caption]
    media[index] = replacement
    return tuple(media)


def _row(stem: str, scene: Scene, caption: str, corrupted: str) -> dict:
    row = {"id": stem, "image": f"{stem}.png", "audio": f"{stem}.wav", "text": f"{stem}.txt",
           "label": scene.shape, "shape": scene.shape, "color": scene.color, "xor": scene.xor,
           "objects": len(scene.objects), "echo": int(scene.echo), "caption": caption}
    for k in range(2):
        obj = scene.objects[k] if k < len(scene.objects) else None
        prefix = f"obj{k + 1}_"
        row[prefix + "shape"] = obj.shape if obj else ""
        row[prefix + "color"] = obj.color if obj else ""
        row[prefix + "size"] = obj.size if obj else ""
        row[prefix + "striped"] = int(obj.striped) if obj else ""
        row[prefix + "box"] = " ".join(str(v) for v in obj.box) if obj else ""
        row[prefix + "segment"] = f"{obj.segment[0]:.3f} {obj.segment[1]:.3f}" if obj else ""
    row["corrupted"] = corrupted
    return row


DEMO_SCENES, DEMO_SEED = 300, 2026


def demo_world(job=None) -> Path:
    """The world the app opens on: 300 scenes, written once into the cache folder and reused."""
    from mmstudio.core.paths import cache_dir

    folder = cache_dir() / f"demo-world-{DEMO_SCENES}-{DEMO_SEED}"
    manifest = folder / "manifest.csv"
    if not manifest.is_file():
        make_world(folder, n=DEMO_SCENES, seed=DEMO_SEED, job=job)
    return folder
