"""Folder scans: files with the same stem in the same folder become one sample.

``dog.jpg``, ``dog.wav`` and ``dog.txt`` in ``animals/`` form sample ``dog`` (``animals/dog``
when ``animals`` is below the scanned folder) with label ``animals``. Hidden files and
folders are skipped; symlink loops are survived; unsupported files are listed with a reason.
A folder whose top level holds ``manifest.csv`` or ``manifest.jsonl`` is read through that
manifest instead, so its labels and metadata are kept.
"""

from __future__ import annotations

import os
from pathlib import Path

from mmstudio.core.dataset import Dataset, MediaRef, Sample, duplicate_report, unique_id
from mmstudio.core.errors import ItemError
from mmstudio.core.media.formats import is_manifest, modality_of, unsupported_reason
from mmstudio.core.names import shown

MANIFEST_NAMES = ("manifest.csv", "manifest.jsonl")


def folder_manifest(folder: Path) -> Path | None:
    for name in MANIFEST_NAMES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def scan_folder(folder) -> Dataset:
    """Scan ``folder`` recursively into a :class:`Dataset` (no file is opened)."""
    root = Path(folder)
    dataset = Dataset()
    if not root.is_dir():
        dataset.skipped.append(ItemError(str(root), None, "not a folder"))
        return dataset
    visited: set[tuple[int, int]] = set()
    taken: dict[str, Sample] = {}   # id → the sample that has it
    for directory, files in _walk(root, visited, dataset.skipped):
        _group(root, directory, files, dataset, taken)
    return dataset


def _walk(root: Path, visited: set, skipped: list):
    """Yield (directory, sorted visible file names), following links but never a loop."""
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            st = directory.stat()
        except OSError as exc:
            skipped.append(ItemError(str(directory), None, f"cannot open folder ({_os_reason(exc)})"))
            continue
        key = (st.st_dev, st.st_ino)
        if key in visited:
            skipped.append(ItemError(str(directory), None, "symlink loop: folder already scanned"))
            continue
        visited.add(key)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            skipped.append(ItemError(str(directory), None, f"cannot list folder ({_os_reason(exc)})"))
            continue
        files, subdirs = [], []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=True):
                    subdirs.append(path)
                elif entry.is_file(follow_symlinks=True):
                    files.append(entry.name)
                elif entry.is_symlink():
                    skipped.append(ItemError(str(path), None, _link_reason(path)))
            except OSError as exc:
                skipped.append(ItemError(str(path), None, _os_reason(exc)))
        yield directory, files
        stack.extend(reversed(subdirs))


def _group(root: Path, directory: Path, files: list[str], dataset: Dataset, taken: dict[str, Sample]) -> None:
    """The files of one folder, paired by stem. Sample ids and labels are names to show: a file or
    folder name that is not UTF-8 appears with U+FFFD (an id that two names share is made unique
    again, and listed in ``dataset.duplicates``); paths stay exact."""
    samples: dict[str, Sample] = {}
    clashes: list[tuple[Sample, Sample, str]] = []  # a sample whose shown id was taken, the one that has it, the id
    rel = directory.relative_to(root)
    label = shown(directory.name) or None
    for name in files:
        path = directory / name
        modality = modality_of(name)
        if modality is None:
            reason = ("manifest files are read when opened directly or named manifest.csv/.jsonl "
                      "at the top of a folder") if is_manifest(name) else unsupported_reason(path)
            dataset.skipped.append(ItemError(str(path), None, reason))
            continue
        stem = path.stem
        sample = samples.get(stem)
        if sample is None:
            sample = samples[stem] = Sample(id=shown(stem if rel == Path(".") else f"{rel.as_posix()}/{stem}"),
                                            label=label)
            if sample.id in taken:
                clashes.append((sample, taken[sample.id], sample.id))
                sample.id = unique_id(sample.id, taken)
            taken[sample.id] = sample
        if modality in sample.items:
            first = Path(sample.items[modality].path).name
            dataset.skipped.append(ItemError(
                str(path), modality, f"sample '{sample.id}' already has an {modality} ({first})"))
            continue
        sample.items[modality] = MediaRef(modality, path=str(path))
    for sample, first, wanted in clashes:  # reported once their files are known
        dataset.duplicates.append(duplicate_report(sample, first, wanted))
    for stem in sorted(samples):
        dataset.samples.append(samples[stem])


def _link_reason(path: Path) -> str:
    try:
        path.stat()
    except OSError as exc:
        return _os_reason(exc)
    return "not a regular file"


def _os_reason(exc: OSError) -> str:
    import errno

    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno == errno.ENOENT:
        return "broken link or missing file"
    if exc.errno == errno.EACCES:
        return "permission denied"
    return exc.strerror or str(exc)

