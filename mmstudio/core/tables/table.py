"""The embedding table: one row per (sample, modality), an L2-normalised vector each (a sample with
several captions may have one text row per caption: :mod:`mmstudio.core.tables.captions`).

Columns ``sample_id``, ``modality``, ``path``, ``label``, any number of extra columns
(metadata from a manifest, later ``x``/``y`` of a projection) and ``vectors`` (N × D
float32). Items that could not be embedded travel beside it as ``errors``. Files:
:mod:`mmstudio.core.tables.files` (Parquet, NPZ).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.core.errors import ItemError
from mmstudio.core.media.formats import MODALITIES

BASE_COLUMNS = ("sample_id", "modality", "path", "label")
# path_bytes, token_vectors, token_info: see core.tables.files and core.tables.tokens
RESERVED_COLUMNS = BASE_COLUMNS + ("embedding", "error", "path_bytes", "token_vectors", "token_info")


@dataclass
class EmbeddingTable:
    sample_id: np.ndarray
    modality: np.ndarray
    path: np.ndarray
    label: np.ndarray
    vectors: np.ndarray
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    model: str = ""
    info: dict = field(default_factory=dict)
    errors: list[ItemError] = field(default_factory=list)
    tokens: list | None = None  # per-row TokenFeatures (or None); Parquet keeps them (core.tables.tokens)
    notes: list[ItemError] = field(default_factory=list)  # items used with a remark (cp1252, cut, silent…); in memory only

    def __post_init__(self):
        n = len(self.vectors)
        vectors = np.ascontiguousarray(self.vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be a 2-D array, not {vectors.shape}")
        self.vectors = vectors
        for name in BASE_COLUMNS:
            setattr(self, name, _object_array(getattr(self, name)))
        self.columns = {name: column_array(values) for name, values in self.columns.items()}
        for name, values in [(n_, getattr(self, n_)) for n_ in BASE_COLUMNS] + list(self.columns.items()):
            if len(values) != n:
                raise ValueError(f"column {name!r} has {len(values)} rows, the vectors {n}")
        if self.tokens is not None and len(self.tokens) != n:
            raise ValueError(f"token features for {len(self.tokens)} rows, the vectors {n}")
        clash = set(self.columns) & set(RESERVED_COLUMNS)
        if clash:
            raise ValueError(f"extra columns may not be named {sorted(clash)}")

    @classmethod
    def empty(cls, dim: int = 0, model: str = "") -> "EmbeddingTable":
        nothing = np.empty(0, dtype=object)
        return cls(nothing, nothing, nothing, nothing, np.zeros((0, dim), np.float32), model=model)

    def __len__(self) -> int:
        return len(self.vectors)

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    @property
    def modalities(self) -> tuple[str, ...]:
        from mmstudio.core.tables.categories import categories

        present = set(categories(self, "modality").names.tolist())   # the column's codes, kept on the table
        return tuple(m for m in MODALITIES if m in present)

    def rows(self, modality: str) -> np.ndarray:
        """Row indices of one modality."""
        from mmstudio.core.tables.categories import categories

        found = categories(self, "modality")
        code = np.flatnonzero(found.names == modality)
        return np.flatnonzero(found.codes == code[0]) if len(code) else np.zeros(0, np.int64)

    def take(self, indices) -> "EmbeddingTable":
        """A new table with the given rows (errors are kept)."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return EmbeddingTable(
            self.sample_id[idx], self.modality[idx], self.path[idx], self.label[idx], self.vectors[idx],
            {k: v[idx] for k, v in self.columns.items()}, self.model, dict(self.info), list(self.errors),
            None if self.tokens is None else [self.tokens[i] for i in idx.tolist()],
        )

    def with_column(self, name: str, values) -> "EmbeddingTable":
        """The same table with one extra column added or replaced (e.g. ``x``, ``y``)."""
        columns = dict(self.columns)
        columns[name] = values
        return EmbeddingTable(self.sample_id, self.modality, self.path, self.label, self.vectors, columns,
                              self.model, dict(self.info), list(self.errors), self.tokens)

    @staticmethod
    def concat(tables: list["EmbeddingTable"]) -> "EmbeddingTable":
        """Rows of all tables, in order; a column missing from a table is blank there (NaN or None)."""
        tables = [t for t in tables if t is not None]
        if not tables:
            return EmbeddingTable.empty()
        if len(tables) == 1:   # the same rows: a new table over the same arrays (a million rows' vectors not copied)
            from mmstudio.core.tables.categories import carry

            t = tables[0]
            joined = EmbeddingTable(t.sample_id, t.modality, t.path, t.label, t.vectors, dict(t.columns), t.model,
                                    dict(t.info), list(t.errors), None if t.tokens is None else list(t.tokens))
            carry(t, joined)   # its columns' categories too (the same arrays)
            return joined
        dims = {t.dim for t in tables if len(t)}
        if len(dims) > 1:
            raise ValueError(f"cannot join tables of dimensions {sorted(dims)}")
        names: dict[str, None] = {}
        for t in tables:
            names.update(dict.fromkeys(t.columns))
        columns = {}
        for name in names:
            parts = []
            numeric = all(t.columns[name].dtype.kind == "f" for t in tables if name in t.columns)
            for t in tables:
                if name in t.columns:
                    parts.append(t.columns[name])
                else:
                    parts.append(np.full(len(t), np.nan) if numeric else np.full(len(t), None, object))
            columns[name] = np.concatenate(parts) if numeric else np.concatenate([p.astype(object) for p in parts])
        first = next((t for t in tables if len(t)), tables[0])
        tokens = None
        if any(t.tokens is not None for t in tables):
            tokens = [tok for t in tables for tok in (t.tokens if t.tokens is not None else [None] * len(t))]
        return EmbeddingTable(
            *(np.concatenate([getattr(t, name) for t in tables]) for name in BASE_COLUMNS),
            np.concatenate([t.vectors for t in tables]) if dims else np.zeros((0, first.dim), np.float32),
            columns, first.model, dict(first.info), [e for t in tables for e in t.errors], tokens)

    def write(self, path) -> None:
        from mmstudio.core.tables.files import write_table

        write_table(self, path)

    def to_pandas(self, vectors: str = "column"):
        """The table as a pandas DataFrame (pandas is not installed with mmstudio):
        ``df = table.to_pandas()``; see :func:`mmstudio.core.tables.frames.to_pandas`."""
        from mmstudio.core.tables.frames import to_pandas

        return to_pandas(self, vectors)

    @staticmethod
    def read(path) -> "EmbeddingTable":
        from mmstudio.core.tables.files import read_table

        return read_table(path)


def column_array(values) -> np.ndarray:
    """Numbers (or strings that all parse as numbers) → float64 with NaN for blanks; else objects."""
    if isinstance(values, np.ndarray):
        if values.dtype.kind in "fiu":
            return values if values.dtype.kind == "f" else values.astype(np.float64)
        if values.dtype == object:
            return values  # already a column of this table
    items = list(values)
    numbers = []
    for v in items:
        if v is None or (isinstance(v, str) and not v.strip()):
            numbers.append(np.nan)
            continue
        if isinstance(v, bool):
            return _object_array(items)
        try:
            numbers.append(float(v))
        except (TypeError, ValueError):
            return _object_array(items)
    if items and all(np.isnan(x) for x in numbers):
        return _object_array(items)
    return np.asarray(numbers, dtype=np.float64)


def _object_array(values) -> np.ndarray:
    """Strings (or None) in an object array; an object array passes through unchanged."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) if not isinstance(v, str) else v
    return out
