"""Arrow and Parquet tables read a piece at a time: their schema, their rows batch by batch, one cell.

Hugging Face datasets keep their data as Parquet (the hub) or as Arrow IPC streams
(``Dataset.save_to_disk``). Arrow files are memory-mapped, so a record batch costs address
space, not memory. A Parquet file is read one row group at a time; the row groups that were
read last are kept (up to :data:`KEPT_BYTES`), so the cells of a batch of items, decoded on
several threads, cost one read of their row group.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections import OrderedDict

from mmstudio.core.errors import MediaError

KEPT_BYTES = 256 << 20  # the Parquet row groups kept for reading cells (the last ones read)
_FILES_KEPT = 16        # open Arrow memory maps and Parquet footers kept


def is_arrow(path) -> bool:
    return str(path).lower().endswith(".arrow")


def read_schema(path):
    """The Arrow schema of a ``.parquet`` or ``.arrow`` file (its footer or its first message only)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not is_arrow(path):
        return pq.read_schema(path)
    with pa.memory_map(str(path)) as source:
        return _arrow_reader(source).schema


def iter_batches(path, columns: list[str], batch_rows: int = 4096):
    """The rows of ``columns`` (a nested field as ``image.path``), one record batch at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not is_arrow(path):
        with pq.ParquetFile(path) as pf:
            yield from pf.iter_batches(batch_size=batch_rows, columns=columns)
        return
    with pa.memory_map(str(path)) as source:
        reader = _arrow_reader(source)
        for batch in _arrow_batches(reader):
            yield _select(batch, columns)


def _arrow_reader(source):
    """An IPC stream reader (what ``save_to_disk`` writes), or a reader of the IPC file format."""
    import pyarrow as pa

    try:
        return pa.ipc.open_stream(source)
    except pa.ArrowInvalid:
        source.seek(0)
        return pa.ipc.open_file(source)


def _arrow_batches(reader):
    if hasattr(reader, "num_record_batches"):  # the IPC file format
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)
    else:
        yield from reader


def _select(batch, columns: list[str]):
    """``columns`` of a record batch; ``a.b`` keeps field ``b`` of struct column ``a`` (as a struct)."""
    import pyarrow as pa

    arrays, names = [], []
    for name in columns:
        if name in batch.schema.names:
            arrays.append(batch.column(name))
            names.append(name)
            continue
        top, child = name.split(".", 1)
        parent = batch.column(top)
        inner = parent.flatten()[parent.type.get_field_index(child)]  # the parent's offset and nulls applied
        arrays.append(pa.StructArray.from_arrays([inner], [child], mask=parent.is_null()))
        names.append(top)
    return pa.RecordBatch.from_arrays(arrays, names=names)


# ------------------------------------------------------------------------- one cell
_lock = threading.Lock()
_files: OrderedDict[str, tuple] = OrderedDict()         # path → (stamp, row starts, parts)
_groups: OrderedDict[tuple, object] = OrderedDict()     # (path, stamp, group, column) → array
_loading: dict[tuple, threading.Lock] = {}


def read_cell(path, row: int, column: str, *, where: str, modality: str | None = None) -> bytes:
    """The bytes of one cell: an Image/Audio struct's ``bytes`` (or, when it stores none, the file
    its ``path`` names), a binary cell, or a string cell as UTF-8. A :class:`MediaError` naming
    ``where`` otherwise."""
    try:
        array, index = _locate(str(path), row, column, where, modality)
        return _cell_bytes(array[index], path, where, modality)
    except MediaError:
        raise
    except OSError as exc:
        raise MediaError(where, modality, f"cannot read {os.path.basename(path)} ({exc.strerror or exc})") from exc
    except Exception as exc:  # pyarrow's errors on a damaged file
        raise MediaError(where, modality, f"cannot read the cell ({type(exc).__name__}: {exc})") from exc


def _locate(path: str, row: int, column: str, where: str, modality):
    st = os.stat(path)
    stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    starts, parts = _file(path, stamp)
    total = starts[-1]
    if not 0 <= row < total:
        raise MediaError(where, modality, f"row {row} is past the end of {os.path.basename(path)} ({total:,} rows)")
    group = bisect.bisect_right(starts, row) - 1
    if is_arrow(path):
        batch = parts[group]
        if column not in batch.schema.names:
            raise MediaError(where, modality, f"no column '{column}' in {os.path.basename(path)}")
        return batch.column(column), row - starts[group]
    return _row_group(path, stamp, parts, group, column, where, modality), row - starts[group]


def _file(path: str, stamp: tuple):
    """Row starts of each record batch / row group (and the batches, or the Parquet footer)."""
    with _lock:
        known = _files.get(path)
        if known is not None and known[0] == stamp:
            _files.move_to_end(path)
            return known[1], known[2]
    import pyarrow as pa
    import pyarrow.parquet as pq

    if is_arrow(path):
        source = pa.memory_map(path)
        parts = list(_arrow_batches(_arrow_reader(source)))  # zero-copy views of the map
        sizes = [b.num_rows for b in parts]
    else:
        parts = pq.read_metadata(path)
        sizes = [parts.row_group(i).num_rows for i in range(parts.num_row_groups)]
    starts = [0]
    for n in sizes:
        starts.append(starts[-1] + n)
    with _lock:
        _files[path] = (stamp, starts, parts)
        _files.move_to_end(path)
        while len(_files) > _FILES_KEPT:
            _files.popitem(last=False)
    return starts, parts


def _row_group(path: str, stamp: tuple, metadata, group: int, column: str, where: str, modality):
    """One column of one row group, read once however many threads want it at the same time."""
    import pyarrow.parquet as pq

    key = (path, stamp, group, column)
    with _lock:
        if key in _groups:
            _groups.move_to_end(key)
            return _groups[key]
        loading = _loading.setdefault(key, threading.Lock())
    with loading:
        with _lock:
            if key in _groups:
                return _groups[key]
        if column not in metadata.schema.to_arrow_schema().names:
            raise MediaError(where, modality, f"no column '{column}' in {os.path.basename(path)}")
        with pq.ParquetFile(path, metadata=metadata) as pf:
            array = pf.read_row_group(group, columns=[column]).column(0).combine_chunks()
        with _lock:
            _groups[key] = array
            _loading.pop(key, None)
            used = sum(a.nbytes for a in _groups.values())
            while len(_groups) > 1 and used > KEPT_BYTES:
                _, old = _groups.popitem(last=False)
                used -= old.nbytes
    return array


def _cell_bytes(cell, path, where: str, modality) -> bytes:
    import pyarrow as pa

    if not cell.is_valid:
        raise MediaError(where, modality, "the cell is empty (null)")
    if isinstance(cell, pa.StructScalar):
        data = cell.get("bytes")
        if data is not None and data.is_valid:
            return data.as_py()
        stored = cell.get("path")
        stored = stored.as_py() if stored is not None and stored.is_valid else None
        if not stored:
            raise MediaError(where, modality, "the cell holds neither bytes nor a path")
        return _stored_file(stored, path, where, modality)
    value = cell.as_py()
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise MediaError(where, modality, f"the cell holds {cell.type}, not bytes or text")


def _stored_file(stored: str, table_path, where: str, modality) -> bytes:
    """A cell that stores only a path (``save_to_disk`` of files that were never embedded): that
    file, absolute or beside the table."""
    candidates = [stored] if os.path.isabs(stored) else [os.path.join(os.path.dirname(str(table_path)), stored), stored]
    for candidate in candidates:
        if os.path.isfile(candidate):
            try:
                with open(candidate, "rb") as fh:
                    return fh.read()
            except OSError as exc:
                raise MediaError(where, modality, f"cannot read {stored} ({exc.strerror or exc})") from exc
    raise MediaError(where, modality, f"no bytes stored, and the path it names ({stored}) is not a file here")
