"""Which columns of a Hugging Face dataset hold the images, sounds, captions and labels.

The dataset's own features say it: ``datasets`` writes them into the Arrow schema's metadata
(key ``huggingface`` → ``info.features``) and into ``dataset_info.json``. ``Image`` and ``Audio``
columns are structs of ``bytes`` + ``path``; ``ClassLabel`` holds integers with class names;
``Value("string")`` holds text. Without features, a struct of bytes + path or a binary column is
media (image or audio by the column's name, else by the first cell's bytes) and a string column
is text. The caption column is the first string column with a caption-like name, else the only
string column, else the one with the longest texts in the first rows. Every other scalar column
is metadata. The user's choice (:class:`ColumnChoice`) overrides each pick.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields

TEXT_NAMES = ("caption", "captions", "text", "sentence", "description", "prompt", "transcription", "transcript",
              "title", "alt", "alt_text", "query")
LABEL_NAMES = ("label", "labels", "class", "category", "genre", "target")
IMAGE_NAMES = ("image", "img", "picture", "photo", "jpg", "jpeg", "png", "webp")
AUDIO_NAMES = ("audio", "sound", "speech", "wav", "flac", "mp3", "ogg")


class SourceError(ValueError):
    """A choice the data cannot honour (a column or split that is not there); ``option`` is which
    (``image``, ``audio``, ``text``, ``label``, ``split``)."""

    def __init__(self, option: str, message: str):
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class ColumnChoice:
    """The columns (and split) a user asked for; None leaves each to :func:`choose_columns`."""

    image: str | None = None
    audio: str | None = None
    text: str | None = None
    label: str | None = None
    split: str | None = None

    def given(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


@dataclass
class Columns:
    image: str | None = None
    audio: str | None = None
    text: str | None = None
    label: str | None = None
    class_names: dict[str, list[str]] = field(default_factory=dict)   # ClassLabel column → its names
    metadata: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)   # column → kind (see column_kind)

    def describe(self) -> str:
        picked = [f"{m} from column '{c}'" for m, c in (("images", self.image), ("sounds", self.audio),
                                                        ("captions", self.text), ("labels", self.label)) if c]
        text = ", ".join(picked) or "no image, sound, caption or label column"
        if self.metadata:
            text += "; kept as metadata: " + ", ".join(self.metadata)
        if self.unused:
            text += "; not used: " + ", ".join(self.unused)
        return text


def features_of(schema, info: dict | None = None) -> dict:
    """The ``datasets`` features of a table: from its schema's metadata, else ``dataset_info.json``."""
    raw = (schema.metadata or {}).get(b"huggingface")
    if raw:
        try:
            found = json.loads(raw).get("info", {}).get("features")
            if isinstance(found, dict):
                return found
        except (ValueError, AttributeError):
            pass
    found = (info or {}).get("features")
    return found if isinstance(found, dict) else {}


def column_kind(arrow_type, feature) -> str:
    """``image``, ``audio``, ``bytes`` (media of unknown modality), ``string``, ``label`` (ClassLabel),
    ``scalar`` (numbers, booleans, dates) or ``other`` (lists, structs…)."""
    import pyarrow as pa

    declared = feature.get("_type") if isinstance(feature, dict) else None
    if declared in ("Image", "Audio") and _is_media_storage(arrow_type):
        return declared.lower()
    if declared == "ClassLabel" and pa.types.is_integer(arrow_type):
        return "label"
    if _is_media_storage(arrow_type):
        return "bytes"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_dictionary(arrow_type):
        return "scalar"
    if (pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_boolean(arrow_type)
            or pa.types.is_temporal(arrow_type) or pa.types.is_decimal(arrow_type)):
        return "scalar"
    return "other"


def _is_media_storage(arrow_type) -> bool:
    import pyarrow as pa

    def binary(t):
        return pa.types.is_binary(t) or pa.types.is_large_binary(t)

    if binary(arrow_type):
        return True
    if pa.types.is_struct(arrow_type):
        index = arrow_type.get_field_index("bytes")
        return index >= 0 and binary(arrow_type.field(index).type)
    return False


def choose_columns(schema, features: dict, choice: ColumnChoice, where: str, sniff, text_lengths) -> Columns:
    """The columns to read. ``sniff(column)`` tells the modality of a bytes column from a cell
    ("image", "audio" or None); ``text_lengths(columns)`` gives the mean length of each string column
    in the first rows. A choice naming a column that is missing or of the wrong kind raises
    :class:`SourceError`."""
    names = [n for n in schema.names if not n.startswith("__index_level_")]   # pandas' saved index
    declared = {name: column_kind(schema.field(name).type, features.get(name)) for name in names}
    kinds = {name: (_by_name(name) or sniff(name) or kind) if kind == "bytes" else kind
             for name, kind in declared.items()}
    cols = Columns(kinds=kinds)
    for option, accepts in (("image", ("image", "bytes")), ("audio", ("audio", "bytes")),
                            ("text", ("string",)), ("label", ("label", "string", "scalar"))):
        wanted = getattr(choice, option)
        if wanted is None:
            continue
        if wanted not in kinds:
            raise SourceError(option, f"{where}: no column '{wanted}' (its columns: {', '.join(names)})")
        if declared[wanted] not in accepts:
            raise SourceError(option, f"{where}: column '{wanted}' holds {schema.field(wanted).type}, "
                                      f"not {'bytes' if option in ('image', 'audio') else 'text' if option == 'text' else 'values'}")
        setattr(cols, option, wanted)
        kinds[wanted] = option if option in ("image", "audio") else kinds[wanted]
    taken = {c for c in (choice.image, choice.audio, choice.text, choice.label) if c}
    if choice.image is None:
        cols.image = next((n for n in names if kinds[n] == "image" and n not in taken), None)
    if choice.audio is None:
        cols.audio = next((n for n in names if kinds[n] == "audio" and n not in taken), None)
    taken |= {cols.image, cols.audio}
    if choice.label is None:
        cols.label = next((n for n in names if kinds[n] == "label" and n not in taken), None) or \
            next((n for n in names if n.lower() in LABEL_NAMES and kinds[n] in ("string", "scalar") and n not in taken),
                 None)
    taken.add(cols.label)
    if choice.text is None:
        cols.text = _caption_column([n for n in names if kinds[n] == "string" and n not in taken], text_lengths)
    taken.add(cols.text)
    for name in names:
        names_of = (features.get(name) or {}).get("names") if kinds[name] == "label" else None
        if isinstance(names_of, list):
            cols.class_names[name] = [str(n) for n in names_of]
    for name in names:
        if name in taken:
            continue
        if kinds[name] in ("string", "scalar", "label"):
            cols.metadata.append(name)
        else:
            cols.unused.append(f"{name} ({_kind_text(kinds[name], schema.field(name).type)})")
    return cols


def _by_name(name: str) -> str | None:
    low = name.lower()
    if low in IMAGE_NAMES:
        return "image"
    if low in AUDIO_NAMES:
        return "audio"
    return None


def _caption_column(strings: list[str], text_lengths) -> str | None:
    if not strings:
        return None
    for wanted in TEXT_NAMES:
        for name in strings:
            if name.lower() == wanted:
                return name
    if len(strings) == 1:
        return strings[0]
    lengths = text_lengths(strings)
    return max(strings, key=lambda n: (lengths.get(n, 0.0), -strings.index(n)))


def _kind_text(kind: str, arrow_type) -> str:
    if kind in ("image", "audio"):
        return f"another {kind} column"
    if kind == "bytes":
        return "bytes of an unknown kind"
    return str(arrow_type)


def sniff_bytes(data: bytes) -> str | None:
    """``image`` or ``audio`` from a file's first bytes; None when neither is recognised."""
    head = data[:16]
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")) or \
            (head.startswith(b"RIFF") and head[8:12] == b"WEBP"):
        return "image"
    if head.startswith((b"fLaC", b"OggS", b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")) or \
            (head.startswith(b"RIFF") and head[8:12] == b"WAVE"):
        return "audio"
    return None
