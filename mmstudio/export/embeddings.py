"""Embedding tables written for other tools: Parquet, CSV, NPZ and a TensorBoard projector folder.

All rows or a selection (row indices). Every format carries the same item columns, in this order:
``sample_id``, ``modality``, ``path``, ``label``, then ``x`` and ``y`` when the table has a 2-D
layout (``mmstudio project``, the window), then the other metadata columns as the table holds them.

- **Parquet** and **NPZ** are the table's own files (:mod:`mmstudio.core.tables.files`), so
  ``mmstudio`` reopens them; pyarrow and ``numpy.load`` read them as they are.
- **CSV**: one row per item, a header, UTF-8, the item columns followed by the vector as one
  number column per dimension, ``e0`` … ``e{D-1}`` (float32 values written with 9 significant
  digits, so they read back exactly). Blank cells are missing values. With pandas:
  ``df = pd.read_csv(f); X = df.filter(regex=r"^e\\d+$").to_numpy()``.
- **TensorBoard**: see :mod:`mmstudio.export.projector`.

Exporters are a registry, name → function ``(table, path, job) -> list of notes``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from mmstudio.core.atomic import atomic_write
from mmstudio.core.jobs import Job
from mmstudio.core.names import shown
from mmstudio.core.tables.table import BASE_COLUMNS, EmbeddingTable

LAYOUT_COLUMNS = ("x", "y")
_VECTOR_NAME = re.compile(r"e\d+")


@dataclass
class ExportResult:
    """What an export wrote: the path, the rows and anything a user should know (unreadable images…)."""

    path: Path
    format: str
    rows: int
    notes: list[str] = field(default_factory=list)


def select_rows(table: EmbeddingTable, rows=None) -> EmbeddingTable:
    """All rows (``None``) or the given row indices / boolean mask, in the order given.

    A selection drops the table's error rows: they are not items of the selection."""
    if rows is None:
        return table
    idx = np.asarray(rows)
    if idx.dtype == bool:
        if len(idx) != len(table):
            raise ValueError(f"the selection mask has {len(idx)} entries, the table {len(table)} rows")
        idx = np.flatnonzero(idx)
    elif idx.size and idx.dtype.kind not in "iu":
        raise ValueError(f"row indices must be integers, not {idx.dtype}")
    idx = idx.astype(np.int64).reshape(-1)
    if not len(idx):
        raise ValueError("nothing is selected")
    bad = idx[(idx < 0) | (idx >= len(table))]
    if len(bad):
        raise ValueError(f"row {int(bad[0])} is out of range: the table has {len(table)} rows")
    picked = table.take(idx)
    picked.errors = []
    return picked


def item_columns(table: EmbeddingTable) -> list[tuple[str, np.ndarray]]:
    """(name, values) of every non-vector column, in the order all exports use."""
    out = [(name, getattr(table, name)) for name in BASE_COLUMNS]
    out += [(name, table.columns[name]) for name in LAYOUT_COLUMNS if name in table.columns]
    out += [(name, values) for name, values in table.columns.items() if name not in LAYOUT_COLUMNS]
    return out


def cell(value) -> str:
    """One value as text: blanks for None and NaN, whole floats without ``.0``, others round-trip exact;
    a file name that is not UTF-8 with U+FFFD for its stray bytes (text files are UTF-8)."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    return shown(str(value))


# --------------------------------------------------------------------------- formats
def write_parquet(table: EmbeddingTable, path: Path, job=None) -> list[str]:
    from mmstudio.core.tables.files import write_parquet as write

    write(table, path)
    return []


def write_npz(table: EmbeddingTable, path: Path, job=None) -> list[str]:
    from mmstudio.core.tables.files import write_npz as write

    write(table, path)
    return []


def csv_header(table: EmbeddingTable) -> list[str]:
    names = [name for name, _ in item_columns(table)]
    vector_names = [f"e{i}" for i in range(table.dim)]
    return _unique(names, reserved=set(vector_names)) + vector_names


def write_csv(table: EmbeddingTable, path: Path, job=None, chunk: int = 4096) -> list[str]:
    job = job or Job()
    columns = [values for _, values in item_columns(table)]
    numbers = "".join(["," + "%.9g"] * table.dim)  # the vector: one formatted run per row, no quoting needed

    def write(tmp):
        line = io.StringIO()
        cells = csv.writer(line, lineterminator="\n")  # "\n" as terminator: values holding one are quoted

        def item_cells(values) -> str:
            line.seek(0)
            line.truncate()
            cells.writerow(values)
            return line.getvalue()[:-1]

        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(item_cells(csv_header(table)))
            for start in range(0, len(table), chunk):
                job.check()
                job.progress(start, len(table))
                for i in range(start, min(start + chunk, len(table))):
                    fh.write("\n" + item_cells([cell(values[i]) for values in columns]))
                    fh.write(numbers % tuple(table.vectors[i].tolist()))
            fh.write("\n")

    atomic_write(path, write)
    return []


def _unique(names: list[str], reserved: set[str]) -> list[str]:
    """Metadata names that would clash with a vector column (``e3``) get a ``meta_`` prefix."""
    out, seen = [], set(reserved)
    for name in names:
        new = name
        while new in seen or _VECTOR_NAME.fullmatch(new):
            new = f"meta_{new}"
        seen.add(new)
        out.append(new)
    return out


def write_tensorboard(table: EmbeddingTable, path: Path, job=None, **options) -> list[str]:
    from mmstudio.export.projector import write_projector

    return write_projector(table, path, job=job, **options)


@dataclass(frozen=True)
class ExportFormat:
    name: str                  # what --format takes
    title: str                 # what a file dialog shows
    suffix: str                # "" for a folder
    write: Callable


# every export format, once: the command line's choices and the window's file types come from here
FORMATS = {f.name: f for f in (
    ExportFormat("parquet", "Parquet", ".parquet", write_parquet),
    ExportFormat("csv", "CSV", ".csv", write_csv),
    ExportFormat("npz", "NumPy", ".npz", write_npz),
    ExportFormat("tensorboard", "TensorBoard projector folder", "", write_tensorboard),
)}
EXPORTERS = {name: f.write for name, f in FORMATS.items()}
SUFFIXES = {f.suffix: name for name, f in FORMATS.items() if f.suffix}


def format_for(path) -> str | None:
    """The export format a path's suffix implies (a path without a suffix: a TensorBoard folder)."""
    suffix = Path(path).suffix.lower()
    return SUFFIXES.get(suffix, "tensorboard" if not suffix else None)


def export_table(table: EmbeddingTable, path, fmt: str | None = None, *, rows=None, job=None,
                 **options) -> ExportResult:
    """Write ``table`` (or the selected ``rows``) to ``path`` as ``fmt`` (default: from the suffix).

    Raises ValueError for an unknown format or a bad selection; OSError when the file cannot be written."""
    job = job or Job()
    path = Path(path)
    fmt = fmt or format_for(path)
    if fmt not in EXPORTERS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORTERS)}")
    picked = select_rows(table, rows)
    if fmt == "tensorboard":
        notes = EXPORTERS[fmt](picked, path, job=job, **options)
    else:
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder; give a file name")
        path.parent.mkdir(parents=True, exist_ok=True)
        notes = EXPORTERS[fmt](picked, path, job=job)
    job.progress(len(picked), len(picked))
    return ExportResult(path, fmt, len(picked), notes)
