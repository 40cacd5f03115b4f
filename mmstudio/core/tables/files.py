"""Embedding tables on disk: Parquet (the main format) and NPZ, chosen by the file's suffix.

Parquet columns: ``sample_id``, ``modality``, ``path``, ``label``, the extra columns,
``embedding`` (fixed-size list of float32) and ``error`` (null on embedded rows; on an error
row the embedding is null and ``error`` holds the reason), and, when the table carries token
features, ``token_vectors`` and ``token_info`` (:mod:`mmstudio.core.tables.tokens`). The model name,
dimension and other facts live in the schema metadata under the key ``mmstudio``. A folder of such Parquet
files (the shards ``mmstudio embed --engine ray`` writes, ``part-00000.parquet``…) reads as one table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmstudio.core.atomic import atomic_write
from mmstudio.core.errors import ItemError
from mmstudio.core.names import is_utf8, path_bytes, path_text, shown
from mmstudio.core.tables.categories import attach
from mmstudio.core.tables.checks import TableFormatError, check_finite, check_samples, check_vectors, parse_meta
from mmstudio.core.tables.table import BASE_COLUMNS, EmbeddingTable
from mmstudio.core.tables.tokens import INFO, VECTORS, read_tokens, token_arrays

FORMAT_VERSION = 1
META_KEY = b"mmstudio"
PATH_BYTES = "path_bytes"  # the exact bytes of paths that are not valid UTF-8 (null on every other row)
STRING_SLICE = 65_536      # distinct strings made into Python objects per call (each call holds the GIL)

__all__ = ["TableFormatError", "read_table", "write_table", "is_table_path", "is_table_folder", "is_embedding_parquet",
           "is_embedding_schema", "shard_files"]


def _meta(table: EmbeddingTable) -> dict:
    meta = {"format": FORMAT_VERSION, "model": table.model, "dim": table.dim, "rows": len(table),
            "columns": list(table.columns), "info": table.info}
    if table.tokens is not None:
        meta["tokens"] = True
    return meta


def _text(value):
    """A value of a text column as UTF-8-safe text (file names that are not UTF-8 shown with U+FFFD)."""
    if value is None:
        return None
    return shown(value if isinstance(value, str) else str(value))


# --------------------------------------------------------------------------- Parquet
def write_parquet(table: EmbeddingTable, path: Path) -> None:
    """One Parquet file with page checksums (verified on reading: a flipped byte is an error, not a wrong vector)."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    n_ok, n_err, dim = len(table), len(table.errors), table.dim
    err = table.errors

    def strings(good, bad):
        return pa.array([_text(v) for v in good] + [_text(v) for v in bad], type=pa.string())

    paths = list(table.path) + [e.path for e in err]
    arrays = {
        "sample_id": strings(table.sample_id, [e.sample_id for e in err]),
        "modality": strings(table.modality, [e.modality for e in err]),
        "path": strings(paths, []),
        "label": strings(table.label, [None] * n_err),
    }
    if any(isinstance(p, str) and not is_utf8(p) for p in paths):
        arrays[PATH_BYTES] = pa.array([path_bytes(p) if isinstance(p, str) and not is_utf8(p) else None
                                       for p in paths], type=pa.binary())
    for name, values in table.columns.items():
        if values.dtype.kind == "f":
            arrays[name] = pa.array(np.concatenate([values, np.full(n_err, np.nan)]), type=pa.float64())
        else:
            arrays[name] = strings(values, [None] * n_err)
    flat = pa.array(np.concatenate([table.vectors.reshape(-1), np.zeros(n_err * dim, np.float32)]))
    missing = pa.array(np.r_[np.zeros(n_ok, bool), np.ones(n_err, bool)])
    arrays["embedding"] = pa.FixedSizeListArray.from_arrays(flat, dim, mask=missing)
    arrays["error"] = strings([None] * n_ok, [e.reason for e in err])
    if table.tokens is not None:
        arrays[VECTORS], arrays[INFO] = token_arrays(table.tokens, n_err)
    schema_meta = {META_KEY: json.dumps(_meta(table)).encode()}
    arrow = pa.table(arrays).replace_schema_metadata(schema_meta)
    atomic_write(path, lambda tmp: pq.write_table(arrow, tmp, compression="zstd", write_page_checksum=True))


def _read_arrow(file):
    import pyarrow.parquet as pq

    try:
        return pq.read_table(file, memory_map=True, page_checksum_verification=True)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise TableFormatError(f"{file}: not a readable Parquet file ({exc})") from exc


def read_parquet(path: Path) -> EmbeddingTable:
    arrow = _read_arrow(path)
    meta = parse_meta((arrow.schema.metadata or {}).get(META_KEY), path)
    if "embedding" not in arrow.column_names:
        raise TableFormatError(f"{path}: no 'embedding' column; is it an mmstudio table?")
    return _from_arrow(arrow, meta, path)


def _from_arrow(arrow, meta: dict, path) -> EmbeddingTable:
    import pyarrow as pa

    data = {name: arrow.column(name) for name in arrow.column_names}
    n = arrow.num_rows
    error = _strings(data.pop("error"), "error", path) if "error" in data else np.full(n, None, object)
    ok = np.equal(error, None)
    all_ok = bool(ok.all())
    vectors = _vectors(data.pop("embedding"), ok, path)
    coded = {name: _coded_strings(data.pop(name), name, path) for name in BASE_COLUMNS if name in data}
    base = {name: coded[name][0] if name in coded else np.full(n, None, object) for name in BASE_COLUMNS}
    raw = data.pop(PATH_BYTES, None)
    if raw is not None and (pa.types.is_binary(raw.type) or pa.types.is_large_binary(raw.type)):
        for i, value in enumerate(raw.to_pylist()):
            if value is not None:
                base["path"][i] = path_text(value)
    elif raw is not None:  # someone else's column of that name: kept, as a manifest's would be
        data[f"meta_{PATH_BYTES}"] = raw
    check_finite(vectors, *((base["sample_id"], base["modality"]) if all_ok else (base["sample_id"][ok],
                                                                                base["modality"][ok])), path)
    tokens = None
    if meta.get("tokens") and VECTORS in data and INFO in data:
        every = read_tokens(data.pop(VECTORS), data.pop(INFO), base["modality"], path)
        tokens = [every[i] for i in np.flatnonzero(ok)]
    for name in (VECTORS, INFO):   # someone else's columns of those names: kept, renamed as a manifest's would be
        if name in data:
            data[f"meta_{name}"] = data.pop(name)
    extra = {name: _column(col, name, path) for name, col in data.items()}
    coded.update((name, found) for name, found in extra.items() if found[1] is not None)
    columns = {name: values for name, (values, _) in extra.items()}
    errors = [ItemError(base["path"][i], base["modality"][i], error[i], base["sample_id"][i])
              for i in np.flatnonzero(~ok)]
    try:
        table = EmbeddingTable(
            *(base[name] if all_ok else base[name][ok] for name in BASE_COLUMNS), vectors,
            {name: values if all_ok else values[ok] for name, values in columns.items()},
            model=meta.get("model", ""), info=meta.get("info", {}), errors=errors, tokens=tokens,
        )
    except ValueError as exc:
        raise TableFormatError(f"{path}: {exc}") from None
    if all_ok:   # the columns are the arrays read: their categories hold as they are
        for name, (_, found) in coded.items():
            if found is not None and not (name == "path" and raw is not None):   # paths rewritten from their bytes
                attach(table, name, found)
    check_samples(table, path)
    return table


def _vectors(column, ok, path) -> np.ndarray:
    """The embedded rows' vectors: a (fixed-size) list of numbers, one length, no nulls."""
    import pyarrow as pa

    kind = column.type
    if not (pa.types.is_fixed_size_list(kind) or pa.types.is_list(kind) or pa.types.is_large_list(kind)) or not (
            pa.types.is_floating(kind.value_type) or pa.types.is_integer(kind.value_type)):
        raise TableFormatError(f"{path}: 'embedding' column is {kind}, not a list of numbers")
    nulls = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if (nulls & ok).any():
        raise TableFormatError(f"{path}: {int((nulls & ok).sum())} rows have neither an embedding nor an error")
    if pa.types.is_fixed_size_list(kind):  # chunk by chunk: shards cost one copy, not two
        dim = kind.list_size
        parts = [_fixed_rows(chunk, dim) for chunk in column.chunks]
        values = np.concatenate([v for v, _ in parts]) if parts else np.zeros((0, dim), np.float32)
        holes = np.concatenate([h for _, h in parts]) if parts else np.zeros(0, bool)
        if (holes & ok).any():
            raise TableFormatError(f"{path}: {int((holes & ok).sum())} embeddings hold empty (null) numbers")
        return check_vectors(values.astype(np.float32, copy=False) if ok.all() else values[ok], path)
    good = column.filter(pa.array(ok)).combine_chunks()
    lengths = np.unique(np.asarray(good.value_lengths().to_numpy(zero_copy_only=False)))
    if len(lengths) > 1:
        raise TableFormatError(f"{path}: embeddings have different lengths {lengths.tolist()}")
    flat = good.flatten()
    if flat.null_count:
        raise TableFormatError(f"{path}: {flat.null_count} empty (null) numbers inside the embeddings")
    dim = int(lengths[0]) if len(lengths) else 0
    return check_vectors(np.asarray(flat.to_numpy(zero_copy_only=False), dtype=np.float32).reshape(len(good), dim), path)


def _fixed_rows(chunk, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed-size-list chunk's rows (null slots included, as written) and which rows hold a null number."""
    values = chunk.values.slice(chunk.offset * dim, len(chunk) * dim)
    rows = values.to_numpy(zero_copy_only=False).reshape(len(chunk), dim)
    holes = np.zeros(len(chunk), bool)
    if values.null_count:
        holes = np.asarray(values.is_null().to_numpy(zero_copy_only=False), bool).reshape(len(chunk), dim).any(axis=1)
    return rows, holes


def _strings(column, name, path) -> np.ndarray:
    return _coded_strings(column, name, path)[0]


def _coded_strings(column, name, path):
    """A text column as an object array, and its :class:`~mmstudio.core.tables.categories.Categories`
    (None for a column of nulls only)."""
    import pyarrow as pa

    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type) or pa.types.is_null(column.type)
            or (pa.types.is_dictionary(column.type) and pa.types.is_string(column.type.value_type))):
        raise TableFormatError(f"{path}: column '{name}' is {column.type}, not text")
    if pa.types.is_null(column.type):
        return np.full(len(column), None, dtype=object), None
    if pa.types.is_dictionary(column.type):
        column = column.cast(pa.string())
    # each distinct string made once and shared by its rows (a million rows of 30 labels: 30 objects, not a
    # million), through Arrow's hash table, a slice at a time: no single call holds the GIL for long
    import pyarrow.compute as pc

    from mmstudio.core.tables.categories import from_encoded

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    encoded = (pa.concat_arrays(chunks) if chunks else pa.array([], pa.string())).dictionary_encode()
    distinct = encoded.dictionary
    names = np.empty(len(distinct) + 1, dtype=object)     # the last one: None, for the rows without a value
    for start in range(0, len(distinct), STRING_SLICE):
        part = distinct.slice(start, STRING_SLICE).to_pylist()
        names[start:start + len(part)] = part
    first_seen = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    values = np.empty(len(first_seen), dtype=object)
    for start in range(0, len(values), STRING_SLICE):   # an object gather holds the GIL: a slice at a time
        values[start:start + STRING_SLICE] = names[first_seen[start:start + STRING_SLICE]]
    # the column's categories come with it (kept on the table: colouring and filtering read them)
    return values, from_encoded(names[:-1], first_seen, pc.array_sort_indices(distinct))


def _column(column, name, path):
    """An extra column as numbers (float64) or text (objects), and a text column's categories (else None)."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_floating(kind) or pa.types.is_integer(kind):
        return column.to_numpy().astype(np.float64), None
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
        return _coded_strings(column, name, path)
    try:
        return _coded_strings(column.cast(pa.string()), name, path)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise TableFormatError(f"{path}: column '{name}' is {kind}, which mmstudio cannot show ({exc})") from None


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

    files = shard_files(folder)
    if not files:
        raise TableFormatError(f"{folder}: a folder without Parquet shards (*.parquet)")

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(8, len(files))) as pool:
        parts = list(pool.map(_read_arrow, files))
    first = None
    for file, part in zip(files, parts):
        meta = parse_meta((part.schema.metadata or {}).get(META_KEY), file)
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
    """Text columns as NumPy unicode arrays (they hold any file name exactly), metadata as JSON text."""
    import json

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

    atomic_write(path, save)


def read_npz(path: Path) -> EmbeddingTable:
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except Exception as exc:
        raise TableFormatError(f"{path}: not a readable NPZ file ({exc})") from exc
    if "embedding" not in data:
        raise TableFormatError(f"{path}: no 'embedding' array; is it an mmstudio table?")
    raw_meta = data.get("mmstudio")
    if raw_meta is not None and (raw_meta.ndim != 0 or raw_meta.dtype.kind != "U"):
        raise TableFormatError(f"{path}: its 'mmstudio' metadata is a {raw_meta.dtype} array, not JSON text")
    meta = parse_meta(None if raw_meta is None else raw_meta.item(), path)
    vectors = check_vectors(data["embedding"], path)
    n = len(vectors)

    def texts(name, length=n):
        values = data.get(name)
        if values is None:
            return np.full(length or 0, None, object)
        if values.ndim != 1 or (values.dtype.kind != "U" and len(values)):
            raise TableFormatError(f"{path}: array '{name}' holds {values.dtype} values of shape {values.shape}, "
                                   "not one text per row")
        if length is not None and len(values) != length:
            raise TableFormatError(f"{path}: array '{name}' has {len(values)} rows, the embeddings {length}")
        out = np.empty(len(values), dtype=object)
        out[:] = [v if v else None for v in values.tolist()]
        return out

    base = [texts(name) for name in BASE_COLUMNS]
    columns = {}
    for key, values in data.items():
        if not key.startswith("column/"):
            continue
        if values.dtype.kind in "fiu" and values.shape == (n,):
            columns[key.split("/", 1)[1]] = values.astype(np.float64)
        else:
            columns[key.split("/", 1)[1]] = texts(key)
    fields = [texts(f"error/{f}", None) for f in ("path", "modality", "reason", "sample_id")]
    if len({len(f) for f in fields}) > 1:
        raise TableFormatError(f"{path}: the error arrays have different lengths {[len(f) for f in fields]}")
    errors = [ItemError(*row) for row in zip(*fields)]
    check_finite(vectors, base[0], base[1], path)
    try:
        table = EmbeddingTable(*base, vectors, columns, model=meta.get("model", ""), info=meta.get("info", {}),
                               errors=errors)
    except ValueError as exc:
        raise TableFormatError(f"{path}: {exc}") from None
    check_samples(table, path)
    return table


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
    """A folder of Parquet shards (what ``mmstudio embed --engine ray`` writes), not of a dataset's files."""
    path = Path(path)
    files = shard_files(path) if path.is_dir() else []
    return bool(files) and is_embedding_parquet(files[0])


def is_table_path(path) -> bool:
    """An embedding table rather than media: a ``.parquet``/``.npz`` file or a folder of Parquet shards
    (a Parquet file of a media dataset, such as a Hugging Face dataset's, is media)."""
    path = Path(path)
    suffix = path.suffix.lower()
    return (path.is_file() and suffix in READERS and (suffix != ".parquet" or is_embedding_parquet(path))) \
        or is_table_folder(path)


def is_embedding_parquet(path) -> bool:
    """Whether a Parquet file holds embeddings (mmstudio's metadata, or an ``embedding`` column) rather
    than a dataset of media (a Hugging Face dataset declares its features under ``huggingface``), told
    from its schema alone. A file whose schema cannot be read counts as a table: its reader says why."""
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception:  # pyarrow raises several types for a file that is not Parquet
        return True
    return is_embedding_schema(schema)


def is_embedding_schema(schema) -> bool:
    """See :func:`is_embedding_parquet`."""
    meta = schema.metadata or {}
    if META_KEY in meta:
        return True
    return b"huggingface" not in meta and "embedding" in schema.names


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

