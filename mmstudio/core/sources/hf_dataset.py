"""Hugging Face datasets on disk: ``save_to_disk`` folders (Arrow) and Parquet files as on the hub.

Layouts read:

- a folder written by ``Dataset.save_to_disk``: ``data-00000-of-00001.arrow``… (Arrow IPC
  streams, in the order ``state.json`` lists them), ``dataset_info.json`` (the features) and
  ``state.json``; a ``DatasetDict`` folder: ``dataset_dict.json`` and one such folder per split;
- Parquet (or ``.arrow``) files: one file, or a folder of them at any depth up to
  :data:`MAX_DEPTH` (``data/train-00000-of-00003.parquet``, ``default/train/0000.parquet``).
  The split is the file name's prefix (``train-00000-of-00003``), else a parent folder named
  like a split.

Each row is a sample with id ``split/row`` (rows counted across the split's files); its image,
sound and caption are cells of the table (``file::row N column``, see
:mod:`mmstudio.core.archives.members`) read when they are decoded, never all at once. Rows are
read a record batch at a time, the media columns' bytes not at all (only whether a cell is
null). The label and the metadata columns are read here (:mod:`mmstudio.core.sources.hf_columns`
says which columns are which).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from mmstudio.core.archives.members import TABLE_SUFFIXES, cell_member, member_path
from mmstudio.core.archives.tables import iter_batches, read_cell, read_schema
from mmstudio.core.dataset import Dataset, MediaRef, Sample
from mmstudio.core.errors import ItemError, MediaError
from mmstudio.core.names import shown
from mmstudio.core.sources.hf_columns import (
    ColumnChoice,
    Columns,
    SourceError,
    choose_columns,
    features_of,
    sniff_bytes,
)

MAX_DEPTH = 3
SPLIT_NAMES = ("train", "validation", "valid", "val", "dev", "test", "eval")
_SHARD_NAME = re.compile(r"^(?P<split>.+?)-\d+-of-\d+$")
_NUMBERED = re.compile(r"^(?P<split>[A-Za-z_]+)[-_]\d+$")
_SNIFF_ROWS = 20


def is_saved_dataset(folder) -> bool:
    """A folder written by ``save_to_disk`` (a Dataset or a DatasetDict)."""
    folder = Path(folder)
    return (folder / "dataset_dict.json").is_file() or \
        ((folder / "state.json").is_file() and (folder / "dataset_info.json").is_file())


def table_files(folder) -> list[Path]:
    """The ``.parquet`` and ``.arrow`` files of a folder, at most :data:`MAX_DEPTH` levels down, sorted
    (hidden files and folders skipped)."""
    found = []
    root = Path(folder)
    for directory, subdirs, files in os.walk(root):
        depth = len(Path(directory).relative_to(root).parts)
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and depth < MAX_DEPTH)
        found += [Path(directory) / f for f in files if f.lower().endswith(TABLE_SUFFIXES) and not f.startswith(".")]
    return sorted(found)


def read_hf(paths, choice: ColumnChoice | None = None) -> Dataset:
    """Every sample of the datasets at ``paths`` (files and folders), split by split."""
    choice = choice or ColumnChoice()
    dataset = Dataset()
    groups: dict[str | None, list[tuple[Path, dict | None, str]]] = {}
    for path in map(Path, paths):
        for split, file, info, where in _files(path, dataset):
            groups.setdefault(split, []).append((file, info, where))
    if choice.split is not None:
        if choice.split not in groups:
            known = ", ".join(str(s) for s in groups if s is not None) or "none named"
            where = ", ".join(str(p) for p in paths)
            raise SourceError("split", f"{where}: no split '{choice.split}' (its splits: {known})")
        groups = {choice.split: groups[choice.split]}
    several = len(groups) > 1
    for split, files in groups.items():
        dataset.extend(_read_split(split, files, choice, several))
    return dataset


def _files(path: Path, dataset: Dataset):
    """``(split, file, dataset_info or None, what to name in notes)`` for each table file of ``path``."""
    if path.is_file():
        yield split_of(path), path, None, str(path)
        return
    if (path / "dataset_dict.json").is_file():
        try:
            splits = json.loads((path / "dataset_dict.json").read_text(encoding="utf-8"))["splits"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            dataset.skipped.append(ItemError(str(path / "dataset_dict.json"), None, f"cannot read it ({exc})"))
            return
        for split in splits:
            yield from _saved(path / str(split), str(split), dataset)
        return
    if is_saved_dataset(path):
        yield from _saved(path, None, dataset)
        return
    for file in table_files(path):
        yield split_of(file), file, None, str(path)


def _saved(folder: Path, split: str | None, dataset: Dataset):
    """The Arrow files of one ``save_to_disk`` Dataset folder, in the order ``state.json`` gives."""
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        info = json.loads((folder / "dataset_info.json").read_text(encoding="utf-8"))
        names = [entry["filename"] for entry in state.get("_data_files") or []]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        dataset.skipped.append(ItemError(str(folder), None, f"not a readable save_to_disk folder ({exc})"))
        return
    files = [folder / n for n in names] or sorted(folder.glob("data-*.arrow"))
    split = split or state.get("_split") or None
    for file in files:
        yield (str(split) if split else None), file, info, str(folder)


def split_of(file: Path) -> str | None:
    """The split a table file belongs to, from its name or its folder's (None when neither says)."""
    stem = file.name.rsplit(".", 1)[0]
    for pattern in (_SHARD_NAME, _NUMBERED):
        found = pattern.match(stem)
        if found:
            return found["split"]
    if stem.lower() in SPLIT_NAMES:
        return stem
    parent = file.parent.name
    return parent if parent.lower() in SPLIT_NAMES else None


def _read_split(split, files, choice: ColumnChoice, several: bool) -> Dataset:
    dataset = Dataset()
    cols, start = None, 0
    group = split or _group_name(files)
    for file, info, where in files:
        try:
            schema = read_schema(file)
        except Exception as exc:  # pyarrow's errors on a file that is not a table
            dataset.skipped.append(ItemError(str(file), None, f"not a readable {file.suffix[1:]} table ({_short(exc)})"))
            continue
        if cols is None:
            cols = choose_columns(schema, features_of(schema, info), choice, str(file),
                                  lambda column, f=file: _sniff(f, column), lambda names, f=file: _lengths(f, names))
            dataset.notes.append(ItemError(where, None, f"{'split ' + split + ': ' if split else ''}{cols.describe()}"))
        missing = [c for c in (cols.image, cols.audio, cols.text, cols.label) if c and c not in schema.names]
        if missing:
            dataset.skipped.append(ItemError(str(file), None, f"has no column {', '.join(missing)} (the split's "
                                                              f"first file has)"))
            continue
        start = _read_file(file, schema, cols, split if several else None, group, start, dataset)
    return dataset


def _group_name(files) -> str:
    """What sample ids start with when no split is named: the file's (or the folder's) name."""
    file, _, where = files[0]
    return file.name.rsplit(".", 1)[0] if where == str(file) else Path(where).name


def _read_file(file: Path, schema, cols: Columns, split: str | None, group: str, start: int, dataset: Dataset) -> int:
    """Samples of one table file, a record batch at a time; returns the next row number of the split."""
    media = [(m, c) for m, c in (("image", cols.image), ("audio", cols.audio)) if c]
    scalar = [c for c in dict.fromkeys([cols.text, cols.label, *cols.metadata]) if c and c in schema.names]
    import pyarrow as pa

    wanted = scalar + [_presence(schema, c) for _, c in media]
    nulls: dict[tuple[str, str], int] = {}
    row = 0
    try:
        for batch in iter_batches(file, wanted):
            values = {name: batch.column(i) for i, name in enumerate(batch.schema.names)}
            lists = {c: values[c].to_pylist() for c in scalar}
            if cols.label and cols.label not in cols.class_names:  # labels as the column's own text (0.6, not 0.6000000238)
                lists[cols.label] = _as_text(values[cols.label])
            present = {c: values[c].is_valid().to_numpy(zero_copy_only=False) for _, c in media}
            for i in range(batch.num_rows):
                sample = _sample(file, row + i, start + row + i, group, lists, present, i, cols, media, nulls)
                if split is not None:
                    sample.metadata["split"] = split
                if sample.items:
                    dataset.samples.append(sample)
            row += batch.num_rows
    except (OSError, pa.ArrowException) as exc:
        dataset.skipped.append(ItemError(str(file), None, f"cannot read rows after row {row:,} ({_short(exc)})"))
    for (modality, column), count in nulls.items():
        dataset.notes.append(ItemError(str(file), modality, f"{count:,} row{'s' if count != 1 else ''} without "
                                                            f"{'a caption' if modality == 'text' else 'an ' + modality} "
                                                            f"(column '{column}' is null)"))
    return start + row


def _as_text(array) -> list:
    import pyarrow as pa

    try:
        return array.cast(pa.string()).to_pylist()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return [None if v is None else str(v) for v in array.to_pylist()]


def _presence(schema, column: str) -> str:
    """What to read to know whether a media cell is there: a struct's ``path`` (not its bytes)."""
    import pyarrow as pa

    kind = schema.field(column).type
    return f"{column}.path" if pa.types.is_struct(kind) and kind.get_field_index("path") >= 0 else column


def _sample(file, file_row, split_row, group, lists, present, i, cols: Columns, media, nulls) -> Sample:
    sample = Sample(id=shown(f"{group}/{split_row}"))
    for modality, column in media:
        if present[column][i]:
            sample.items[modality] = MediaRef(modality, path=member_path(file, cell_member(file_row, column)))
        else:
            nulls[(modality, column)] = nulls.get((modality, column), 0) + 1
    if cols.text:
        if lists[cols.text][i] is not None:
            sample.items["text"] = MediaRef("text", path=member_path(file, cell_member(file_row, cols.text)))
        else:
            nulls[("text", cols.text)] = nulls.get(("text", cols.text), 0) + 1
    if cols.label:
        sample.label = _label(lists[cols.label][i], cols.class_names.get(cols.label))
    for name in cols.metadata:
        value = lists[name][i]
        if name in cols.class_names:
            value = _label(value, cols.class_names[name])
        sample.metadata[name] = value if value is None or isinstance(value, (str, int, float, bool)) else str(value)
    return sample


def _label(value, names: list[str] | None) -> str | None:
    if value is None:
        return None
    if names is not None and isinstance(value, int) and 0 <= value < len(names):
        return names[value]
    return str(value)


def _sniff(file: Path, column: str) -> str | None:
    """The modality of a bytes column without features: the first readable cell's bytes say it."""
    for row in range(_SNIFF_ROWS):
        try:
            data = read_cell(file, row, column, where=member_path(file, cell_member(row, column)))
        except MediaError:
            continue
        return sniff_bytes(data)
    return None


def _lengths(file: Path, names: list[str]) -> dict[str, float]:
    """Mean length of each string column over the first rows (to pick the caption column)."""
    try:
        batch = next(iter(iter_batches(file, names, batch_rows=256)), None)
    except Exception:
        return {}
    if batch is None:
        return {}
    out = {}
    for i, name in enumerate(batch.schema.names):
        texts = [t for t in batch.column(i).to_pylist() if t]
        out[name] = sum(map(len, texts)) / len(texts) if texts else 0.0
    return out


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
