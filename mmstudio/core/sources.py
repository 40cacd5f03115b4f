"""Turn what a user gives (files, folders, manifests, in any mix) into one :class:`Dataset`."""

from __future__ import annotations

import os
import stat
from functools import lru_cache
from pathlib import Path

from mmstudio.core.dataset import Dataset, MediaRef, Sample
from mmstudio.core.errors import ItemError
from mmstudio.core.formats import is_manifest, modality_of, unsupported_reason
from mmstudio.core.manifest import read_manifest
from mmstudio.core.names import shown
from mmstudio.core.scan import folder_manifest, scan_folder


def load_paths(paths) -> Dataset:
    """Files, folders and manifests → samples. Loose files with the same stem in the same
    folder pair up like they would in a folder scan; nothing is decoded here."""
    dataset = Dataset()
    loose: dict[tuple[str, str], Sample] = {}
    real_folder = lru_cache(maxsize=None)(os.path.realpath)
    for raw in paths:
        path = Path(raw).expanduser()
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = None
        if mode is not None and stat.S_ISDIR(mode):
            manifest = folder_manifest(path)
            dataset.extend(read_manifest(manifest) if manifest else scan_folder(path))
        elif mode is not None and stat.S_ISREG(mode):
            if is_manifest(path):
                dataset.extend(read_manifest(path))
            else:
                _add_loose(path, real_folder(str(path.parent)), loose, dataset)
        else:
            reason = "no such file or folder" if mode is None else "not a regular file or folder"
            dataset.skipped.append(ItemError(str(path), modality_of(path), reason))
    dataset.extend(Dataset(samples=list(loose.values())))
    return dataset


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
