"""A map that grows without rearranging: the rows of a fit, then rows placed on it.

:class:`GrowingMap` keeps the 2-D positions of a table's rows in the table's order: the first
``fitted`` rows come from the last fit (UMAP, PCA, or the preview of the first rows shown), every
later row was placed on those by :func:`~mmstudio.analysis.projection.project.placement` (its
nearest fitted rows and their weights) and never moves the others. When a new fit of the first
rows arrives, the rows placed after them are placed again, by the same neighbours, on it.

:func:`grow` is what a job computes off the GUI thread before rows join the map: the table with
the new rows appended (and the rows of a finished encoding replaced by its final table's), and
where the new rows go.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.projection.project import pca_2d, placement, positions

PLACE_NEIGHBOURS = 15  # as place_points: each new point goes where its 15 nearest fitted points say


@dataclass
class Placed:
    """Rows ``start … start + len(idx)`` placed from the fitted rows ``idx`` with ``weights``."""

    start: int
    idx: np.ndarray
    weights: np.ndarray

    @property
    def stop(self) -> int:
        return self.start + len(self.idx)


class GrowingMap:
    """Positions of a growing table's rows: fitted ones, then placed ones (see the module's note)."""

    def __init__(self) -> None:
        self.xy = np.zeros((0, 2), np.float32)
        self.fitted = 0                    # rows [0, fitted) come from the last fit or the first preview
        self.placed: list[Placed] = []

    def __len__(self) -> int:
        return len(self.xy)

    @property
    def n_placed(self) -> int:
        """Rows placed since the last fit."""
        return len(self.xy) - self.fitted

    def placed_share(self) -> float:
        """The share of the rows that were placed rather than fitted (0 for an empty map)."""
        return self.n_placed / len(self.xy) if len(self.xy) else 0.0

    def start(self, xy) -> None:
        """The first rows of an empty map, laid out by ``xy`` (a preview: they count as fitted)."""
        if len(self.xy):
            raise ValueError("the map already has rows: place new ones, or fit them all")
        self.xy = np.array(xy, np.float32).reshape(-1, 2)
        self.fitted, self.placed = len(self.xy), []

    def place(self, idx, weights) -> int:
        """Append rows placed from the fitted rows ``idx`` (m × k) with ``weights``; returns their first row.
        The rows already there do not move."""
        idx = np.asarray(idx, np.int64)
        if len(idx) and (idx.min() < 0 or idx.max() >= self.fitted):
            raise ValueError(f"rows are placed from the {self.fitted} fitted rows only")
        start = len(self.xy)
        self.placed.append(Placed(start, idx, np.asarray(weights, np.float32)))
        self.xy = np.concatenate([self.xy, positions(self.xy, idx, weights).reshape(-1, 2)])
        return start

    def fitted_layout(self, xy) -> None:
        """A fit of the first ``len(xy)`` rows (taken when the map had that many): they move there, and the
        rows placed after them are placed again on it, from the same neighbours with the same weights."""
        xy = np.asarray(xy, np.float32)
        m = len(xy)
        if m < self.fitted or m > len(self.xy):
            raise ValueError(f"a fit of {m} rows for a map of {len(self.xy)} rows, {self.fitted} of them fitted")
        if any(p.start < m < p.stop for p in self.placed):
            raise ValueError(f"a fit of {m} rows cuts a batch of placed rows")
        new = self.xy.copy()
        new[:m] = xy
        keep = [p for p in self.placed if p.start >= m]
        for p in keep:  # their neighbours are fitted rows, all < the old fitted count <= m
            new[p.start:p.stop] = positions(new, p.idx, p.weights)
        self.xy, self.fitted, self.placed = new, m, keep

    def clear(self) -> None:
        self.__init__()


@dataclass
class Growth:
    """What :func:`grow` computed: the table after the change, the row where the new rows begin, and
    either their placement (``idx``, ``weights`` into the fitted rows) or a ``preview`` layout
    (when the map had no rows to place them by)."""

    table: object
    start: int
    idx: np.ndarray | None = None
    weights: np.ndarray | None = None
    preview: np.ndarray | None = None
    replaced: list = field(default_factory=list)   # the keys of the finished encodings whose rows were replaced


def grow(table, fitted: int, new_tables: list, finals: dict | None = None, ranges: dict | None = None, *,
         k: int = PLACE_NEIGHBOURS, metric: str = "cosine", device: str | None = None) -> Growth:
    """``table`` (or None) with the rows of ``new_tables`` appended, and where those rows go on a map
    whose first ``fitted`` rows are laid out: their nearest fitted rows and weights, or, when the map
    is empty, a PCA preview of the new rows themselves.

    ``finals``: key → the final table of a finished encoding whose rows are all in the table already, at
    the rows ``ranges[key]`` (a list of (start, stop)); those rows are replaced by the final table's
    (same vectors; its column types and errors), row for row by (sample id, modality, caption index), in place. (Every
    row of a final table was sent as a partial batch first; one that was not is not added here.)
    """
    from mmstudio.core.tables.table import EmbeddingTable

    new = EmbeddingTable.concat(new_tables) if new_tables else None
    start = 0 if table is None else len(table)
    growth = Growth(table, start)
    if new is not None and len(new):
        if fitted == 0:
            if start:
                raise ValueError("rows on a map with no fitted rows")
            growth.preview = pca_2d(new.vectors)
        else:
            growth.idx, growth.weights = placement(table.vectors[:fitted], new.vectors, k=k, metric=metric,
                                                   device=device)
        parts = [*([] if table is None else [table]), *new_tables]
        growth.table = _numbers_kept(parts, EmbeddingTable.concat(parts))
    for key, final in (finals or {}).items():
        if growth.table is None:  # none of its rows came (all failed): its errors are kept, on no rows
            growth.table = final.take(np.zeros(0, np.int64))
        else:
            growth.table = _replaced(growth.table, final, (ranges or {}).get(key, []))
        growth.replaced.append(key)
    return growth


def _numbers_kept(parts, joined):
    """``joined`` with the columns that are numbers in some parts and blanks (or numbers as text) in the
    others read as numbers again, as one table of all the rows would read them: a batch whose rows all
    lack a value must not turn a numeric column into text."""
    from mmstudio.core.tables.table import column_array

    for name, values in joined.columns.items():
        if values.dtype == object and any(name in p.columns and p.columns[name].dtype.kind == "f" for p in parts):
            joined.columns[name] = column_array(values.tolist())
    return joined


def _replaced(table, final, ranges):
    """``table`` with its rows in ``ranges`` replaced by ``final``'s rows of the same (sample id, modality,
    caption index); ``final``'s errors join the table's."""
    from mmstudio.core.tables.captions import row_keys
    from mmstudio.core.tables.table import EmbeddingTable

    rows = np.concatenate([np.arange(a, b) for a, b in ranges]) if ranges else np.zeros(0, np.int64)
    keys = row_keys(table)
    where = {keys[r]: int(r) for r in rows.tolist()}
    order = np.arange(len(table))
    for j, key in enumerate(row_keys(final)):
        row = where.get(key)
        if row is not None:
            order[row] = len(table) + j
    joined = EmbeddingTable.concat([table, final])
    out = joined.take(order)
    out.notes = list(getattr(table, "notes", []))
    return out
