"""Embedding tables on disk: Parquet (the main format) and NPZ, chosen by the file's suffix.

Parquet columns: ``sample_id``, ``modality``, ``path``, ``label``, the extra columns,
``embedding`` (fixed-size list of float32) and ``error`` (null on embedded rows; on an error
row the embedding is null and ``error`` holds the reason). The model name, dimension and
other facts live in the schema metadata under the key ``mmstudio``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from mmstudio.core.errors import ItemError
from mmstudio.core.table import BASE_COLUMNS, EmbeddingTable

FORMAT_VERSION = 1
META_KEY = b"mmstudio"


class TableFormatError(ValueError):
    """A file that is not a readable embedding table; the message names the file and why."""


def _meta(table: EmbeddingTable) -> dict:
    return {"format": FORMAT_VERSION, "model": table.model, "dim": table.dim, "rows": len(table),
            "columns": list(table.columns), "info": table.info}


# --------------------------------------------------------------------------- Parquet
def write_parquet(table: EmbeddingTable, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n_ok, n_err, dim = len(table), len(table.errors), table.dim
    err = table.errors

    def strings(good, bad):
        return pa.array(list(good) + list(bad), type=pa.string())

    arrays = {
        "sample_id": strings(table.sample_id, [e.sample_id for e in err]),
        "modality": strings(table.modality, [e.modality for e in err]),
        "path": strings(table.path, [e.path for e in err]),
        "label": strings(table.label, [None] * n_err),
    }
    for name, values in table.columns.items():
        if values.dtype.kind == "f":
            arrays[name] = pa.array(np.concatenate([values, np.full(n_err, np.nan)]), type=pa.float64())
        else:
            arrays[name] = strings(values, [None] * n_err)
    flat = pa.array(np.concatenate([table.vectors.reshape(-1), np.zeros(n_err * dim, np.float32)]))
    missing = pa.array(np.r_[np.zeros(n_ok, bool), np.ones(n_err, bool)])
    arrays["embedding"] = pa.FixedSizeListArray.from_arrays(flat, dim, mask=missing)
    arrays["error"] = strings([None] * n_ok, [e.reason for e in err])
    schema_meta = {META_KEY: json.dumps(_meta(table)).encode()}
    arrow = pa.table(arrays).replace_schema_metadata(schema_meta)
    _atomic(path, lambda tmp: pq.write_table(arrow, tmp, compression="zstd"))


def read_parquet(path: Path) -> EmbeddingTable:
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(path, memory_map=True)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise TableFormatError(f"{path}: not a readable Parquet file ({exc})") from exc
    meta = json.loads((arrow.schema.metadata or {}).get(META_KEY, b"{}"))
    if "embedding" not in arrow.column_names:
        raise TableFormatError(f"{path}: no 'embedding' column; is it an mmstudio table?")
    data = {name: arrow.column(name) for name in arrow.column_names}
    error = data.pop("error").to_pylist() if "error" in data else [None] * arrow.num_rows
    ok = np.array([e is None for e in error], dtype=bool)
    vectors = _vectors(data.pop("embedding"), ok, path)
    base = {name: _strings(data.pop(name)) if name in data else np.full(arrow.num_rows, None, object)
            for name in BASE_COLUMNS}
    columns = {name: _column(col) for name, col in data.items()}
    errors = [ItemError(base["path"][i], base["modality"][i], error[i], base["sample_id"][i])
              for i in np.flatnonzero(~ok)]
    return EmbeddingTable(
        *(base[name][ok] for name in BASE_COLUMNS), vectors,
        {name: values[ok] for name, values in columns.items()},
        model=meta.get("model", ""), info=meta.get("info", {}), errors=errors,
    )


def _vectors(column, ok, path) -> np.ndarray:
    import pyarrow as pa

    column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if pa.types.is_fixed_size_list(column.type):
        dim = column.type.list_size
        flat = column.flatten() if column.offset else column.values
        vectors = flat.to_numpy(zero_copy_only=False).reshape(-1, dim)[: len(ok)]
        return np.asarray(vectors[ok], dtype=np.float32)
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        good = [v for v, keep in zip(column.to_pylist(), ok) if keep]
        lengths = {len(v) for v in good}
        if len(lengths) > 1:
            raise TableFormatError(f"{path}: embeddings have different lengths {sorted(lengths)}")
        return np.asarray(good, dtype=np.float32).reshape(len(good), -1)
    raise TableFormatError(f"{path}: 'embedding' column is {column.type}, not a list of floats")


def _strings(column) -> np.ndarray:
    out = np.empty(len(column), dtype=object)
    out[:] = column.to_pylist()
    return out


def _column(column) -> np.ndarray:
    import pyarrow as pa

    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        return column.to_numpy().astype(np.float64)
    return _strings(column.cast(pa.string()) if not pa.types.is_string(column.type) else column)


# --------------------------------------------------------------------------- NPZ
def write_npz(table: EmbeddingTable, path: Path) -> None:
    def text(values):
        return np.array(["" if v is None else str(v) for v in values], dtype=str)

    arrays = {name: text(getattr(table, name)) for name in BASE_COLUMNS}
    arrays["embedding"] = table.vectors
    for name, values in table.columns.items():
        arrays[f"column/{name}"] = values if values.dtype.kind == "f" else text(values)
    for field in ("sample_id", "modality", "path", "reason"):
        arrays[f"error/{field}"] = text(getattr(e, field) for e in table.errors)
    arrays["mmstudio"] = np.array(json.dumps(_meta(table)))

    def save(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    _atomic(path, save)


def read_npz(path: Path) -> EmbeddingTable:
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except Exception as exc:
        raise TableFormatError(f"{path}: not a readable NPZ file ({exc})") from exc
    if "embedding" not in data:
        raise TableFormatError(f"{path}: no 'embedding' array; is it an mmstudio table?")
    meta = json.loads(str(data.get("mmstudio", "{}")))
    n = len(data["embedding"])

    def objects(values):
        out = np.empty(len(values), dtype=object)
        out[:] = [v if v else None for v in values.tolist()]
        return out

    base = [objects(data[name]) if name in data else np.full(n, None, object) for name in BASE_COLUMNS]
    columns = {k.split("/", 1)[1]: v if v.dtype.kind == "f" else objects(v)
               for k, v in data.items() if k.startswith("column/")}
    fields = [objects(data.get(f"error/{f}", np.array([], str))) for f in ("path", "modality", "reason", "sample_id")]
    errors = [ItemError(*row) for row in zip(*fields)]
    return EmbeddingTable(*base, data["embedding"], columns, model=meta.get("model", ""),
                          info=meta.get("info", {}), errors=errors)


# --------------------------------------------------------------------------- registry
WRITERS = {".parquet": write_parquet, ".npz": write_npz}
READERS = {".parquet": read_parquet, ".npz": read_npz}


def write_table(table: EmbeddingTable, path) -> None:
    path = Path(path)
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise TableFormatError(f"{path}: cannot write {path.suffix or 'a file without suffix'}; "
                               f"use {' or '.join(WRITERS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer(table, path)


def read_table(path) -> EmbeddingTable:
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise TableFormatError(f"{path}: cannot read {path.suffix or 'a file without suffix'}; "
                               f"use {' or '.join(READERS)}")
    if not path.is_file():
        raise TableFormatError(f"{path}: no such file")
    return reader(path)


def _atomic(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: never a half file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
