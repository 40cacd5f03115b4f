"""What every API function does with its arguments: a table or its file, a value checked by the same
rule as the command's option, a progress bar or a job. A wrong argument is a ValueError (TypeError
for a wrong kind of thing, FileNotFoundError for a missing file) naming it and the reason."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from mmstudio.core.tables.table import EmbeddingTable


def as_table(value, name: str = "table") -> tuple[EmbeddingTable, str]:
    """``(table, where)``: an :class:`EmbeddingTable` as it is (``where`` is ""), or the one a table
    file or folder of shards holds (``where`` is the path as given)."""
    if isinstance(value, EmbeddingTable):
        return value, ""
    if isinstance(value, (str, os.PathLike)):
        path = Path(value).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"{value}: no such file or folder")
        return EmbeddingTable.read(path), str(value)   # TableFormatError (a ValueError) names the file and why
    raise TypeError(f"{name}: expected an EmbeddingTable or the path of a table (.parquet, .npz or a folder of "
                    f"Parquet shards), not {type(value).__name__}")


def checked(name: str, value, parse):
    """``value`` through the command line's parser for the same option (``mmstudio.cli.argtypes``):
    the same type and range, the same reason when it is refused."""
    import argparse

    if isinstance(value, bool):
        raise ValueError(f"{name}={value!r}: give a number")
    try:
        return parse(str(value))
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"{name}={value!r}: {exc}") from None


def choice(name: str, value, choices):
    if value not in choices:
        raise ValueError(f"{name}={value!r}: choose one of {', '.join(map(repr, choices))}")
    return value


@contextmanager
def job_for(progress, label: str):
    """The job a long function reports to: a progress bar on a terminal (``progress=None``), always
    (``True``), never (``False``), or the caller's own :class:`~mmstudio.core.jobs.Job` (to cancel it
    from another thread, or to watch it)."""
    from mmstudio.core.jobs import Job, TqdmJob

    if isinstance(progress, Job):
        yield progress
        return
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress: expected None, True, False or a mmstudio.core.jobs.Job, not "
                        f"{type(progress).__name__}")
    job = TqdmJob(label, enabled=progress)
    try:
        yield job
    finally:
        job.close()
