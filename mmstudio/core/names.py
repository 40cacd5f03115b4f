"""File names that are not valid UTF-8: kept exactly, shown readably.

On Linux a file name is bytes; Python hands back the bytes that are not UTF-8 as lone
surrogates ("surrogate-escaped" text, what ``os.fsdecode`` makes), and such a string opens the
file again but cannot be encoded as UTF-8 (SQLite, Arrow, JSON written as UTF-8 refuse it).
Paths therefore travel as surrogate-escaped text in memory, are stored as their bytes
(``os.fsencode``) wherever UTF-8 is required, and are shown with a replacement character
(U+FFFD) for each byte that is not UTF-8.
"""

from __future__ import annotations

import os


def is_utf8(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 as it is (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(text):
    """``text`` for display and for UTF-8 files: each byte that is not UTF-8 becomes U+FFFD.

    ``None`` and text that is already valid pass through unchanged."""
    if text is None or not isinstance(text, str) or is_utf8(text):
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that no file name made (e.g. from a JSON "\\ud800")
        return text.encode("utf-8", "replace").decode("utf-8")
    return raw.decode("utf-8", "replace")


def path_bytes(path: str) -> bytes:
    """The exact bytes of a path (the inverse of :func:`path_text`)."""
    return os.fsencode(path)


def path_text(raw: bytes) -> str:
    """A path's bytes as the surrogate-escaped text Python's own file functions take."""
    return os.fsdecode(raw)
