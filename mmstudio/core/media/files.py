"""The checks every reader makes before opening a file, with the same reasons everywhere."""

from __future__ import annotations

import io
from pathlib import Path

from mmstudio.core.errors import MediaError


def file_size(path, modality: str, *, allow_empty: bool = False) -> int:
    """The size of a readable regular file; a :class:`MediaError` saying why otherwise."""
    p = Path(path)
    try:
        if p.is_dir():
            raise MediaError(path, modality, "is a folder, not a file")
        size = p.stat().st_size
    except FileNotFoundError:
        raise MediaError(path, modality, "file not found") from None
    except OSError as exc:
        raise MediaError(path, modality, f"cannot read file ({exc.strerror or exc})") from exc
    if size == 0 and not allow_empty:
        raise MediaError(path, modality, "file is empty (0 bytes)")
    return size


def open_source(path, modality: str, *, allow_empty: bool = False) -> tuple[object, int]:
    """What a reader opens, and its size, after the checks: the file's own path, or, when ``path``
    names a member of an archive (``shard.tar::key.jpg``, ``train.parquet::row 17 image``: see
    :mod:`mmstudio.core.archives.members`), its bytes in memory as a file object."""
    from mmstudio.core.archives.members import member_bytes

    data = member_bytes(path, modality)
    if data is None:
        return path, file_size(path, modality, allow_empty=allow_empty)
    if not data and not allow_empty:
        raise MediaError(path, modality, "item is empty (0 bytes)")
    return io.BytesIO(data), len(data)
