"""The principles lab panel: one page per textbook principle of multimodal learning
(:mod:`mmstudio.analysis.principles.registry`), picked from a list on the left.

Product vs mixture of experts is closed-form numpy and redraws live on the GUI thread as its
sliders move. The others train small models: they run as jobs (one job kind per page, so a new
run supersedes the old), the page says "computing…" with a progress bar and keeps its previous
plot until the new result arrives. Results are kept in memory per (principle, options, data), so
going back to an earlier setting is instant. A page runs by itself when it comes on screen
without a result, and again (debounced) when an option that changes the computation moves.

The data: the workspace's table when it has image and audio rows of enough samples and the
label columns the principle needs (``shape``, ``xor`` — the demo world's), else the demo world's
table of :func:`mmstudio.demo.table.demo_table` (built once into the cache, with a
progress bar, then read back), held in :attr:`QtPrinciplesPanel.demo_table`.

In the main window: ``self.add_panel("Principles", QtPrinciplesPanel(self.workspace))``.
"""

from __future__ import annotations

import weakref

import numpy as np
from PySide6 import QtCore, QtWidgets

from mmstudio.ui.guard import guarded
from mmstudio.ui.panel_visibility import on_screen
from mmstudio.ui.principles.pages import PAGES

MIN_SAMPLES = 200          # a workspace table with fewer paired samples is too small to learn from
QUEUED = QtCore.Qt.ConnectionType.QueuedConnection


def paired_samples(table, modalities=("image", "audio"), rows=None) -> int:
    """How many samples of ``table`` (of its ``rows``, when given) have every one of ``modalities``."""
    if table is None or len(table) == 0:
        return 0
    within = np.ones(len(table), bool)
    if rows is not None:
        within[:] = False
        within[rows] = True
    ids = [set(table.sample_id[(table.modality == m) & within].tolist()) for m in modalities]
    return len(set.intersection(*ids))


def table_fits(table, columns: set[str], modalities=("image", "audio"), paired: int | None = None) -> bool:
    """Whether ``table`` has every label column and enough samples with every modality (``paired``:
    :func:`paired_samples`, when known)."""
    if table is None or len(table) == 0 or any(c != "label" and c not in table.columns for c in columns):
        return False
    return (paired_samples(table, modalities) if paired is None else paired) >= MIN_SAMPLES


def _key(value):
    """A hashable, order-independent stand-in for an options dict."""
    if isinstance(value, dict):
        return tuple(sorted((k, _key(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_key(v) for v in value)
    return value


class QtPrinciplesPanel(QtWidgets.QWidget):
    resultShown = QtCore.Signal(str)       # a principle's page drew a (new or cached) result
    failed = QtCore.Signal(str, str)       # principle, message

    def __init__(self, workspace, parent=None):
        super().__init__(parent)
        self.workspace, self.runner = workspace, workspace.runner
        self.demo_table = None             # the demo world's table, once loaded (tests may set a small one)
        self.results: dict[str, object] = {}   # principle → the result its page shows
        self.cache: dict[tuple, object] = {}    # (principle, options, data) → result
        self.jobs: dict[str, object] = {}       # principle → its running job
        self._kind = f"principles-{id(self):x}"
        self.list = QtWidgets.QListWidget()
        self.list.setFixedWidth(150)
        self.list.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack = QtWidgets.QStackedWidget()
        self.pages = {}
        for name, cls in PAGES.items():
            page = cls()
            page.runRequested.connect(self.run)
            self.pages[name] = page
            self.stack.addWidget(page)
            item = QtWidgets.QListWidgetItem(page.short or page.title)
            item.setToolTip(page.title)
            self.list.addItem(item)
        self.list.currentRowChanged.connect(self._page_picked)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)
        layout.addWidget(self.stack, 1)
        self.list.setCurrentRow(0)
        self._labels_for = None            # the table the data labels were written for
        self._paired = None                # (weak reference to a table, its paired_samples)
        workspace.tableChanged.connect(self._table_changed)
        workspace.row_filter.changed.connect(self._table_changed)   # the open table's rows: the filtered ones
        self._update_data_labels()

    # ------------------------------------------------------------------ pages
    def current(self) -> str:
        return list(self.pages)[self.stack.currentIndex()]

    def show_page(self, name: str) -> None:
        self.list.setCurrentRow(list(self.pages).index(name))

    def _page_picked(self, row: int) -> None:
        self.stack.setCurrentIndex(row)
        self._run_if_needed()

    @guarded(None)
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.came_on_screen()

    def came_on_screen(self) -> None:
        """Shown (or its tab brought forward): the data labels, and the current page's result."""
        if not on_screen(self):
            return
        if self._labels_for is not self.workspace.table:
            self._update_data_labels()
        self._run_if_needed()

    def _run_if_needed(self) -> None:
        """A page on screen without a result (or, for PoE, always) computes one."""
        name = self.current()
        page = self.pages[name]
        if on_screen(self) and (page.result is None or not page.trained) and name not in self.jobs:
            self.run(name)

    # ------------------------------------------------------------------ data
    def table_for(self, name: str, options: dict):
        """(table to pass, or None for the demo world's; a few words on which; the filter's rows of that
        table, or None for all of them), for these options."""
        from mmstudio.analysis.principles.registry import PRINCIPLES

        columns = self.pages[name].columns(options)
        if not PRINCIPLES[name].uses_table or not columns:
            return None, "", None
        table, rows = self.workspace.row_filter.scope()
        paired = self._paired_samples(table, rows)
        scope = self.workspace.row_filter.summary()
        if table_fits(table, columns, paired=paired):
            return table, f"Data: the open table ({scope + '; ' if scope else ''}{paired} samples with image " \
                          "and audio).", rows
        return None, ("Data: the demo world (built once into the cache). To use yours, open a table with image "
                      f"and audio rows and {' and '.join(map(repr, sorted(columns)))} label columns"
                      + (f" ({scope}: {paired} samples with image and audio shown)." if scope else ".")), None

    def _paired_samples(self, table, rows=None) -> int:
        """:func:`paired_samples` of the table (and the filter's rows), counted once per table and filter."""
        version = None if rows is None else self.workspace.row_filter.version
        known = self._paired
        if known is not None and known[0]() is table and known[1] == version:
            return known[2]
        n = paired_samples(table, rows=rows)
        if table is not None:
            self._paired = (weakref.ref(table), version, n)
        return n

    def _table_changed(self) -> None:
        """Forget results of tables no longer open (their keys hold the table's id, which a later table
        may reuse; and the filter's version); the data labels are written when the panel is next on screen."""
        current = id(self.workspace.table)
        self.cache = {k: v for k, v in self.cache.items()
                      if not isinstance(k[2], (int, tuple)) or k[2] == current
                      or (isinstance(k[2], tuple) and k[2][0] == current)}
        self._labels_for = None
        if on_screen(self):
            self._update_data_labels()

    def _update_data_labels(self) -> None:
        """Say which data each page uses."""
        self._labels_for = self.workspace.table
        for name, page in self.pages.items():
            page.data_label.setText(self.table_for(name, page.options())[1])

    # ------------------------------------------------------------------ running
    def run(self, name: str) -> None:
        """Show the principle's result for its page's current options: from the cache, computed at
        once (closed form), or from a job."""
        from mmstudio.analysis.principles.registry import run_principle

        page = self.pages[name]
        options = page.options()
        table, data_text, rows = self.table_for(name, options)
        page.data_label.setText(data_text)
        if not page.trained:
            try:
                result = run_principle(name, None, **options)
            except ValueError as exc:
                page.set_error(str(exc))
                return
            self._show(name, result)
            return
        uses_data = bool(self.pages[name].columns(options))
        source = id(table) if table is not None else ("demo" if uses_data else None)
        if table is not None and rows is not None:
            source = (id(table), self.workspace.row_filter.version)
        key = (name, _key(options), source)
        if key in self.cache:
            job = self.jobs.pop(name, None)
            if job is not None:
                job.cancel()
                self.runner.latest.pop(job.kind, None)
            self._show(name, self.cache[key])
            return
        demo = self.demo_table

        def work(job):
            data = table if rows is None else table.take(rows)
            if data is None and uses_data:
                data = demo
                if data is None:
                    from mmstudio.demo.table import demo_table

                    job.status("reading the demo world (the first time: rendering and embedding it)")
                    data = demo_table(job=job)
            job.status("training")
            return data, run_principle(name, data, job=job, **options)

        page.set_busy("computing…")
        job = self.runner.start(f"{self._kind}-{name}", work, label=f"principle {name}",
                                on_done=lambda out: self._done(name, key, table, out),
                                on_progress=page.set_progress,
                                on_error=lambda message: self._failed(name, message), panel=True)
        job.signals.status.connect(page.set_status, QUEUED)
        job.signals.cancelled.connect(lambda: self._cancelled(name, job), QUEUED)
        self.jobs[name] = job

    def _done(self, name: str, key: tuple, table, out) -> None:
        self.jobs.pop(name, None)
        data, result = out
        if table is None and data is not None:
            self.demo_table = data
        self.cache[key] = result
        self._show(name, result)

    def _failed(self, name: str, message: str) -> None:
        self.jobs.pop(name, None)
        first = message.splitlines()[0] if message else "failed"
        self.pages[name].set_error(f"Could not compute: {first}")
        self.failed.emit(name, message)

    def _cancelled(self, name: str, job) -> None:
        if self.jobs.get(name) is job:          # cancelled from outside (the status bar's Cancel)
            self.jobs.pop(name)
            self.pages[name].set_busy(None)

    def _show(self, name: str, result) -> None:
        self.results[name] = result
        page = self.pages[name]
        note = getattr(result, "sample_note", "")
        text = page.data_label.text().split(" It learned from ")[0]
        page.data_label.setText(text + (f" It learned from {note}." if note else ""))
        page.show_result(result)
        self.resultShown.emit(name)

    def busy(self) -> bool:
        return bool(self.jobs)

    # ------------------------------------------------------------------ project files and reports
    def settings(self) -> dict:
        return {"page": self.current(), "pages": {name: page.settings() for name, page in self.pages.items()}}

    def apply_settings(self, settings: dict) -> None:
        for name, values in (settings.get("pages") or {}).items():
            if name in self.pages and isinstance(values, dict):
                self.pages[name].apply_settings(values)
        page = settings.get("page")
        self.list.blockSignals(True)
        if page in self.pages:
            self.list.setCurrentRow(list(self.pages).index(page))
            self.stack.setCurrentIndex(self.list.currentRow())
        self.list.blockSignals(False)
        self._update_data_labels()
        for name, p in self.pages.items():
            if not p.trained:
                self.run(name)       # instant: redraw with the restored sliders
            elif p.result is not None or (name == self.current() and on_screen(self)):
                self.run(name)       # from the cache, or computed for the restored options

    def report(self) -> dict | None:
        """The latest result of each principle, as plain data (``to_dict()``), or None before any."""
        if not self.results:
            return None
        return {name: result.to_dict() for name, result in self.results.items()}
