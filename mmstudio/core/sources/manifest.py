"""Manifests: CSV or JSONL files listing samples.

Columns: ``id``, ``image``, ``audio``, ``text`` (paths, relative to the manifest) or ``caption``
(inline text), ``label``; every other column is kept as metadata. A row whose file is
missing keeps its other modalities and records the error; a row that cannot be parsed is
skipped with its line number. Paths that reach outside the manifest's folder (absolute, ``~``,
``../``) are read, with one warning per manifest naming them: a manifest from someone else
should not read ``~/.ssh`` unnoticed.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

from mmstudio.core.dataset import Dataset, MediaRef, Sample, duplicate_id
from mmstudio.core.errors import ItemError
from mmstudio.core.names import shown
from mmstudio.core.paths import leaves_folder

log = logging.getLogger(__name__)
PATH_COLUMNS = ("image", "audio", "text")
RESERVED_COLUMNS = ("id", "label") + PATH_COLUMNS  # "caption" stays in the metadata too


def read_manifest(path) -> Dataset:
    """Read a ``.csv`` or ``.jsonl`` manifest into a :class:`Dataset`."""
    manifest = Path(path)
    dataset = Dataset()
    try:
        rows = list(_rows(manifest, dataset.skipped))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        dataset.skipped.append(ItemError(str(manifest), None, f"cannot read manifest ({exc})"))
        return dataset
    first: dict[str, Sample] = {}
    taken: set[str] = set()
    outside: list[str] = []
    for line, row in rows:
        sample = _sample(manifest, line, row, dataset.skipped, outside)
        if sample is None:
            continue
        if sample.id in taken:
            dataset.duplicates.append(duplicate_id(sample, first[sample.id], taken, f" ({manifest.name} line {line})"))
        taken.add(sample.id)
        first.setdefault(sample.id, sample)
        dataset.samples.append(sample)
    if outside:
        shown_paths = ", ".join(shown(p) for p in outside[:3]) + (f" and {len(outside) - 3} more" if len(outside) > 3 else "")
        log.warning("%s: %d path%s outside the manifest's folder, read anyway: %s", shown(str(manifest)), len(outside),
                    "s lead" if len(outside) != 1 else " leads", shown_paths)
    return dataset


def _rows(manifest: Path, skipped: list):
    """Yield (line number, dict) pairs; malformed JSON lines are reported and skipped."""
    suffix = manifest.suffix.lower()
    with manifest.open(encoding="utf-8-sig", newline="") as fh:
        if suffix == ".csv":
            reader = csv.DictReader(fh)
            if reader.fieldnames is None:
                skipped.append(ItemError(str(manifest), None, "manifest is empty"))
                return
            reader.fieldnames = [name.strip() for name in reader.fieldnames]
            for row in reader:
                row.pop(None, None)  # cells beyond the header
                yield reader.line_num, row
        elif suffix == ".jsonl":
            for number, text in enumerate(fh, start=1):
                if not text.strip():
                    continue
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as exc:
                    skipped.append(ItemError(f"{manifest}:{number}", None, f"invalid JSON ({exc.msg})"))
                    continue
                if not isinstance(row, dict):
                    skipped.append(ItemError(f"{manifest}:{number}", None, "a JSONL row must be an object"))
                    continue
                yield number, row
        else:
            raise OSError(f"a manifest is a .csv or .jsonl file, not {suffix or 'a file without extension'}")


def _present(value) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _sample(manifest: Path, line: int, row: dict, skipped: list, outside: list) -> Sample | None:
    where = f"{manifest}:{line}"
    paths = {m: row[m] for m in PATH_COLUMNS if _present(row.get(m))}
    if _present(row.get("id")):
        sample_id = str(row["id"]).strip()
    elif paths:
        sample_id = Path(str(next(iter(paths.values()))).strip()).stem
    else:
        sample_id = f"row{line}"
    items: dict[str, MediaRef] = {}
    errors: list[ItemError] = []
    for modality, value in paths.items():
        if not isinstance(value, str):
            errors.append(ItemError(where, modality, f"column '{modality}' must be a path, got {value!r}", sample_id))
            continue
        if leaves_folder(value.strip()):
            outside.append(value.strip())
        file = _resolve(manifest, value.strip())
        if not file.is_file():
            reason = "file not found" if not file.exists() else "not a regular file"
            errors.append(ItemError(str(file), modality, f"{reason} (listed in {manifest.name} line {line})", sample_id))
            continue
        items[modality] = MediaRef(modality, path=str(file))
    caption = row.get("caption")
    if _present(caption) and "text" not in items:
        items["text"] = MediaRef("text", text=str(caption).strip())
    if not items and not errors:
        skipped.append(ItemError(where, None, "row has no image, audio, text or caption"))
        return None
    metadata = {k: v for k, v in row.items() if k not in RESERVED_COLUMNS}
    label = row.get("label")
    return Sample(
        id=sample_id,
        items=items,
        label=str(label).strip() if _present(label) else None,
        metadata=metadata,
        errors=errors,
    )


def _resolve(manifest: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else manifest.parent / path
