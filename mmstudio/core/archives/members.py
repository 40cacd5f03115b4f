"""One name for an item inside an archive, and its bytes.

A member path is the archive's path, ``::``, and the member: ``shards/shard-000001.tar::k17.jpg`` (a
tar member) or ``data/train-00000-of-00003.parquet::row 17 image`` (row 17 of that file, column
``image``; rows count from 0 in each file). It travels wherever a file path does (a
:class:`~mmstudio.core.dataset.MediaRef`, the table's ``path`` column, an error row), and every media
reader opens it (:func:`mmstudio.core.media.files.open_source`). The rule is the same everywhere: a
path holding ``::`` whose part before it is an existing ``.tar``, ``.parquet`` or ``.arrow`` file
names a member of that file.
"""

from __future__ import annotations

import os
import re

from mmstudio.core.errors import MediaError

SEPARATOR = "::"
TAR_SUFFIXES = (".tar",)
TABLE_SUFFIXES = (".parquet", ".arrow")
ARCHIVE_SUFFIXES = TAR_SUFFIXES + TABLE_SUFFIXES
_ROW = re.compile(r"row (\d+) (.+)", re.DOTALL)


def member_path(archive, member: str) -> str:
    return f"{archive}{SEPARATOR}{member}"


def cell_member(row: int, column: str) -> str:
    """The member part that names a table cell."""
    return f"row {row} {column}"


def parse_cell(member: str) -> tuple[int, str] | None:
    """``(row, column)`` of a cell's member part; None when it names no cell."""
    found = _ROW.fullmatch(member)
    return (int(found[1]), found[2]) if found else None


def split_member(path) -> tuple[str, str] | None:
    """``(archive, member)`` when ``path`` names a member of an existing archive, else None."""
    text = str(path)
    start = text.find(SEPARATOR)
    while start != -1:
        archive = text[:start]
        if archive.lower().endswith(ARCHIVE_SUFFIXES) and os.path.isfile(archive):
            return archive, text[start + len(SEPARATOR):]
        start = text.find(SEPARATOR, start + 1)
    return None


def member_bytes(path, modality: str | None = None) -> bytes | None:
    """The bytes of the member ``path`` names; None when it names none (an ordinary file path).

    Raises :class:`MediaError` (with ``path``) when the member cannot be read: a tar member that is
    missing or cut short, a row past the end of the table, a null cell."""
    text = str(path)
    if SEPARATOR not in text:
        return None
    parts = split_member(text)
    if parts is None:
        archive = _named_archive(text)
        if archive is None:
            return None
        raise MediaError(text, modality, f"{os.path.basename(archive)} not found")
    archive, member = parts
    if archive.lower().endswith(TAR_SUFFIXES):
        from mmstudio.core.archives.tar import read_tar_member

        return read_tar_member(archive, member, text, modality)
    cell = parse_cell(member)
    if cell is None:
        raise MediaError(text, modality, f"'{member}' names no cell (row N column)")
    from mmstudio.core.archives.tables import read_cell

    return read_cell(archive, *cell, where=text, modality=modality)


def absolute_member(archive, member: str) -> str:
    """The member path with the archive's path made absolute (the member part left exactly as it is)."""
    return member_path(os.path.abspath(archive), member)


def _named_archive(text: str) -> str | None:
    """The archive a member path means, even when that file is gone."""
    start = text.find(SEPARATOR)
    while start != -1:
        if text[:start].lower().endswith(ARCHIVE_SUFFIXES):
            return text[:start]
        start = text.find(SEPARATOR, start + 1)
    return None
