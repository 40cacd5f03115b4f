"""The window's one filter: the filter bar's :class:`~mmstudio.core.tables.filtering.FilterSpec` as a
boolean mask over the workspace's rows, which the map, the library and the panels all follow.

What the mask reads beyond the table (each sample's index, the captions, which samples had a
problem) is worked out by a job whenever the rows change while a filter is on; the captions of
files already read are kept. The mask itself is vectorised (milliseconds at 100,000 rows) and is
computed on the GUI thread as the filter changes — by a job above ``MASK_AT_ONCE`` rows (searching a
caption among a third of a million took 50–200 ms), the last mask shown meanwhile. Until a job has
caught up with rows that just joined, those rows count as not matching (they appear once it is done).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6 import QtCore

from mmstudio.core.tables.filtering import FilterIndex, FilterSpec, filter_index, filter_mask, numeric_columns

MASK_AT_ONCE = 100_000   # rows; a larger table's mask is worked out by a job (the last one shown meanwhile)


class RowFilter(QtCore.QObject):
    changed = QtCore.Signal()     # the mask, or the filter, changed

    def __init__(self, workspace):
        super().__init__(workspace)
        self.ws = workspace
        self.spec = FilterSpec()
        self.mask: np.ndarray | None = None   # over the rows of ``index.table``; None: no filter
        self.version = 0                       # counts the changes of ``mask``
        self.index: FilterIndex | None = None
        self.dropped = ""                      # the criteria left out because the table lacks them
        self._texts: dict[str, str] = {}       # caption file → its lower-cased text, read once
        workspace.tableChanged.connect(self._update)
        workspace.datasetChanged.connect(self._update)
        workspace.subsetsChanged.connect(self._update)

    # ------------------------------------------------------------------ what the others read
    @property
    def active(self) -> bool:
        return self.mask is not None

    def visible(self, n: int) -> np.ndarray:
        """The mask over ``n`` rows (rows it does not cover yet: not matching); all True without a filter."""
        if self.mask is None:
            return np.ones(n, bool)
        if len(self.mask) >= n:
            return self.mask[:n]
        return np.concatenate([self.mask, np.zeros(n - len(self.mask), bool)])

    def rows(self) -> np.ndarray | None:
        """The matching rows of the workspace's table, or None without a filter."""
        table = self.ws.table
        if self.mask is None or table is None:
            return None
        return np.flatnonzero(self.visible(len(table)))

    def scope(self):
        """``(table, rows)``: what a panel computes on — the workspace's table, and the matching rows
        (None: all of them). A panel's job takes the rows (``table.take(rows)``), not the GUI thread."""
        return self.ws.table, self.rows()

    def summary(self) -> str:
        """``filtered: n of N rows`` while a filter is on; else ""."""
        rows, table = self.rows(), self.ws.table
        return "" if rows is None else f"filtered: {len(rows):,} of {len(table):,} rows"

    def sample_hits(self) -> np.ndarray | None:
        """Per sample of ``index.sample_ids`` (and one spare False at the end, for ids it lacks): whether
        one of its rows matches; None without a filter."""
        if self.mask is None or self.index is None:
            return None
        hits = np.zeros(len(self.index.sample_ids) + 1, bool)
        hits[self.index.codes[self.visible(len(self.index.codes))]] = True
        return hits

    # ------------------------------------------------------------------ changing it
    def set_spec(self, spec: FilterSpec) -> None:
        self.spec = spec
        self._update(force=True)

    def clear(self) -> None:
        self.set_spec(FilterSpec())

    def _update(self, force: bool = False) -> None:
        ws, spec = self.ws, self.spec
        if spec.subset is not None and spec.subset not in ws.subsets:
            spec = self.spec = replace(spec, subset=None)      # the subset was removed
            force = True
        table = ws.table
        if not spec.active or table is None or len(table) == 0:
            self.dropped = ""
            self._set(None, force)
            return
        problems = ws.problems()
        index = self.index
        if index is None or index.table is not table or index.problem_ids != _ids(problems):
            self._build(table, problems)
            if force:
                self.changed.emit()   # the bar shows the new filter; the mask follows when the job is done
            return
        usable = self._usable(spec, table)
        if len(table) <= MASK_AT_ONCE:
            self._set(filter_mask(index, usable, subsets=ws.subsets), force)
            return
        subsets = {spec.subset: ws.subsets[spec.subset]} if spec.subset is not None else None

        def work(job):   # a caption searched among 333,000 took 50–200 ms: not on the window's thread
            return filter_mask(index, usable, subsets=subsets)

        def done(mask):
            if index is self.index and spec == self.spec:
                self._set(mask, force)

        ws.runner.start("filter-mask", work, label="filter", on_done=done)
        if force:
            self.changed.emit()   # the bar shows the new filter; the mask follows when the job is done

    def _usable(self, spec: FilterSpec, table) -> FilterSpec:
        """The filter without ranges over columns the table does not have as numbers (said in ``dropped``)."""
        numeric = numeric_columns(table) if spec.ranges else {}
        gone = [r.column for r in spec.ranges if r.column not in numeric]
        self.dropped = f"no numeric column {', '.join(gone)} in the table" if gone else ""
        return replace(spec, ranges=tuple(r for r in spec.ranges if r.column in numeric)) if gone else spec

    def _build(self, table, problems) -> None:
        texts = self._texts

        def work(job):
            job.status("reading captions")
            return filter_index(table, problems, texts, job)

        self.ws.runner.start("filter-index", work, label="filter", on_done=self._built)

    def _built(self, index: FilterIndex) -> None:
        if index.table is self.ws.table:
            self.index = index
            self._update(force=True)

    def _set(self, mask: np.ndarray | None, force: bool) -> None:
        same = (mask is None and self.mask is None) or (
            mask is not None and self.mask is not None and np.array_equal(mask, self.mask))
        self.mask = mask
        if not same:
            self.version += 1
        if force or not same:
            self.changed.emit()


def _ids(problems) -> frozenset:
    return frozenset(str(p.sample_id) for p in problems if getattr(p, "sample_id", None) is not None)
