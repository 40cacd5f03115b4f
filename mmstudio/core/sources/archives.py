"""Which paths are datasets whose items live inside files: tar shards (WebDataset) and Hugging Face
datasets (Parquet, Arrow, ``save_to_disk`` folders). :func:`~mmstudio.core.sources.inputs.load_paths`
hands each path here first; what is taken is read once every path is known, so the shards or
Parquet files of one dataset given one by one (or by a brace pattern) read as one dataset.

A folder is such a dataset when it was written by ``save_to_disk``, or when it holds ``.parquet``
/ ``.arrow`` or ``.tar`` files (at most three levels down) and no image or audio file: a folder
of pictures with a stray Parquet file is still a folder of pictures.
"""

from __future__ import annotations

import os
from pathlib import Path

from mmstudio.core.archives.members import TABLE_SUFFIXES
from mmstudio.core.dataset import Dataset
from mmstudio.core.errors import ItemError
from mmstudio.core.media.formats import modality_of
from mmstudio.core.sources.hf_columns import ColumnChoice, SourceError
from mmstudio.core.sources.hf_dataset import MAX_DEPTH, is_saved_dataset, read_hf
from mmstudio.core.sources.webdataset import expand_braces, is_brace_pattern, read_shards

TABLE_REFUSED = ("an embedding table, not media: open it in the window, or give it to "
                 "`mmstudio align`, `export` or `project`")


def expand_patterns(paths) -> list:
    """Each path as given, except a brace pattern that names no file (``shard-{000000..000009}.tar``),
    which becomes the names it stands for."""
    out = []
    for raw in paths:
        text = str(raw)
        out += expand_braces(text) if is_brace_pattern(text) and not os.path.exists(text) else [raw]
    return out


class ArchiveInputs:
    """The tar shards and Hugging Face datasets among the paths, read together by :meth:`read`."""

    def __init__(self, choice: ColumnChoice | None = None):
        self.choice = choice or ColumnChoice()
        self.hf: list[Path] = []
        self.shards: list[Path] = []
        self.refused: list[ItemError] = []

    def take(self, path: Path, is_dir: bool) -> bool:
        """Whether ``path`` is one of these (then it is read by :meth:`read`, not scanned as media)."""
        if is_dir:
            if is_saved_dataset(path):
                self.hf.append(path)
                return True
            kind = folder_kind(path)
            if kind == "tables":
                self.hf.append(path)
            elif kind == "shards":
                self.shards += shard_files(path)
            return kind is not None
        suffix = path.suffix.lower()
        if suffix == ".tar":
            self.shards.append(path)
            return True
        if suffix in TABLE_SUFFIXES:
            from mmstudio.core.tables.files import is_embedding_parquet

            if suffix == ".parquet" and is_embedding_parquet(path):
                self.refused.append(ItemError(str(path), None, TABLE_REFUSED))
            else:
                self.hf.append(path)
            return True
        return False

    def read(self) -> Dataset:
        if self.choice.given() and not self.hf:
            raise SourceError(self.choice.given()[0], "applies to Hugging Face datasets (Parquet or Arrow files, "
                                                      "save_to_disk folders); there is none among the paths")
        dataset = Dataset(skipped=list(self.refused))
        if self.hf:
            dataset.extend(read_hf(self.hf, self.choice))
        if self.shards:
            dataset.extend(read_shards(self.shards))
        return dataset


def folder_kind(folder: Path) -> str | None:
    """``tables`` (Parquet/Arrow files, not embedding tables), ``shards`` (tar files) or None (a folder of
    media: it holds an image or audio file, or neither kind of file). Stops at the first media file."""
    tables: list[Path] = []
    shards = False
    stack = [(Path(folder), 0)]
    while stack:
        directory, depth = stack.pop()
        try:
            entries = os.scandir(directory)
        except OSError:
            continue
        with entries:
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                try:
                    if entry.is_dir():
                        if depth < MAX_DEPTH:
                            stack.append((Path(entry.path), depth + 1))
                        continue
                except OSError:
                    continue
                low = name.lower()
                if modality_of(low) in ("image", "audio"):
                    return None
                if low.endswith(TABLE_SUFFIXES):
                    tables.append(Path(entry.path))
                elif low.endswith(".tar"):
                    shards = True
    if tables:
        return None if _embedding_tables(sorted(tables)) else "tables"
    return "shards" if shards else None


def _embedding_tables(files: list[Path]) -> bool:
    """Whether the first of ``files`` whose schema can be read is an embedding table (unreadable ones
    are left to the dataset reader, which names them)."""
    from mmstudio.core.archives.tables import read_schema
    from mmstudio.core.tables.files import is_embedding_schema

    for file in files:
        try:
            schema = read_schema(file)
        except Exception:  # pyarrow's errors on a file that is not a table
            continue
        return file.suffix.lower() == ".parquet" and is_embedding_schema(schema)
    return False


def shard_files(folder: Path) -> list[Path]:
    """The ``.tar`` files of a folder, at most three levels down, sorted (hidden ones skipped)."""
    found = []
    for directory, subdirs, files in os.walk(folder):
        depth = len(Path(directory).relative_to(folder).parts)
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and depth < MAX_DEPTH)
        found += [Path(directory) / f for f in files if f.lower().endswith(".tar") and not f.startswith(".")]
    return sorted(found)
