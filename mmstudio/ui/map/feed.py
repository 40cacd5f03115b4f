"""Rows on their way to the map: batches an encoding just finished, tables opened from disk.

They queue here; a "place" job (one at a time: what arrives meanwhile waits for the next) appends
them to the workspace's table and works out where they go — among their nearest fitted points
(:func:`~mmstudio.analysis.projection.growing.grow`), or as a PCA preview when the map is empty —
and the workspace's :class:`~mmstudio.analysis.projection.growing.GrowingMap` takes them without
moving the points already there. A finished encoding's final table then replaces its rows (same
vectors; its column types and errors). When nothing is left to place the workspace decides whether
to refit (:meth:`Workspace.rows_settled`).
"""

from __future__ import annotations

import time

from PySide6 import QtCore

# after rows joined the map, the next ones wait this long (and join together): every batch of an
# encoding drawn at once cost the window ~50 ms each (a few thousand items: ~100 batches)
FLUSH_INTERVAL_S = 0.5


class MapFeed:
    def __init__(self, workspace):
        self.ws = workspace
        self.generation = 0
        self.clear()
        self._last_flush = -FLUSH_INTERVAL_S
        self._timer = QtCore.QTimer(workspace)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.pump)
        workspace.runner.ended.connect(self._job_ended)

    def clear(self) -> None:
        """Drop everything on its way (a running place job's result included)."""
        self.generation += 1
        self.pending: list[tuple[str, object]] = []   # (source key, rows) not placed yet
        self.finals: dict[str, object] = {}           # source key → its final table, waiting for its rows
        self.ranges: dict[str, list[tuple[int, int]]] = {}   # source key → the table rows its batches took
        self.job = None
        self._taken: tuple[list, dict] = ([], {})   # the running job's new ranges and finals
        self.held = False    # an encoding was cancelled: no refit by itself until more rows come

    def add(self, key: str, table) -> None:
        """Rows of one source (an encoding's batch, an opened table) to place on the map."""
        if table is not None and len(table):
            self.pending.append((key, table))
            self.held = False
            self.ws.layout_final = False   # until they are all in and the workspace decided on a refit
            self.pump()

    def finish(self, key: str, table) -> None:
        """The final table of an encoding whose batches were all added before."""
        self.finals[key] = table
        self.ws.layout_final = False
        self.pump()

    def busy(self) -> bool:
        return self.job is not None or bool(self.pending) or bool(self.finals)

    def pump(self) -> None:
        """Start the next place job when none runs; with nothing to do, tell the workspace."""
        if self.job is not None:
            return
        if not self.pending and not self.finals:
            self.ws.rows_settled()
            return
        wait = self._last_flush + FLUSH_INTERVAL_S - time.monotonic()
        if wait > 0:
            if not self._timer.isActive():
                self._timer.start(int(wait * 1000) + 1)
            return
        ws = self.ws
        pending, self.pending = self.pending, []
        finals, self.finals = self.finals, {}
        row = 0 if ws.table is None else len(ws.table)
        taken = []
        for key, table in pending:
            taken.append((key, (row, row + len(table))))
            self.ranges.setdefault(key, []).append(taken[-1][1])
            row += len(table)
        self._taken = (taken, finals)
        ranges = {key: list(self.ranges.get(key, [])) for key in finals}
        table, fitted, generation = ws.table, ws.map.fitted, self.generation
        metric = ws.projection.get("metric", "cosine")

        def work(job):
            from mmstudio.analysis.projection.growing import grow
            from mmstudio.core.tables.categories import prepare
            from mmstudio.ui.colors import modality_codes

            job.status(f"placing {sum(len(t) for _, t in pending):,} items")
            growth = grow(table, fitted, [t for _, t in pending], finals, ranges, metric=metric)
            modality_codes(growth.table)  # computed here, off the GUI thread
            prepare(growth.table, job)    # every text column's codes: what colouring, filters and counts read
            return growth

        self.job = ws.runner.start("place", work, label="place new items",
                                   on_done=lambda growth: self._placed(growth, generation))

    def _placed(self, growth, generation: int) -> None:
        if generation != self.generation:
            return
        self.job = None
        self._last_flush = time.monotonic()
        ws = self.ws
        ws.table = growth.table
        for key in growth.replaced:
            self.ranges.pop(key, None)
        if growth.preview is not None:
            ws.map.start(growth.preview)
            ws.xy, ws.layout_final, ws.fit_method = ws.map.xy, False, None
            ws.tableChanged.emit()
            ws.layoutChanged.emit(False)
        elif growth.idx is not None:
            start = ws.map.place(growth.idx, growth.weights)
            ws.xy = ws.map.xy
            ws.tableChanged.emit()
            ws.pointsAdded.emit(start)
        else:
            ws.tableChanged.emit()
        self.pump()

    def _job_ended(self, job) -> None:
        """Once a job's own result is in (the runner says "ended" just before delivering it): a place job
        whose result was not used (cancelled, failed) gives its rows up, and the end of an encoding, an
        opening or a fit may leave nothing more to wait for."""
        kind = job.kind
        if kind.startswith("encode-") and job.cancelled() and not getattr(job, "dropped", False):
            self.held = True   # the user pressed Cancel: what came is shown, nothing starts by itself
        if kind in ("place", "open", "model", "project") or kind.startswith("encode-"):
            QtCore.QTimer.singleShot(0, self.ws, lambda: self._after(job))

    def _after(self, job) -> None:
        if job is self.job:
            taken, finals = self._taken
            for key, rows in taken:
                self.ranges[key].remove(rows)
            self.finals = {**finals, **self.finals}   # placed with the next rows that come, if any
            self.job = None
            return  # no new job now: a cancelled place job is not started again by itself
        self.pump()
