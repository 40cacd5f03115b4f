"""Caption files as researchers have them, written by the tests: COCO captions JSON, AudioCaps and
Clotho CSVs, with pictures and sounds of the demo world (so the built-in model finds real partners)
and a few files missing."""

import csv
import json
from pathlib import Path

import numpy as np


def _world(n: int, seed: int):
    from mmstudio.demo.captions import describe
    from mmstudio.demo.world import make_scenes

    scenes = make_scenes(n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    return scenes, [[describe(scene, rng).text for _ in range(5)] for scene in scenes]


def write_coco(root, n: int = 50, missing=(7, 31), seed: int = 5) -> dict:
    """``root/annotations/captions_val2017.json`` and ``root/val2017/*.png``, five captions per image, the
    annotations in shuffled order (as COCO's are not grouped by image); the pictures of the images at
    ``missing`` are not written. Returns what a reader should find."""
    from PIL import Image

    from mmstudio.demo.render import render_image

    root = Path(root)
    (root / "annotations").mkdir(parents=True)
    (root / "val2017").mkdir()
    scenes, captions = _world(n, seed)
    images, notes = [], []
    for i, scene in enumerate(scenes):
        image_id = 1000 + 7 * i
        name = f"{image_id:012d}.png"
        images.append({"id": image_id, "file_name": name, "width": 64, "height": 64, "license": 1})
        if i not in missing:
            Image.fromarray(render_image(scene)).save(root / "val2017" / name)
        for k, text in enumerate(captions[i]):
            notes.append({"image_id": image_id, "id": 50_000 + 10 * i + k, "caption": text})
    order = np.random.default_rng(seed).permutation(len(notes))
    data = {"info": {"description": "test"}, "licenses": [], "images": images,
            "annotations": [notes[j] for j in order]}
    path = root / "annotations" / "captions_val2017.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return {"path": path, "ids": [str(im["id"]) for im in images], "captions": captions,
            "missing": [images[i]["file_name"] for i in missing], "missing_ids": [str(images[i]["id"]) for i in missing],
            "annotation_ids": {str(images[i]["id"]): [50_000 + 10 * i + k for k in range(5)] for i in range(n)}}


def _wav(path: Path, scene) -> None:
    import soundfile as sf

    from mmstudio.demo.render import SAMPLE_RATE, render_sound

    sf.write(path, render_sound(scene), SAMPLE_RATE, subtype="PCM_16")


def write_audiocaps(root, seed: int = 8) -> dict:
    """``root/val.csv`` (audiocap_id, youtube_id, start_time, caption) with sounds in ``root/val/``:
    six clips, four with five captions and two with one; clip 2's sound is named by its
    audiocap_id, clip 4's is missing."""
    root = Path(root)
    (root / "val").mkdir(parents=True)
    scenes, captions = _world(6, seed)
    rows, expected = [], {}
    for i, scene in enumerate(scenes):
        youtube = f"yt{i}Xq-{i * 3}"
        texts = captions[i] if i < 4 else captions[i][:1]
        ids = [str(90_000 + 10 * i + k) for k in range(len(texts))]
        rows += [{"audiocap_id": a, "youtube_id": youtube, "start_time": 30 + i, "caption": t} for a, t in zip(ids, texts)]
        if i == 2:
            _wav(root / "val" / f"{ids[1]}.wav", scene)
        elif i != 4:
            _wav(root / "val" / f"{youtube}.wav", scene)
        expected[youtube] = texts
    order = np.random.default_rng(seed).permutation(len(rows))  # lines of one clip need not be together
    path = root / "val.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["audiocap_id", "youtube_id", "start_time", "caption"])
        writer.writeheader()
        writer.writerows(rows[j] for j in order)
    return {"path": path, "captions": {y: [t for t in [rows[j]["caption"] for j in order if rows[j]["youtube_id"] == y]]
                                       for y in expected}, "missing": "yt4Xq-12"}


def write_clotho(root, seed: int = 9) -> dict:
    """``root/clotho_captions_evaluation.csv`` (file_name, caption_1 … caption_5) with sounds in
    ``root/evaluation/`` (names with spaces); the fifth clip's sound is missing."""
    root = Path(root)
    (root / "evaluation").mkdir(parents=True)
    scenes, captions = _world(5, seed)
    path = root / "clotho_captions_evaluation.csv"
    names = [f"field recording {i}.wav" for i in range(5)]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file_name"] + [f"caption_{k}" for k in range(1, 6)])
        for i, scene in enumerate(scenes):
            writer.writerow([names[i], *captions[i]])
            if i != 4:
                _wav(root / "evaluation" / names[i], scene)
    return {"path": path, "names": names, "captions": captions, "missing": names[4]}
