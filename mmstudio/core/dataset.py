"""Samples and datasets: what a folder or a manifest becomes before anything is decoded.

A :class:`Sample` groups the media of one thing (an image, its sound, its caption) under one
id, with a label and free metadata. Nothing is read here; readers run later, per item, so
one broken file costs only itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmstudio.core.errors import ItemError
from mmstudio.core.media.formats import MODALITIES


@dataclass(frozen=True)
class MediaRef:
    """One modality of a sample: a file on disk, an item inside an archive (``path`` is then
    ``shard.tar::key.jpg`` or ``train.parquet::row 17 image``, read from the archive's bytes when it
    is decoded: :mod:`mmstudio.core.archives.members`) or, for text, an inline caption."""

    modality: str
    path: str | None = None
    text: str | None = None

    def __post_init__(self):
        if self.modality not in MODALITIES:
            raise ValueError(f"unknown modality {self.modality!r}")
        if (self.path is None) == (self.text is None):
            raise ValueError("a MediaRef holds either a path or an inline text")

    @property
    def where(self) -> str:
        """A short description for messages: the path, or the caption's first words."""
        if self.path is not None:
            return self.path
        snippet = " ".join(self.text.split())
        return f'"{snippet[:40]}…"' if len(snippet) > 40 else f'"{snippet}"'


@dataclass
class Sample:
    id: str
    items: dict[str, MediaRef] = field(default_factory=dict)
    label: str | None = None
    metadata: dict[str, object] = field(default_factory=dict)
    errors: list[ItemError] = field(default_factory=list)

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(m for m in MODALITIES if m in self.items)


@dataclass
class Dataset:
    """Samples plus what was skipped on the way (unsupported files, unreadable manifest rows) and
    notes about what was used but changed (a path given twice, a renamed metadata column)."""

    samples: list[Sample] = field(default_factory=list)
    skipped: list[ItemError] = field(default_factory=list)
    notes: list[ItemError] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.samples)

    def extend(self, other: "Dataset") -> None:
        """Append another dataset, renaming sample ids that are already taken."""
        taken = {s.id for s in self.samples}
        for sample in other.samples:
            if sample.id in taken:
                sample.id = unique_id(sample.id, taken)
            taken.add(sample.id)
            self.samples.append(sample)
        self.skipped.extend(other.skipped)
        self.notes.extend(other.notes)

    @property
    def errors(self) -> list[ItemError]:
        """Everything that went wrong before decoding: skipped files and per-sample errors."""
        return self.skipped + [e for s in self.samples for e in s.errors]

    def count(self, modality: str) -> int:
        return sum(modality in s.items for s in self.samples)

    @property
    def metadata_columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for s in self.samples:
            for key in s.metadata:
                seen.setdefault(key, None)
        return list(seen)


def unique_id(wanted: str, taken: set[str]) -> str:
    """``wanted`` if free, else ``wanted#2``, ``wanted#3``…"""
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}#{n}" in taken:
        n += 1
    return f"{wanted}#{n}"
