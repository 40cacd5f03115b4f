"""Audio caption CSVs: AudioCaps and Clotho, one sample per clip with every caption kept.

- **AudioCaps** (``audiocap_id, youtube_id, start_time, caption``): one caption per line; the lines
  of one ``youtube_id`` are one clip (its id), their captions in the file's order. The sound is
  the file named by the ``youtube_id`` or one of the clip's ``audiocap_id`` s, with any audio
  extension. ``start_time`` and the first ``audiocap_id`` are metadata.
- **Clotho** (``file_name, caption_1 … caption_5``): one clip per line, its id the file name
  without extension, its captions in column order (blank ones left out); other columns are
  metadata.

Both keep ``n_captions`` and ``caption`` (the first; a caption row's own when every caption is
embedded) as metadata, as a manifest keeps its ``caption`` column. Sounds are looked for in
``--audio DIR`` or a folder beside the CSV (:mod:`mmstudio.core.sources.caption_media`). A sound that
is not there is an error naming the file and the CSV line (the captions are still embedded).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from mmstudio.core.dataset import Dataset, MediaRef, Sample
from mmstudio.core.errors import ItemError
from mmstudio.core.paths import leaves_folder
from mmstudio.core.sources.caption_media import MediaFinder

AUDIOCAPS = ("youtube_id", "caption")
CLOTHO = ("file_name", "caption_1")
CAPTION_COLUMN = re.compile(r"caption_(\d+)$")


def csv_kind(header) -> str | None:
    """``"audiocaps"``, ``"clotho"`` or None for a CSV header (its column names)."""
    names = {str(name).strip().lower() for name in header}
    if all(c in names for c in AUDIOCAPS):
        return "audiocaps"
    if all(c in names for c in CLOTHO):
        return "clotho"
    return None


def _rows(file: Path, dataset: Dataset):
    """(line, row) pairs with lower-case column names; None when the file cannot be read."""
    try:
        with file.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None:
                dataset.skipped.append(ItemError(str(file), None, "captions file is empty"))
                return []
            reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
            rows = []
            for row in reader:
                row.pop(None, None)
                rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items()}))
            return rows
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        dataset.skipped.append(ItemError(str(file), None, f"cannot read captions file ({exc})"))
        return []


def read_audiocaps(path, audio=None) -> Dataset:
    """An AudioCaps CSV → one sample per ``youtube_id`` (``audio``: the folder of its sounds)."""
    file = Path(path)
    dataset = Dataset()
    clips: dict[str, list[tuple[int, dict]]] = {}
    for line, row in _rows(file, dataset):
        if not row.get("youtube_id"):
            dataset.skipped.append(ItemError(f"{file}:{line}", None, "line has no youtube_id"))
            continue
        clips.setdefault(row["youtube_id"], []).append((line, row))
    finder = MediaFinder(file, "audio", audio)
    missing = []
    for clip, lines in clips.items():
        captions = [(line, row) for line, row in lines if row.get("caption")]
        for line, row in lines:
            if not row.get("caption"):
                dataset.skipped.append(ItemError(f"{file}:{line}", "text", f"clip {clip}: empty caption"))
        first = lines[0][1]
        sample = Sample(id=clip, metadata={"audiocap_id": first.get("audiocap_id"), "start_time": first.get("start_time"),
                                           "n_captions": len(captions)})
        sample.captions = tuple(row["caption"] for _, row in captions)
        if captions:
            sample.items["text"] = MediaRef("text", text=sample.captions[0])
            sample.metadata["caption"] = sample.captions[0]
        names = list(dict.fromkeys([clip] + [row["audiocap_id"] for _, row in lines if row.get("audiocap_id")]))
        found = finder.stem(names)
        if found is not None:
            sample.items["audio"] = MediaRef("audio", path=str(found))
        else:
            ids = names[1:]
            listed = f"clip at line {lines[0][0]} of {file.name}" + (f", audiocap_id {', '.join(ids)}" if ids else "")
            missing.append((sample, ItemError(str(finder.expected(clip)), "audio", "file not found: no sound named "
                                              f"{' or '.join(names)} with an audio extension ({listed})", clip)))
        dataset.samples.append(sample)
    _missing(file, finder, missing, dataset)
    return dataset


def read_clotho(path, audio=None) -> Dataset:
    """A Clotho CSV → one sample per line (``audio``: the folder of its sounds)."""
    file = Path(path)
    dataset = Dataset()
    rows = _rows(file, dataset)
    finder = MediaFinder(file, "audio", audio)
    missing, taken = [], set()
    for line, row in rows:
        name = row.get("file_name", "")
        if not name:
            dataset.skipped.append(ItemError(f"{file}:{line}", None, "line has no file_name"))
            continue
        columns = sorted((int(m.group(1)), key) for key in row if (m := CAPTION_COLUMN.match(key)))
        captions = tuple(row[key] for _, key in columns if row[key])
        clip = Path(name).stem
        if clip in taken:
            dataset.skipped.append(ItemError(f"{file}:{line}", None, f"{name} is listed twice; the first is kept"))
            continue
        taken.add(clip)
        metadata = {k: v for k, v in row.items() if k != "file_name" and not CAPTION_COLUMN.match(k)}
        metadata["n_captions"] = len(captions)
        sample = Sample(id=clip, metadata=metadata, captions=captions)
        if captions:
            sample.items["text"] = MediaRef("text", text=captions[0])
            sample.metadata["caption"] = captions[0]
        listed = f"line {line} of {file.name}"
        if leaves_folder(name):
            sample.errors.append(ItemError(name, "audio", f"file_name leaves the audio folder ({listed})", clip))
        else:
            found = finder.file(name)
            if found is not None:
                sample.items["audio"] = MediaRef("audio", path=str(found))
            else:
                missing.append((sample, ItemError(str(finder.expected(name)), "audio", f"file not found ({listed})",
                                                  clip)))
        dataset.samples.append(sample)
    _missing(file, finder, missing, dataset)
    return dataset


def _missing(file: Path, finder: MediaFinder, missing: list, dataset: Dataset) -> None:
    """Each missing sound is an error of its sample; when none was found at all, one line instead."""
    if missing and not finder.found:
        dataset.skipped.append(ItemError(str(file), "audio", f"none of its {len(missing)} sounds is in "
                                         f"{finder.looked}; give their folder with `mmstudio embed --audio DIR`"))
    else:
        for sample, error in missing:
            sample.errors.append(error)
    dataset.samples = [s for s in dataset.samples if s.items or s.errors]
