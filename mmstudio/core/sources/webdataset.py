"""WebDataset tar shards: the members of one sample share a key, ``k17.jpg``, ``k17.txt``, ``k17.json``.

The key is a member's name up to the first dot of its base name (``dir/k17.seg.png`` → key
``dir/k17``, extension ``seg.png``), as WebDataset groups them. Per sample: the first image, audio
and text member are its items (read from the shard when decoded, never unpacked), ``.json`` is its
metadata (top-level values; nested ones as JSON text), ``.cls`` (or ``.cls2``, ``.class``,
``.label``, ``.label.txt``…) its label; the shard's file name is kept as metadata ``shard``.
Other members are counted, once per shard and extension. A shard that is damaged or cut short
still gives every member that can be read; the rest are error rows.
"""

from __future__ import annotations

import itertools
import json
import os
import re

from mmstudio.core.archives.members import member_path
from mmstudio.core.archives.tar import TarListing, TarMember, list_tar
from mmstudio.core.dataset import Dataset, MediaRef, Sample
from mmstudio.core.errors import ItemError
from mmstudio.core.media.formats import modality_of
from mmstudio.core.names import shown

LABEL_EXTENSIONS = frozenset({"cls", "cls2", "class", "label", "labels", "target"})
TEXT_EXTENSIONS = frozenset({"txt", "text", "caption", "md"})
_MEMBER = re.compile(r"^((?:.*/)?[^./][^/]*?)\.([^/]*)$")  # key, extension (after the base name's first dot)
_BRACES = re.compile(r"\{([^{}]*)\}")
_MAX_SMALL = 1 << 20  # a .json or .cls member larger than this is not read


def expand_braces(pattern: str) -> list[str]:
    """``shard-{000000..000002}.tar`` → the three names (zero padding kept); ``{a,b}`` lists too;
    several braces multiply. A pattern without braces is itself."""
    parts, start = [], 0
    choices = []
    for found in _BRACES.finditer(pattern):
        parts.append(pattern[start:found.start()])
        choices.append(_choices(found[1]))
        start = found.end()
    if not choices:
        return [pattern]
    parts.append(pattern[start:])
    out = []
    for combo in itertools.product(*choices):
        out.append("".join(p + c for p, c in zip(parts, combo)) + parts[-1])
    return out


def _choices(inside: str) -> list[str]:
    ranged = re.fullmatch(r"(\d+)\.\.(\d+)", inside)
    if ranged:
        a, b = ranged[1], ranged[2]
        width = len(a) if a.startswith("0") or len(a) == len(b) else 0
        lo, hi = int(a), int(b)
        step = 1 if hi >= lo else -1
        return [str(i).zfill(width) for i in range(lo, hi + step, step)]
    return inside.split(",")


def is_brace_pattern(text: str) -> bool:
    return bool(_BRACES.search(text)) and len(expand_braces(text)) > 1


def read_shards(shards) -> Dataset:
    """Every sample of the shards, in order (one shard's keys are its own: a key met again in a
    later shard is a new sample, its id made unique)."""
    dataset = Dataset()
    for shard in shards:
        dataset.extend(read_shard(str(shard)))
    return dataset


def read_shard(shard: str) -> Dataset:
    dataset = Dataset()
    listing = list_tar(shard)
    for problem in listing.problems:
        dataset.skipped.append(ItemError(shard, None, problem))
    samples: dict[str, Sample] = {}
    ignored: dict[str, int] = {}
    with _Reader(shard) as reader:
        for member in listing.members:
            found = _MEMBER.match(member.name)
            if found is None:
                ext = os.path.splitext(member.name)[1].lstrip(".") or "(no extension)"
                ignored[ext] = ignored.get(ext, 0) + 1
                continue
            key, ext = found[1].removeprefix("./"), found[2].lower()
            sample = samples.get(key)
            if sample is None:
                sample = samples[key] = Sample(id=shown(key), metadata={"shard": shown(os.path.basename(shard))})
            _add(sample, member, ext, shard, listing, reader, ignored, dataset)
    dataset.samples = [s for s in samples.values() if s.items or s.errors]
    for ext, count in ignored.items():
        kind = ext if ext.startswith("(") else f".{ext}"
        dataset.notes.append(ItemError(shard, None, f"{count:,} member{'s' if count != 1 else ''} of type {kind} not used"))
    return dataset


def _add(sample: Sample, member: TarMember, ext: str, shard: str, listing: TarListing, reader, ignored: dict,
         dataset: Dataset) -> None:
    where = member_path(shard, member.name)
    last = ext.rsplit(".", 1)[-1]
    first = ext.split(".", 1)[0]
    if first in LABEL_EXTENSIONS and last in LABEL_EXTENSIONS | {"txt"}:
        role = "label"
    elif last == "json":
        role = "json"
    elif last in TEXT_EXTENSIONS:
        role = "text"
    else:
        role = modality_of(f"x.{last}")
        if role is None:
            ignored[ext] = ignored.get(ext, 0) + 1
            return
    modality = role if role in ("image", "audio", "text") else None
    cut = listing.truncated(member)
    if cut is not None:
        sample.errors.append(ItemError(where, modality, cut, sample.id))
        return
    if modality is not None:
        if modality in sample.items:
            held = sample.items[modality].path.rsplit("::", 1)[-1]
            dataset.skipped.append(ItemError(where, modality, f"sample '{sample.id}' already has an {modality} "
                                                              f"({held})", sample.id))
            return
        sample.items[modality] = MediaRef(modality, path=where)
        return
    raw, problem = reader.small(member)
    if problem is None and role == "label":
        text, problem = _text(raw)
        if problem is None:
            sample.label = text or None
    elif problem is None:
        problem = _metadata(raw, sample)
    if problem is not None:
        sample.errors.append(ItemError(where, None, problem, sample.id))


def _text(raw: bytes) -> tuple[str | None, str | None]:
    try:
        return raw.decode("utf-8-sig").strip(), None
    except UnicodeDecodeError:
        return None, "label is not UTF-8 text"


def _metadata(raw: bytes, sample: Sample) -> str | None:
    """The top-level values of a ``.json`` member as metadata; the reason when it is not a JSON object."""
    try:
        value = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        return f"metadata is not valid JSON ({exc})"
    if not isinstance(value, dict):
        return f"metadata is a JSON {type(value).__name__}, not an object"
    for key, item in value.items():
        scalar = item is None or isinstance(item, (str, int, float, bool))
        sample.metadata[str(key)] = item if scalar else json.dumps(item, ensure_ascii=False)
    return None


class _Reader:
    """Reads the small members (labels, metadata) while the shard is listed, through one open file."""

    def __init__(self, shard: str):
        self.shard, self.fh = shard, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.fh is not None:
            self.fh.close()

    def small(self, member: TarMember) -> tuple[bytes, str | None]:
        if member.size > _MAX_SMALL:
            return b"", f"member is {member.size:,} bytes, larger than the {_MAX_SMALL:,} read for labels and metadata"
        try:
            if self.fh is None:
                self.fh = open(self.shard, "rb")
            self.fh.seek(member.offset)
            return self.fh.read(member.size), None
        except OSError as exc:
            return b"", f"cannot read the member ({exc.strerror or exc})"
