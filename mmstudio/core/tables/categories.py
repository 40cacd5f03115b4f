"""A text column as categories: its distinct values and each row's code, what colouring, filtering and
counting read — at a million rows, without a Python object or a Python comparison per row.

:func:`categories` factorises a column of a table (``label``, ``modality``, ``sample_id``, ``path`` or an
extra text column) once and keeps the result on the table while the column is the same array. The hash
table is Arrow's (dictionary encoding, outside the GIL); the rows go to Arrow a slice at a time, so a job
computing it leaves the window's thread the GIL between slices (``np.unique`` on a million Python strings
sorts them with Python comparisons: 1.7 s holding the GIL). The names are the column's own string
objects (no copies), sorted as Python sorts strings.

The codes are kept while the column is the same array, so the array is made read-only when they are kept:
writing into it in place (which would leave them stale) raises instead; a new array gets new codes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

CHUNK = 65_536   # rows converted to Arrow per call (each call holds the GIL: ~7 ms)
SMALL = 20_000   # fewer rows are sorted by numpy (~15 ms): Arrow's first call imports pandas (0.2 s) beside it
BASE = ("sample_id", "modality", "path", "label")


@dataclass(frozen=True)
class Categories:
    """``names``: the distinct values, sorted (object array); ``codes``: each row's index into them (int32),
    -1 for a row without a value (None); ``counts``: rows per name."""

    names: np.ndarray
    codes: np.ndarray
    counts: np.ndarray

    @property
    def blank(self) -> int:
        """Rows without a value."""
        return int(len(self.codes) - self.counts.sum())


def categories(table, name: str) -> Categories:
    """The categories of ``table``'s text column ``name`` (a base column or an extra one), computed once
    per column array and kept on the table."""
    values = getattr(table, name) if name in BASE else table.columns[name]
    cache = table.__dict__.setdefault("_categories", {})
    held = cache.get(name)
    if held is not None and held[0] is values:
        return held[1]
    found = factorize(values)
    _keep(cache, name, values, found)
    return found


def with_blank(found: Categories, blank: str) -> tuple[np.ndarray, np.ndarray]:
    """``found``'s names and codes with the rows without a value named ``blank`` (kept sorted: inserted where
    it sorts, or joined to a value already written that way); unchanged when every row has a value."""
    names, codes = found.names, found.codes
    if not found.blank:
        return names, codes
    try:
        at = int(np.searchsorted(names, blank))
    except TypeError:   # names that are not text (a table built in code): the blank name goes last
        at = len(names)
    if at < len(names) and names[at] == blank:
        return names, np.where(codes >= 0, codes, at).astype(np.int32)
    return np.insert(names, at, blank), np.where(codes >= 0, codes + (codes >= at), at).astype(np.int32)


def value_counts(table, name: str, rows=None, blank: str = "—") -> Counter:
    """How many of ``rows`` (None: every row) hold each value of the text column ``name`` (``blank``: rows
    without one), from the column's codes: no Python object per row (a selection of 100,000 rows in ms)."""
    found = categories(table, name)
    codes = found.codes if rows is None else found.codes[np.asarray(rows, np.int64)]
    n = np.bincount(codes + 1, minlength=len(found.names) + 1)
    counted: Counter = Counter()
    for i in np.flatnonzero(n).tolist():   # the values present only
        counted[blank if i == 0 else str(found.names[i - 1])] += int(n[i])
    return counted


def same_sample(table, row: int) -> np.ndarray:
    """The rows of ``row``'s sample (by the sample ids' codes: no comparison of a million strings)."""
    codes = categories(table, "sample_id").codes
    code = codes[row]
    return np.flatnonzero(codes == code) if code >= 0 else np.array([row], np.int64)


def cached(table, name: str) -> bool:
    """Whether :func:`categories` of this column is computed already."""
    held = table.__dict__.get("_categories", {}).get(name)
    values = getattr(table, name, None) if name in BASE else table.columns.get(name)
    return held is not None and held[0] is values


def prepare(table, job=None) -> None:
    """Factorise every text column of ``table`` (off the GUI thread: a job calls it once the rows are in)."""
    names = [*BASE, *(k for k, v in table.columns.items() if v.dtype == object)]
    for name in names:
        if job is not None:
            job.check()
        categories(table, name)


def factorize(values) -> Categories:
    """:class:`Categories` of an object array of strings (None: no value)."""
    values = np.asarray(values, dtype=object).reshape(-1)
    n = len(values)
    if n == 0:
        return Categories(np.zeros(0, object), np.zeros(0, np.int32), np.zeros(0, np.int64))
    if n < SMALL:
        return _by_python(values)
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        parts = [pa.array(values[i:i + CHUNK], type=pa.string()) for i in range(0, n, CHUNK)]
    except (pa.ArrowException, UnicodeError, TypeError):   # not only text Arrow holds: Python compares them (slow)
        return _by_python(values)
    encoded = pa.chunked_array(parts, pa.string()).combine_chunks().dictionary_encode()
    first_seen = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    # each name as the column's own object: the row where it first appears (dictionary order is first seen)
    present = np.flatnonzero(first_seen >= 0)
    _, first_row = np.unique(first_seen[present], return_index=True)   # per dictionary entry, all present
    return from_encoded(values[present[first_row]], first_seen, pc.array_sort_indices(encoded.dictionary))


def from_encoded(names, first_seen: np.ndarray, order) -> Categories:
    """:class:`Categories` from a dictionary encoding: ``names`` in the dictionary's order, each row's index
    into them (``first_seen``; -1: no value) and the order that sorts the names (Arrow's
    ``array_sort_indices`` of the dictionary: outside the GIL, as Python orders strings)."""
    order = np.asarray(order, np.int64).reshape(-1)
    rank = np.empty(len(order) + 1, np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    rank[-1] = -1                                           # code -1 (no value) stays -1
    codes = rank[np.asarray(first_seen)]
    counts = np.bincount(codes[codes >= 0], minlength=len(order)).astype(np.int64)
    return Categories(np.asarray(names, object)[order], codes, counts)


def attach(table, name: str, found: Categories) -> None:
    """Keep ``found`` as the categories of ``table``'s column ``name`` (a reader that encoded it already)."""
    values = getattr(table, name) if name in BASE else table.columns[name]
    _keep(table.__dict__.setdefault("_categories", {}), name, values, found)


def _keep(cache: dict, name: str, values, found: Categories) -> None:
    if isinstance(values, np.ndarray):
        values.flags.writeable = False   # codes of a column written into in place would be stale
    cache[name] = (values, found)


def carry(source, target) -> None:
    """``target`` keeps ``source``'s categories of the columns it shares with it (the same arrays)."""
    held = source.__dict__.get("_categories")
    if held:
        target.__dict__["_categories"] = dict(held)   # each entry is checked against its column when read


def _by_python(values: np.ndarray) -> Categories:
    blank = np.equal(values, None)
    kept = values[~blank]
    try:
        names, inverse = np.unique(kept, return_inverse=True)
    except TypeError:   # values that do not compare with each other: by their text
        names, inverse = np.unique(np.array([str(v) for v in kept], object), return_inverse=True)
    codes = np.full(len(values), -1, np.int32)
    codes[~blank] = inverse.reshape(-1)
    return Categories(names.astype(object), codes, np.bincount(inverse.reshape(-1), minlength=len(names)).astype(np.int64))
