"""Reading text: a ``.txt`` or ``.md`` file in, a clean Unicode string out.

Encodings tried, in order: a byte-order mark (UTF-8, UTF-16, UTF-32), then strict UTF-8, then, only
when the bytes look like text, cp1252 (or latin-1 for the few bytes cp1252 leaves undefined), with a
note saying so. Binary data is refused. Every failure is a :class:`~mmstudio.core.errors.MediaError`.
Markdown is read as plain text, markup kept.
"""

from __future__ import annotations

import codecs
import io
import os
import re
from dataclasses import dataclass

from mmstudio.core.errors import MediaError
from mmstudio.core.media.files import open_source

MODALITY = "text"

#: Share of control characters (other than tab, newlines, form feed, escape) above which data is binary.
MAX_CONTROL_RATIO = 0.05

_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# C0 controls other than tab, newlines, form feed and escape; DEL; the C1 range (latin-1 decodes to it).
_CONTROL_RE = re.compile("[\x01-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class TextDoc:
    """Decoded text (newlines normalised to ``\\n``, outer whitespace stripped), its encoding, and a note."""

    text: str
    encoding: str
    note: str | None = None


def read_text(path, *, max_bytes: int = 1_000_000) -> TextDoc:
    """Read a text file. Only the first ``max_bytes`` bytes are read; longer files are cut, with a note."""
    if max_bytes <= 0:
        raise ValueError(f"max_bytes must be positive, got {max_bytes}")
    raw, size = _read_head(path, max_bytes)
    truncated = size > max_bytes
    notes = []

    text, encoding = _decode_with_bom(raw, truncated)
    if text is None:
        if b"\x00" in raw:
            raise MediaError(path, MODALITY, "file is binary, not text")
        text, encoding = _decode(raw, "utf-8", truncated), "utf-8"
        if text is None:
            text, encoding = _decode(raw, "cp1252", truncated), "cp1252"
            if text is None:
                text, encoding = raw.decode("latin-1"), "latin-1"
            notes.append(f"not UTF-8; decoded as {encoding}")
    if _looks_binary(text):
        raise MediaError(path, MODALITY, "file is binary, not text")

    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise MediaError(path, MODALITY, "text is empty" + (" (0 bytes)" if size == 0 else " (only whitespace)"))
    if truncated:
        notes.append(f"truncated to the first {max_bytes:,} of {size:,} bytes")
    return TextDoc(text, encoding, "; ".join(notes) or None)


# --- helpers -----------------------------------------------------------------------------------


def _read_head(path, max_bytes: int) -> tuple[bytes, int]:
    """The first ``max_bytes`` bytes and the file's full size, never reading more than needed."""
    source, size = open_source(path, MODALITY, allow_empty=True)
    if isinstance(source, io.BytesIO):  # an archive member, already in memory
        return source.read(max_bytes), size
    try:
        with open(source, "rb") as fp:
            size = os.fstat(fp.fileno()).st_size
            return fp.read(max_bytes), size
    except OSError as exc:
        raise MediaError(path, MODALITY, f"cannot read file ({exc.strerror or exc})") from exc


def _decode_with_bom(raw: bytes, truncated: bool) -> tuple[str | None, str | None]:
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            text = _decode(raw, encoding, truncated)
            if text is not None:
                return text.lstrip("\ufeff"), encoding
    return None, None


def _decode(raw: bytes, encoding: str, truncated: bool) -> str | None:
    """Strict decode; when the bytes were cut short, an incomplete final character is dropped."""
    try:
        return codecs.getincrementaldecoder(encoding)("strict").decode(raw, final=not truncated)
    except (UnicodeDecodeError, UnicodeError):
        return None


def _looks_binary(text: str) -> bool:
    """True when control characters (C0 other than whitespace/escape, DEL, C1) are too common for text."""
    if "\x00" in text:
        return True
    controls = sum(1 for _ in _CONTROL_RE.finditer(text))
    return controls > MAX_CONTROL_RATIO * max(len(text), 1)
