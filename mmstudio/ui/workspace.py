"""What the window shows, and the background work that keeps it current.

The workspace holds the samples (a :class:`Dataset`), the current encoder, the embedding
table of everything encoded so far, the 2-D layout of its rows, the selection and the named
subsets (:class:`~mmstudio.core.subsets.Subsets`). Every
long step (loading a model, encoding, projecting) is a job on the :class:`QtRunner`; the
window listens to the signals below.

The map is stable: rows join it as their batches are encoded, placed among their nearest
neighbours on the map as it is (:class:`~mmstudio.ui.map.feed.MapFeed`), and no point already
there moves. A new fit of every row happens when the user asks (Refit, Reproject…), or by
itself once nothing is left to add when the map is still the first preview or when more than
``AUTO_REFIT_SHARE`` of its points were placed rather than fitted; the old layout stays on the
screen until the fit is done, then the view glides to it.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

from mmstudio.analysis.projection.growing import GrowingMap
from mmstudio.core.dataset import Dataset
from mmstudio.core.subsets import Subsets
from mmstudio.core.tables.table import EmbeddingTable
from mmstudio.ui.map.feed import MapFeed
from mmstudio.ui.row_filter import RowFilter
from mmstudio.ui.workers import QtRunner

# A fit of every row starts by itself when the points placed since the last fit are more than half of
# the map: the fitted ones are then a minority, and groups new to the map are piled onto their nearest
# old points. Below that the map keeps its layout and Refit is the user's choice.
AUTO_REFIT_SHARE = 0.5
UMAP_MIN_ROWS = 20   # fewer rows are laid out by PCA
NEIGHBOURS_AT_ONCE = 50_000   # up to this many rows a selection's nearest items are found at once; above, by a job


class PcaLayout:
    """The PCA layout of the table's rows (the preview before UMAP, or the final one)."""

    def __init__(self, xy: np.ndarray):
        self.xy = xy


class Workspace(QtCore.QObject):
    datasetChanged = QtCore.Signal()
    tableChanged = QtCore.Signal()          # rows added or replaced
    layoutChanged = QtCore.Signal(bool)     # new xy; True when it is the final layout (not an animation frame)
    pointsAdded = QtCore.Signal(int)        # rows from this one on joined table and xy; the others did not move
    selectionChanged = QtCore.Signal()
    neighboursChanged = QtCore.Signal()     # selection_neighbours found (by a job, on a large table)
    subsetsChanged = QtCore.Signal()        # a named subset was added, renamed, recoloured or removed
    modelChanged = QtCore.Signal(str)
    modelFailed = QtCore.Signal(str, str)   # the model asked for, why it cannot be loaded
    queryCleared = QtCore.Signal()          # the query was dropped (its star and its text go)
    message = QtCore.Signal(str)            # a line for the log

    def __init__(self, runner: QtRunner, model: str = "builtin", device: str = "auto", parent=None):
        super().__init__(parent)
        self.runner = runner
        self.dataset = Dataset()
        self.sources: list[str] = []          # what the user opened, in order (for projects)
        self.model_name, self.device = model, device
        self.encoder = None
        self.cache = None
        self.table: EmbeddingTable | None = None
        self.opened_tables: list[EmbeddingTable] = []  # read from disk, not encoded here: kept across models
        self.xy = np.zeros((0, 2), np.float32)   # the layout shown: map.xy (the aligner lends it frames)
        self.map = GrowingMap()                   # fitted rows, then rows placed on them
        self.fit_method: str | None = None        # what laid out the fitted rows ("umap", "pca"; None: a preview)
        self.layout_final = False
        self.category_colours: dict[str, dict[str, str]] = {}   # column → value → "#rrggbb", kept as rows come
        self.feed = MapFeed(self)
        self.projection = {"method": "umap", "n_neighbors": 15, "min_dist": 0.1, "metric": "cosine", "seed": None}
        self.selection = np.zeros(0, np.int64)
        self.selection_neighbours = np.zeros(0, np.int64)   # the selection's nearest items of the other modalities
        self.selection_centre: np.ndarray | None = None      # and the mean of its vectors (found with them)
        self.subsets = Subsets(lambda: self.table, self.subsetsChanged.emit)  # name → mask over the rows shown
        self.query: tuple[str, np.ndarray] | None = None     # text and its vector
        self._query_placement = None                          # its nearest rows and their weights on the map
        self._pending_samples = []
        self._reported: set = set()           # errors already said in the Log
        self.row_filter = RowFilter(self)         # the filter bar's mask: the map, the library and the panels
        self.tableChanged.connect(self._rows_changed)

    # ------------------------------------------------------------------ opening things
    def open_paths(self, paths) -> None:
        """Media files, folders and manifests (encoded), and embedding tables (``.parquet``, ``.npz``, a
        folder of Parquet shards from ``embed --engine ray``: shown as they are), told apart off the GUI thread."""
        paths = [str(p) for p in paths]
        self.sources += [p for p in paths if p not in self.sources]

        def load(job):
            from mmstudio.core.sources.inputs import load_paths
            from mmstudio.core.tables.files import TableFormatError, is_table_path

            tables, media, problems = [], [], []
            for path in paths:
                (tables if is_table_path(path) else media).append(path)
            opened = []
            for path in tables:
                job.status(f"reading {path}")
                try:
                    opened.append((path, EmbeddingTable.read(path)))
                except (OSError, TableFormatError) as exc:
                    problems.append(f"cannot open {path}: {exc}")
            job.status("reading " + ", ".join(media[:2]) + ("…" if len(media) > 2 else ""))
            return (load_paths(media) if media else None), opened, problems

        self.runner.start("open", load, label="open", on_done=self._opened)

    def clear(self) -> None:
        """Forget every sample, item, layout, selection and query (before opening a project)."""
        self._stop_map_jobs("open")
        self.dataset, self.sources, self._pending_samples, self.opened_tables = Dataset(), [], [], []
        self._reported = set()
        self._forget_map()
        self.category_colours = {}
        self.selection, self.query = np.zeros(0, np.int64), None
        self.subsets.clear()
        self.datasetChanged.emit()
        self.tableChanged.emit()
        self.selectionChanged.emit()

    def _stop_map_jobs(self, *kinds) -> None:
        """Cancel the jobs that feed the map (encodings, placing, fits, and ``kinds``); their results are dropped."""
        def stops(kind):
            return kind in ("place", "project", *kinds) or kind.startswith("encode-")

        for job in list(self.runner.running):
            if stops(job.kind):
                job.dropped = True   # not the user's Cancel: what replaces it may refit by itself
                job.cancel()
        self.runner.latest = {k: v for k, v in self.runner.latest.items() if not stops(k)}

    def _forget_map(self) -> None:
        """No rows and no layout (what is on its way to the map is dropped)."""
        self.feed.clear()
        self.map.clear()
        self.table, self.xy, self.layout_final, self.fit_method = None, self.map.xy, False, None

    def _opened(self, result) -> None:
        dataset, tables, problems = result
        for line in problems:
            self.message.emit(line)
        for path, table in tables:
            self._table_opened(path, table)
        if dataset is not None:
            self._media_opened(dataset)

    def _table_opened(self, path: str, table: EmbeddingTable) -> None:
        self.message.emit(f"opened {len(table):,} embedded items of {table.model or 'an unknown model'} from {path}")
        if self.table is not None and len(self.table) and len(table) and self.table.dim != table.dim:
            self.message.emit(f"  its {table.dim}-d vectors replace the {self.table.dim}-d ones shown")
            self._stop_map_jobs()
            self._forget_map()
            self.opened_tables = []
            self.tableChanged.emit()
        self.opened_tables.append(table)
        self._report(table)
        self.feed.add(f"table-{id(table)}", table)

    def _media_opened(self, dataset: Dataset) -> None:
        told = len(self.dataset.duplicates)
        self.dataset.extend(dataset)   # a sample whose id is taken already is renamed and listed in duplicates
        skipped = self._unreported(dataset.skipped)
        self.message.emit(f"opened {len(dataset)} samples" + (f", {len(skipped)} files skipped" if skipped else ""))
        for error in skipped:
            self.message.emit(f"  skipped {error}")
        for note in dataset.notes:
            self.message.emit(f"  note: {note}")
        duplicates = self.dataset.duplicates[told:]
        if duplicates:
            more = f" (and {len(duplicates) - 1} more, listed in the Library)" if len(duplicates) > 1 else ""
            self.message.emit(f"  {len(duplicates)} duplicate sample id{'s' if len(duplicates) > 1 else ''}, "
                              f"nothing dropped: {duplicates[0]}{more}")
        self.datasetChanged.emit()
        self.encode(dataset)

    def problems(self) -> list:
        """Every file or item that was skipped or could not be embedded, once (the encoded table
        repeats the dataset's own errors), and every sample kept under a new id because its id was
        taken (``dataset.duplicates``): what the library lists and the status bar counts."""
        table_errors = self.table.errors if self.table is not None else []
        return list(dict.fromkeys([*self.dataset.errors, *table_errors, *self.dataset.duplicates]))

    def problems_counted(self) -> str:
        """What :meth:`problems` holds, counted for a status line: ' · 3 skipped · 1 duplicate id' ('' if none)."""
        duplicates = len(self.dataset.duplicates)
        skipped = len(self.problems()) - duplicates
        return ((f" · {skipped} skipped" if skipped else "")
                + (f" · {duplicates} duplicate id{'s' if duplicates > 1 else ''}" if duplicates else ""))

    def _unreported(self, errors) -> list:
        """The errors not yet said in the Log (each is said once)."""
        new = [e for e in dict.fromkeys(errors) if e not in self._reported]
        self._reported.update(new)
        return new

    # ------------------------------------------------------------------ the model
    def set_model(self, name: str, device: str | None = None) -> None:
        """Load a model in the background; on success re-encode everything; on failure keep the old one."""
        device = device or self.device

        def load(job):
            from mmstudio.core.cache import EmbeddingCache
            from mmstudio.encoders.registry import load_encoder

            job.status(f"loading {name}")
            cache = self.cache or EmbeddingCache()
            return load_encoder(name, device=device, cache=cache), cache

        def loaded(result):
            self.encoder, self.cache = result
            self.model_name, self.device = name, device
            self.modelChanged.emit(name)
            self.message.emit(f"model {self.encoder.describe()}")
            if len(self.dataset):  # encoded rows join them: only tables of the new model's dimension stay
                self.opened_tables = [t for t in self.opened_tables if t.dim == self.encoder.dim]
            self._stop_map_jobs()   # what the old model was encoding
            self._forget_map()
            self.tableChanged.emit()
            for table in self.opened_tables:
                self.feed.add(f"table-{id(table)}", table)
            if len(self.dataset):
                self.encode(self.dataset)

        job = self.runner.start("model", load, label=f"load model {name}", on_done=loaded,
                                on_error=lambda _message: self._model_failed(name, job.error))

    def _model_failed(self, name: str, error: BaseException | None) -> None:
        self.message.emit(f"keeping {self.model_name}: could not load {name}")
        reason = getattr(error, "reason", None) or (str(error).strip().splitlines() or ["it failed to load"])[0]
        self.modelFailed.emit(name, reason)

    def ensure_model(self) -> None:
        if self.encoder is None and "model" not in {j.kind for j in self.runner.running}:
            self.set_model(self.model_name, self.device)

    # ------------------------------------------------------------------ encoding
    def encode(self, dataset: Dataset) -> None:
        if self.encoder is None:
            self._pending_samples.append(dataset)
            self.ensure_model()
            return
        encoder, cache = self.encoder, self.cache

        def work(job):
            from mmstudio.encoders.embed import embed_dataset

            return embed_dataset(dataset, encoder, cache=cache, job=job)

        key = f"encode-{id(dataset)}"
        self.runner.start(key, work, label=f"encode {len(dataset)} samples",
                          on_partial=lambda batch: self.feed.add(key, batch.table),
                          on_done=lambda table: self._encoded(key, table))

    def _encoded(self, key: str, table: EmbeddingTable) -> None:
        """An encoding is done: its rows are on the map already (they came batch by batch); its final
        table replaces them (with its errors) once they are all in."""
        self._report(table)
        self.feed.finish(key, table)

    def _report(self, table: EmbeddingTable) -> None:
        """The table's errors and notes in the Log, each once."""
        errors = self._unreported(table.errors)
        if errors:
            self.message.emit(f"{len(errors)} items could not be embedded:")
            for error in errors[:200]:
                self.message.emit(f"  {error}")
        told = set(self.dataset.notes)  # told when the files were opened
        for note in [n for n in table.notes if n not in told][:200]:
            self.message.emit(f"note: {note}")

    def modelReady(self) -> bool:
        return self.encoder is not None

    # ------------------------------------------------------------------ layout
    def reproject(self, **params) -> None:
        """A new layout of every row with these parameters (UMAP, or PCA) in a background job; the map
        keeps its layout until the job is done, then the view animates to the new one."""
        self.projection.update(params)
        self._fit(from_current=False)

    def refit(self) -> None:
        """A new UMAP of every row that starts from the map as it is (placed points included), so the
        points move rather than jump; the old layout stays until it is done."""
        self._fit(from_current=True)

    def fitting(self) -> bool:
        return "project" in self.runner.latest

    def _fit(self, from_current: bool) -> bool:
        """Start the fit; False when there is nothing to fit."""
        if self.table is None or len(self.table) == 0 or len(self.map) != len(self.table):
            return False
        table, vectors, n = self.table, self.table.vectors, len(self.table)
        umap = self.projection["method"] != "pca" and n >= UMAP_MIN_ROWS
        init = self.map.xy.copy() if from_current and umap and self.fit_method is not None else None
        options = {k: v for k, v in self.projection.items() if k != "method"}
        generation = self.feed.generation

        def work(job):
            from mmstudio.analysis.projection.project import pca_2d, project, refit
            from mmstudio.ui.colors import modality_codes

            modality_codes(table)  # what the view colours and shapes the points by, computed here once
            if not umap:
                job.status("PCA")
                return PcaLayout(pca_2d(vectors) if n > 2 else np.zeros((n, 2), np.float32))
            if init is not None:
                return refit(vectors, init, snapshots=0, job=job, **options)
            return project(vectors, "umap", preview=False, snapshots=0, groups=table.modality, job=job, **options)

        label = ("refit" if init is not None else "UMAP") if umap else "PCA"
        job = self.runner.start("project", work, label=label,
                                on_done=lambda result: self._fitted(result, n, generation, job),
                                on_partial=lambda layout: self._fit_partial(layout, n, generation, job))
        return True

    def _fit_partial(self, layout, n: int, generation: int, job) -> None:
        """A landmark map as it comes (its landmarks laid out, then rows placed block by block) is shown;
        the map itself (``self.map``) takes only the final layout, and a fit that ends without one
        (cancelled, failed) gives the shown layout back to it."""
        if (layout.method not in ("landmarks", "placing", "refining") or generation != self.feed.generation
                or len(self.map) != n or job.cancelled()):
            return
        if self.xy is self.map.xy:  # the first: put the map's own layout back if no final one comes
            self.runner.ended.connect(self._fit_ended)
        self.xy = layout.xy
        self.layoutChanged.emit(False)

    def _fit_ended(self, job) -> None:
        if job.kind != "project":
            return
        self.runner.ended.disconnect(self._fit_ended)
        QtCore.QTimer.singleShot(0, self, self._own_layout_back)   # after the job's result, if it has one

    def _own_layout_back(self) -> None:
        if self.xy is not self.map.xy and len(self.map) == len(self.xy):
            self.xy = self.map.xy
            self.layoutChanged.emit(True)

    def _fitted(self, result, n: int, generation: int, job) -> None:
        if generation != self.feed.generation or len(self.map) < n or job.cancelled():
            return  # the rows were replaced meanwhile, or the user cancelled it: the map stays as it is
        self.map.fitted_layout(result.xy)
        self.xy = self.map.xy
        self.fit_method = "pca" if isinstance(result, PcaLayout) else "umap"
        self.layout_final = True
        self.layoutChanged.emit(True)
        if not isinstance(result, PcaLayout):
            how = f" ({result.note})" if getattr(result, "path", "") == "landmarks" else ""
            self.message.emit(f"UMAP of {n:,} points{how}" + (" (from the layout cache)" if result.cached else
                                                              f" in {sum(result.timing.values()):.1f} s"))
        self.feed.pump()

    def rows_settled(self) -> None:
        """Nothing left to place: refit by itself when the map is a preview or mostly placed points
        (see ``AUTO_REFIT_SHARE``), once no encoding, opening or fit is on its way; else the layout
        is final (``layout_final``: nothing more is coming to it)."""
        busy = [j for j in self.runner.running if j.kind in ("open", "model", "project") or j.kind.startswith("encode-")]
        if busy or len(self.map) == 0 or self.fitting():
            return
        wanted = self.fit_method is None or self.map.placed_share() > AUTO_REFIT_SHARE
        if not (wanted and not self.feed.held and self._fit(from_current=self.fit_method is not None)):
            self.layout_final = True

    # ------------------------------------------------------------------ selection and query
    def select(self, rows) -> None:
        rows = (rows if isinstance(rows, np.ndarray) else np.fromiter(rows, np.int64)).astype(np.int64, copy=False)
        ordered = len(rows) < 2 or bool((rows[1:] > rows[:-1]).all())   # a box's rows come sorted already
        self.selection = rows.reshape(-1).copy() if ordered else np.unique(rows)
        self._find_neighbours()
        self.selectionChanged.emit()

    def _rows_changed(self) -> None:
        """Rows joined or were replaced: the selection's nearest items are found again among them all."""
        if len(self.selection):
            self._find_neighbours()
            self.neighboursChanged.emit()

    def _find_neighbours(self, k: int = 5) -> None:
        """``selection_neighbours``: the selection's k nearest rows of the other modalities, found at once on a
        table of up to ``NEIGHBOURS_AT_ONCE`` rows, else by a job (``neighboursChanged`` once they are in;
        none meanwhile): a million rows' matrix product stays off the window's thread."""
        running = self.runner.latest.pop("neighbours", None)
        if running is not None:
            running.cancel()
        table, rows = self.table, self.selection
        self.selection_neighbours, self.selection_centre = np.zeros(0, np.int64), None
        if table is None or len(rows) == 0 or rows[-1] >= len(table):
            return
        if len(table) <= NEIGHBOURS_AT_ONCE:
            self.selection_neighbours = self.neighbours(rows, k)
            self.selection_centre = table.vectors[rows].mean(axis=0)
            return

        def work(job):
            from mmstudio.analysis.alignment.neighbours import cross_modal_neighbours, mean_of

            return cross_modal_neighbours(table, rows, k), mean_of(table.vectors, rows)

        def done(result):
            if table is self.table and rows is self.selection:
                self.selection_neighbours, self.selection_centre = result
                self.neighboursChanged.emit()

        self.runner.start("neighbours", work, label="nearest items", on_done=done)

    def subset_rows(self, name: str) -> np.ndarray:
        """The rows shown now that belong to the named subset (members are kept by sample id and modality)."""
        return self.subsets.rows(name)

    def neighbours(self, rows, k: int = 5) -> np.ndarray:
        """For the selected rows, the k nearest rows of every other modality (cosine)."""
        from mmstudio.analysis.alignment.neighbours import cross_modal_neighbours

        return cross_modal_neighbours(self.table, rows, k)

    def set_query(self, text: str, k: int = 10) -> None:
        """Embed a text with the current model (a job) and list its k nearest rows (any modality):
        ``query`` and ``query_rows`` are set and ``selectionChanged`` emitted when it is done."""
        running = self.runner.latest.pop("query", None)
        if running is not None:
            running.cancel()  # and its result is dropped
        if not text.strip() or self.encoder is None or self.table is None or len(self.table) == 0:
            self.query = None
            self.selectionChanged.emit()
            return
        encoder, table = self.encoder, self.table

        def work(job):
            from mmstudio.analysis.alignment.neighbours import text_query

            return text_query(encoder, table, text, k)

        def done(found):
            if table is not self.table:
                return  # the rows changed meanwhile: the neighbours belong to the old table
            if found.nearest is None:
                self.message.emit(f"cannot search: the table's vectors are {table.dim}-d, {encoder.name}'s "
                                  f"{len(found.vector)}-d; open it with its own model")
                self.query = None
            else:
                self.query, self.query_rows = (found.text, found.vector), found.nearest
                self._query_placement = found.placement
            self.selectionChanged.emit()

        self.runner.start("query", work, label="query", on_done=done)

    def clear_query(self) -> None:
        """Drop the query (a nearest item was picked instead); the caller changes the selection."""
        self.query = None
        self.queryCleared.emit()

    def query_position(self) -> np.ndarray | None:
        """Where the query star sits: placed among its neighbours on the current map."""
        if self.query is None or self.table is None or len(self.xy) != len(self.table):
            return None
        from mmstudio.analysis.projection.project import positions

        placed = self._query_placement
        if placed is None or len(placed[0]) == 0 or placed[0].max() >= len(self.xy):
            return None
        return positions(self.xy, *placed)[0]
