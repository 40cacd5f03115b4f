"""Embedding tables on disk: Parquet (the main format) and NPZ, chosen by the file's suffix.

Parquet columns: ``sample_id``, ``modality``, ``path``, ``label``, the extra columns,
``embedding`` (fixed-size list of float32) and ``error`` (null on embedded rows; on an error
row the embedding is null and ``error`` holds the reason). The model name, dimension and
other facts live in the schema metadata under the key ``mmstudio``. A folder of such Parquet
files (the shards ``mmstudio embed --engine ray`` writes, ``part-00000.parquet``…) reads as one table.
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
    return _from_arrow(arrow, meta, path)


def _from_arrow(arrow, meta: dict, path) -> EmbeddingTable:
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

    if pa.types.is_fixed_size_list(column.type) and column.num_chunks > 1:  # shards: one copy, not two
        dim = column.type.list_size
        views = [(c.flatten() if c.offset else c.values).to_numpy(zero_copy_only=False).reshape(-1, dim)[: len(c)]
                 for c in column.chunks]
        vectors = np.concatenate(views).astype(np.float32, copy=False)  # a new, writable array
        return vectors if ok.all() else vectors[ok]
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


# --------------------------------------------------------------------------- a folder of Parquet shards
def shard_files(folder: Path) -> list[Path]:
    """The shards of a table folder, in order: its ``*.parquet`` files (hidden ones are half-written)."""
    return sorted(p for p in Path(folder).glob("*.parquet") if not p.name.startswith((".", "_")) and p.is_file())


def read_parquet_folder(folder: Path) -> EmbeddingTable:
    """Shards written by ``mmstudio embed --engine ray`` (or any Parquet files of one model): one table.

    Each shard is memory-mapped; they must share the model and the dimension. A column that
    some shards lack is blank in their rows.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = shard_files(folder)
    if not files:
        raise TableFormatError(f"{folder}: a folder without Parquet shards (*.parquet)")

    def read(file):
        try:
            return pq.read_table(file, memory_map=True)
        except Exception as exc:
            raise TableFormatError(f"{file}: not a readable Parquet file ({exc})") from exc

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(8, len(files))) as pool:
        parts = list(pool.map(read, files))
    first = None
    for file, part in zip(files, parts):
        meta = json.loads((part.schema.metadata or {}).get(META_KEY, b"{}"))
        if "embedding" not in part.column_names:
            raise TableFormatError(f"{file}: no 'embedding' column; is it an mmstudio table?")
        dim = part.schema.field("embedding").type
        if first is None:
            first = (file, meta, dim)
        elif (meta.get("model"), meta.get("info", {}).get("identity")) != \
                (first[1].get("model"), first[1].get("info", {}).get("identity")):
            raise TableFormatError(f"{folder}: {file.name} and {first[0].name} were embedded by different models")
        elif dim != first[2]:
            raise TableFormatError(f"{folder}: {file.name} has embeddings of type {dim}, {first[0].name} {first[2]}")
    try:
        arrow = pa.concat_tables([p.replace_schema_metadata(None) for p in parts], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise TableFormatError(f"{folder}: shards with clashing columns ({exc})") from exc
    return _from_arrow(arrow, first[1], folder)


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


def is_table_folder(path) -> bool:
    """A folder of Parquet shards (what ``mmstudio embed --engine ray`` writes)."""
    path = Path(path)
    return path.is_dir() and bool(shard_files(path))


def is_table_path(path) -> bool:
    """An embedding table rather than media: a ``.parquet``/``.npz`` file or a folder of Parquet shards."""
    path = Path(path)
    return (path.is_file() and path.suffix.lower() in READERS) or is_table_folder(path)


def read_table(path) -> EmbeddingTable:
    """A ``.parquet`` or ``.npz`` file, or a folder of Parquet shards read as one table."""
    path = Path(path)
    if path.is_dir():
        return read_parquet_folder(path)
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
