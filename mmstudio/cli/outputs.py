"""Checking an output path before the work starts, so that an hour of encoding never ends in
"cannot write": the suffix, a folder where a file is wanted, a missing or unwritable parent."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def output_problem(path, suffixes: tuple[str, ...] | None = None, *, make_parents: bool = False,
                   folder: bool = False) -> str | None:
    """Why ``path`` cannot be written (a sentence starting with the path), or None.

    ``suffixes``: the accepted file suffixes (lower case, with the dot). ``make_parents``: a
    missing parent folder will be made, so the nearest existing one must be writable. ``folder``:
    the output is a folder (made when missing) rather than a file.
    """
    target = Path(path).expanduser()
    if not folder and target.is_dir():
        return f"{path} is a folder; give a file name"
    if suffixes is not None and target.suffix.lower() not in suffixes:
        what = target.suffix or "no extension"
        return f"{path}: {what} is not an output format here; use a " + " or ".join(suffixes) + " file"
    if folder and target.exists() and not target.is_dir():
        return f"{path} is a file; give a folder"
    parent = target.parent if str(target.parent) else Path(".")
    if not make_parents and not parent.is_dir():
        return f"{path}: the folder {parent} does not exist" if not parent.exists() else \
            f"{path}: {parent} is not a folder"
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{path}: {existing} is not a folder"
    return _unwritable(path, existing)


def _unwritable(path, folder: Path) -> str | None:
    """Try to create (and remove) a file in ``folder``: the only test that sees read-only mounts,
    pseudo file systems and permissions alike (``os.access`` answers yes to root everywhere)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".mmstudio-probe-", dir=folder)
    except OSError as exc:
        return f"{path}: cannot write in {folder} ({exc.strerror or exc})"
    os.close(fd)
    os.unlink(probe)
    return None
