"""Caption files told apart from manifests by their shape, and read into a :class:`Dataset`.

A ``.json`` file is read as COCO captions (:mod:`mmstudio.core.sources.coco`); a ``.csv`` whose
header has ``youtube_id`` and ``caption`` is AudioCaps, one with ``file_name`` and ``caption_1``
Clotho (:mod:`mmstudio.core.sources.audio_captions`); any other CSV is a manifest.
"""

from __future__ import annotations

import csv
from pathlib import Path

from mmstudio.core.dataset import Dataset
from mmstudio.core.sources.audio_captions import csv_kind, read_audiocaps, read_clotho
from mmstudio.core.sources.coco import read_coco


def caption_kind(path) -> str | None:
    """``"coco"``, ``"audiocaps"``, ``"clotho"`` or None (not a caption file) for a file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "coco"
    if suffix != ".csv":
        return None
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None  # the manifest reader says what is wrong with it
    return csv_kind(header) if header else None


def read_captions(path, kind: str, folders: dict | None = None) -> Dataset:
    """A caption file of ``kind`` (from :func:`caption_kind`); ``folders``: modality → the folder of its media."""
    folders = folders or {}
    if kind == "coco":
        return read_coco(path, folders.get("image"))
    reader = read_audiocaps if kind == "audiocaps" else read_clotho
    return reader(path, folders.get("audio"))
