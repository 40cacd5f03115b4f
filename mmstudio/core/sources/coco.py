"""COCO-style caption files (``captions_train2017.json``): one sample per image, every caption kept.

The file is a JSON object with ``images`` (``[{id, file_name, width, height}]``) and ``annotations``
(``[{image_id, id, caption}]``). Each image is a sample whose id is the image id; its captions are
its annotations in the file's order (the first is embedded by default); ``width``, ``height``,
``n_captions`` and ``caption`` (the first; a caption row's own when every caption is embedded) are
metadata. The pictures are found by ``file_name`` in ``--images DIR`` or a folder
beside the file (:mod:`mmstudio.core.sources.caption_media`). A picture that is not there is an
error naming the file, the image id and its annotations (the captions are still embedded); an
image or annotation the file cannot describe (no id, no caption, an unknown image id) is skipped
with its place in the file.
"""

from __future__ import annotations

import json
from pathlib import Path

from mmstudio.core.dataset import Dataset, MediaRef, Sample
from mmstudio.core.errors import ItemError
from mmstudio.core.paths import leaves_folder
from mmstudio.core.sources.caption_media import MediaFinder

SHOWN_ANNOTATIONS = 5


def is_coco(data) -> bool:
    return isinstance(data, dict) and isinstance(data.get("images"), list) and isinstance(data.get("annotations"), list)


def read_coco(path, images=None) -> Dataset:
    """Read a COCO caption file into a :class:`Dataset` (``images``: the folder of its pictures)."""
    file = Path(path)
    dataset = Dataset()
    try:
        data = json.loads(file.read_bytes())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        dataset.skipped.append(ItemError(str(file), None, f"cannot read captions file ({exc})"))
        return dataset
    if not is_coco(data):
        keys = ", ".join(f"'{k}'" for k in list(data)[:6]) if isinstance(data, dict) else f"a JSON {type(data).__name__}"
        dataset.skipped.append(ItemError(str(file), None, "not a COCO captions file: a .json is read as an object with "
                                         f"'images' and 'annotations' lists (this one has {keys or 'no keys'})"))
        return dataset
    samples: dict[str, tuple[Sample, str]] = {}
    for i, image in enumerate(data["images"]):
        where = f"{file}: images[{i}]"
        if not isinstance(image, dict) or image.get("id") is None or not isinstance(image.get("file_name"), str) \
                or not image["file_name"].strip():
            dataset.skipped.append(ItemError(where, "image", "an image needs an 'id' and a 'file_name'"))
            continue
        key = str(image["id"])
        if key in samples:
            dataset.skipped.append(ItemError(where, "image", f"image id {key} is listed twice; the first is kept"))
            continue
        metadata = {name: image.get(name) for name in ("width", "height")}
        samples[key] = (Sample(id=key, metadata=metadata), image["file_name"].strip())
    captions: dict[str, list[tuple[object, str]]] = {key: [] for key in samples}
    for j, note in enumerate(data["annotations"]):
        where = f"{file}: annotations[{j}]"
        if not isinstance(note, dict):
            dataset.skipped.append(ItemError(where, "text", "an annotation must be an object"))
            continue
        name = f"annotation {note.get('id', j)}"
        text = note.get("caption")
        if not isinstance(text, str) or not text.strip():
            dataset.skipped.append(ItemError(where, "text", f"{name} has no caption text"))
        elif str(note.get("image_id")) not in captions:
            dataset.skipped.append(ItemError(where, "text", f"{name}: image_id {note.get('image_id')!r} is not "
                                             "among the images"))
        else:
            captions[str(note["image_id"])].append((note.get("id", j), text.strip()))
    finder = MediaFinder(file, "image", images)
    missing = []
    for key, (sample, name) in samples.items():
        notes = captions[key]
        sample.captions = tuple(text for _, text in notes)
        sample.metadata["n_captions"] = len(notes)
        if notes:
            sample.items["text"] = MediaRef("text", text=sample.captions[0])
            sample.metadata["caption"] = sample.captions[0]
        ids = ", ".join(str(i) for i, _ in notes[:SHOWN_ANNOTATIONS]) + (" …" if len(notes) > SHOWN_ANNOTATIONS else "")
        listed = f"image {key} in {file.name}" + (f", annotation{'s' if len(notes) != 1 else ''} {ids}" if notes else "")
        if leaves_folder(name):
            sample.errors.append(ItemError(name, "image", f"file_name leaves the image folder ({listed})", key))
        else:
            found = finder.file(name)
            if found is not None:
                sample.items["image"] = MediaRef("image", path=str(found))
            else:
                missing.append((sample, ItemError(str(finder.expected(name)), "image", f"file not found ({listed})",
                                                  key)))
        dataset.samples.append(sample)
    if missing and not finder.found:  # no picture anywhere: one line, not one per image
        dataset.skipped.append(ItemError(str(file), "image", f"none of its {len(missing)} pictures is in "
                                         f"{finder.looked}; give their folder with `mmstudio embed --images DIR`"))
    else:
        for sample, error in missing:
            sample.errors.append(error)
    dataset.samples = [s for s in dataset.samples if s.items or s.errors]
    return dataset
