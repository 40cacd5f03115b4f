"""Turn what a user gives (files, folders, manifests, in any mix) into one :class:`Dataset`."""

from __future__ import annotations

import os
import stat
from functools import lru_cache
from pathlib import Path

from mmstudio.core.dataset import Dataset, MediaRef, Sample
from mmstudio.core.errors import ItemError
from mmstudio.core.media.formats import is_manifest, modality_of, unsupported_reason
from mmstudio.core.names import shown
from mmstudio.core.sources.archives import ArchiveInputs, expand_patterns
from mmstudio.core.sources.captions import caption_kind, read_captions
from mmstudio.core.sources.hf_columns import ColumnChoice
from mmstudio.core.sources.manifest import read_manifest
from mmstudio.core.sources.scan import folder_manifest, scan_folder


def load_paths(paths, columns: ColumnChoice | None = None, folders: dict | None = None) -> Dataset:
    """Files, folders, manifests and caption files (COCO JSON, AudioCaps / Clotho CSV) → samples. Loose
    files with the same stem in the same folder pair up like they would in a folder scan; nothing is
    decoded here. Tar shards and Hugging Face datasets (:mod:`mmstudio.core.sources.archives`) are read
    with ``columns``, the user's choice of their columns (a
    :class:`~mmstudio.core.sources.hf_columns.SourceError` when the data has no such column or split).
    ``folders``: modality → where a caption file's pictures or sounds lie (else beside it)."""
    dataset = Dataset()
    archives = ArchiveInputs(columns)
    loose: dict[tuple[str, str], Sample] = {}
    real_folder = lru_cache(maxsize=None)(os.path.realpath)
    read: dict[str, str] = {}  # real path of each folder, manifest or file read → how it was given
    scanned: dict[str, str] = {}  # real path of each media file found by a scan or given → where from
    for raw in expand_patterns(paths):
        path = Path(raw).expanduser()
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = None
        source = folder_manifest(path) if mode is not None and stat.S_ISDIR(mode) else None
        real = os.path.realpath(source or path)
        if mode is not None and real in read:  # the same folder, manifest or file twice: read it once
            also = "" if read[real] == str(raw) else f" (as {read[real]})"
            dataset.notes.append(ItemError(str(raw), None, f"given more than once{also}; read once"))
            continue
        read[real] = str(raw)
        if mode is not None and source is None and archives.take(path, stat.S_ISDIR(mode)):
            continue
        if mode is not None and stat.S_ISDIR(mode):
            dataset.extend(read_manifest(source) if source else _once(scan_folder(path), str(raw), scanned))
        elif mode is not None and stat.S_ISREG(mode):
            kind = caption_kind(path)
            if kind is not None:
                dataset.extend(read_captions(path, kind, folders))
            elif is_manifest(path):
                dataset.extend(read_manifest(path))
            elif real in scanned:
                dataset.notes.append(ItemError(str(raw), modality_of(path), f"also in {scanned[real]}; read once"))
            else:
                scanned[real] = str(raw)
                _add_loose(path, real_folder(str(path.parent)), loose, dataset)
        else:
            reason = "no such file or folder" if mode is None else "not a regular file or folder"
            dataset.skipped.append(ItemError(str(path), modality_of(path), reason))
    dataset.extend(archives.read())
    dataset.extend(Dataset(samples=list(loose.values())))
    return dataset


def _once(found: Dataset, given: str, scanned: dict) -> Dataset:
    """Drop the media files of a folder scan that an earlier path already brought in (a folder and
    its subfolder, a file and its folder), with a note; samples left with nothing are dropped."""
    for sample in found.samples:
        for modality, ref in list(sample.items.items()):
            real = os.path.realpath(ref.path)
            if real in scanned:
                found.notes.append(ItemError(ref.path, modality, f"also in {scanned[real]}; read once", sample.id))
                del sample.items[modality]
            else:
                scanned[real] = given
    found.samples = [s for s in found.samples if s.items or s.errors]
    return found


def _add_loose(path: Path, folder: str, loose: dict, dataset: Dataset) -> None:
    modality = modality_of(path)
    if modality is None:
        dataset.skipped.append(ItemError(str(path), None, unsupported_reason(path)))
        return
    label = shown(os.path.basename(folder)) or None
    sample = loose.setdefault((folder, path.stem), Sample(id=shown(path.stem), label=label))
    if modality in sample.items:
        dataset.skipped.append(ItemError(str(path), modality, f"sample '{sample.id}' already has an {modality}"))
        return
    sample.items[modality] = MediaRef(modality, path=str(path))
