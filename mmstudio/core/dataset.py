"""Samples and datasets: what a folder or a manifest becomes before anything is decoded.

A :class:`Sample` groups the media of one thing (an image, its sound, its caption) under one
id, with a label and free metadata. Nothing is read here; readers run later, per item, so
one broken file costs only itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

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
    """``captions``: every caption of a sample that has several (a COCO image, an AudioCaps or Clotho
    clip), in the source's order; ``items["text"]`` is the first. Embedding keeps the first, or each as
    its own text row (``embed_dataset(captions="all")``)."""

    id: str
    items: dict[str, MediaRef] = field(default_factory=dict)
    label: str | None = None
    metadata: dict[str, object] = field(default_factory=dict)
    errors: list[ItemError] = field(default_factory=list)
    captions: tuple[str, ...] = ()

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(m for m in MODALITIES if m in self.items)


@dataclass
class Dataset:
    """Samples plus what was skipped on the way (unsupported files, unreadable manifest rows),
    notes about what was used but changed (a path given twice, a renamed metadata column), and
    the samples whose id was taken already (``duplicates``: kept, under a new id; see
    :func:`duplicate_id`)."""

    samples: list[Sample] = field(default_factory=list)
    skipped: list[ItemError] = field(default_factory=list)
    notes: list[ItemError] = field(default_factory=list)
    duplicates: list[ItemError] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.samples)

    def extend(self, other: "Dataset") -> None:
        """Append another dataset; a sample whose id is already taken is kept under a new id, and
        listed in ``duplicates``."""
        first = {s.id: s for s in self.samples}
        taken = set(first)
        self.duplicates.extend(other.duplicates)
        for sample in other.samples:
            if sample.id in taken:
                self.duplicates.append(duplicate_id(sample, first[sample.id], taken))
            taken.add(sample.id)
            first.setdefault(sample.id, sample)
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


def duplicate_id(sample: Sample, first: Sample, taken: set[str], given: str = "") -> ItemError:
    """``sample`` has the id of ``first``: give it a free one (``id#2``, ``id#3``…; nothing is dropped)
    and return the report naming both: which id, and the files of each. ``given``: where the second
    was listed, when its files alone do not say (a manifest's line). Adds the new id to ``taken``."""
    wanted = sample.id
    sample.id = unique_id(wanted, taken)
    taken.add(sample.id)
    sample.errors = [replace(e, sample_id=sample.id) if e.sample_id == wanted else e for e in sample.errors]
    return duplicate_report(sample, first, wanted, given)


def duplicate_report(sample: Sample, first: Sample, wanted: str, given: str = "") -> ItemError:
    """What :func:`duplicate_id` returns, for a sample already renamed from ``wanted``."""
    return ItemError(files_of(sample), None, f"duplicate sample id '{wanted}'{given}, already the id of "
                                             f"{files_of(first)}; kept as '{sample.id}'", sample.id)


def files_of(sample: Sample) -> str:
    """The sample's files (or caption) for a message: its first item, and how many more it has."""
    refs = list(sample.items.values())
    if not refs:
        return f"sample '{sample.id}'"
    more = len(refs) - 1
    return refs[0].where + (f" (+{more} more)" if more else "")


def unique_id(wanted: str, taken) -> str:
    """``wanted`` if free (not in ``taken``: a set or a dict), else ``wanted#2``, ``wanted#3``…"""
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}#{n}" in taken:
        n += 1
    return f"{wanted}#{n}"
