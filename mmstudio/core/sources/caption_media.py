"""Where the pictures or sounds of a caption file lie.

The folder given (``--images DIR``, ``--audio DIR``), else the first folders beside the file that
hold them, looked for in this order: named like the file or its last ``_`` word
(``annotations/captions_val2017.json`` → ``val2017``, ``clotho_captions_evaluation.csv`` →
``evaluation``), in the file's folder, then in an ``images``/``audio`` folder there, then the same
one level up (COCO keeps ``annotations/`` beside ``val2017/``); last, the file's own folder.
Each folder is listed once.
"""

from __future__ import annotations

import os
from pathlib import Path

from mmstudio.core.media.formats import AUDIO_EXTENSIONS

KIND_FOLDERS = {"image": ("images", "imgs"), "audio": ("audio", "audios", "waveforms", "wavs")}


def candidate_folders(file: Path, modality: str) -> list[Path]:
    """The folders that may hold ``file``'s media, in the order they are searched (existing ones only)."""
    names = list(dict.fromkeys([file.stem, file.stem.rsplit("_", 1)[-1]]))
    found: list[Path] = []
    for base in (file.parent, file.parent.parent):
        found += [base / name for name in names]
        for kind in KIND_FOLDERS[modality]:
            found += [base / kind / name for name in names] + [base / kind]
    found.append(file.parent)
    seen, out = set(), []
    for folder in found:
        real = os.path.realpath(folder)
        if real not in seen and folder.is_dir():
            seen.add(real)
            out.append(folder)
    return out


class MediaFinder:
    """Finds a caption file's media files by name in its folders (see the module's order)."""

    def __init__(self, file: Path, modality: str, given=None):
        self.modality = modality
        self.given = None if given is None else Path(given)
        self.folders = [self.given] if self.given is not None else candidate_folders(file, modality)
        self._names: dict[Path, set[str]] = {}
        self._stems: dict[Path, dict[str, str]] = {}
        self.found = 0

    @property
    def looked(self) -> str:
        return ", ".join(str(f) for f in self.folders) or "no folder"

    def expected(self, name: str) -> Path:
        """Where a file that is nowhere would be expected (for messages)."""
        return (self.folders[0] if self.folders else Path(".")) / name

    def _listing(self, folder: Path) -> set[str]:
        if folder not in self._names:
            try:
                self._names[folder] = set(os.listdir(folder))
            except OSError:
                self._names[folder] = set()
        return self._names[folder]

    def file(self, name: str) -> Path | None:
        """The first file called ``name`` (a relative path) in the folders."""
        for folder in self.folders:
            if "/" in name or os.sep in name:
                path = folder / name
            elif name in self._listing(folder):
                path = folder / name
            else:
                continue
            if path.is_file():
                self.found += 1
                return path
        return None

    def stem(self, stems) -> Path | None:
        """The first sound whose name without its extension is one of ``stems`` (``abc.wav``, ``abc.flac``…)."""
        for folder in self.folders:
            if folder not in self._stems:
                index: dict[str, str] = {}
                for name in sorted(self._listing(folder)):
                    base, ext = os.path.splitext(name)
                    if ext.lower() in AUDIO_EXTENSIONS:
                        index.setdefault(base, name)
                self._stems[folder] = index
            for stem in stems:
                name = self._stems[folder].get(stem)
                if name is not None and (folder / name).is_file():
                    self.found += 1
                    return folder / name
        return None

