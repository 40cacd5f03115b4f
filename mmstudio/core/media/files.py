"""The checks every reader makes before opening a file, with the same reasons everywhere."""

from __future__ import annotations

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
