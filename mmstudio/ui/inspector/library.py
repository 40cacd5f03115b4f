"""The library: every sample with its picture, sound and caption, and every file that was skipped, with why.

The samples are the media opened (the workspace's dataset) or, for a table opened without its media (an
embeddings file), the table's own: one per sample id, made from its rows when the list draws it.

It lists what the window's one filter (:mod:`mmstudio.ui.row_filter`, edited in the filter bar) shows:
a sample when one of its rows matches; a skipped file when the filter asks for the samples with a
problem (and its sample, if it has rows, matches).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.core.dataset import MediaRef, Sample
from mmstudio.core.media.formats import MODALITIES
from mmstudio.ui.colors import MODALITY_COLORS
from mmstudio.ui.guard import guarded
from mmstudio.ui.thumbnail_loader import PENDING
from mmstudio.ui.thumbnail_loader import shared as shared_thumbnails
from mmstudio.ui.thumbnails import text_of
from mmstudio.ui.tooltips import item_text

ROW_HEIGHT = 58
LABEL_SHARE = 0.45   # of a row's first line, the most its label takes beside the sample id
MIN_WIDTH = 236      # a row's picture, its three badges and a sample id beside a short label
EntryRole = QtCore.Qt.ItemDataRole.UserRole + 2
LAYOUT_BATCH = 2000    # rows the list lays out per turn of the event loop
FOLLOW_MAX = 2000      # more samples selected elsewhere are counted under the list, not highlighted in it


class _Entries(Sequence):
    """The samples, then the skipped files, as ("sample", Sample) / ("error", ItemError) pairs, made when one is
    read (a million samples: no million tuples)."""

    def __init__(self, samples, problems) -> None:
        self.samples, self.problems = samples, list(problems)

    def __len__(self) -> int:
        return len(self.samples) + len(self.problems)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self.samples)
        if i < 0:
            i += len(self)
        return ("sample", self.samples[i]) if i < n else ("error", self.problems[i - n])


class TableSamples(Sequence):
    """The samples of a table: one per distinct sample id (sorted, as its categories are), a
    :class:`Sample` made from the sample's rows when one is read — its items' files, its first caption,
    its label. Entry ``i`` is the sample whose code is ``i`` in the table's ``sample_id`` categories, so
    a selection's samples and the filter's are found by codes, not by comparing ids."""

    CACHE = 4096   # samples kept once made (a list shows a few dozen at a time)

    def __init__(self, table) -> None:
        from mmstudio.core.tables.categories import categories

        self.table = table
        found = categories(table, "sample_id")   # kept on the table: worked out by the job that brought it
        self.ids, self.codes = found.names, found.codes
        self._representative = None
        self._made: dict[int, Sample] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i) + (len(self) if i < 0 else 0)
        made = self._made.get(i)
        if made is None:
            if len(self._made) >= self.CACHE:
                self._made.clear()
            made = self._made[i] = self._sample(i)
        return made

    def _sample(self, i: int) -> Sample:
        t = self.table
        items, label = {}, None
        for row in np.flatnonzero(self.codes == i).tolist():
            modality, path = t.modality[row], t.path[row]
            label = label if label is not None else t.label[row]
            if modality in items or modality not in MODALITIES:
                continue
            if path:
                items[modality] = MediaRef(modality, path=str(path))
            elif modality == "text" and item_text(t, row):
                items[modality] = MediaRef("text", text=str(item_text(t, row)))
        return Sample(str(self.ids[i]), items, None if label is None else str(label))

    def index_codes(self, index) -> np.ndarray | None:
        """Each sample's code in a filter index of the same table (None: another table's index)."""
        if index.table is not self.table:
            return None
        if self._representative is None:   # a row of each sample (any): the first filter of this table
            self._representative = np.zeros(len(self.ids), np.int64)
            valid = np.flatnonzero(self.codes >= 0)
            self._representative[self.codes[valid]] = valid
        return index.codes[self._representative].astype(np.int64)


class LibraryModel(QtCore.QAbstractListModel):
    """Rows: the samples, then the skipped files, of those the filter shows. An entry is
    ("sample", Sample) or ("error", ItemError); ``shown`` holds the indices of the entries listed. A Qt
    model: the list asks for the rows it draws, and nothing is made per sample until it is needed."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.entries = _Entries([], [])
        self.is_error = np.zeros(0, bool)
        self.shown = np.zeros(0, np.int64)      # the entries listed, in order
        self.position = np.zeros(0, np.int64)   # entry → its row in the list (-1: not listed)
        self._ids = None
        self._row_of = None

    @property
    def ids(self) -> np.ndarray:
        """Each entry's sample id (None: a file of no sample), made when first asked for (a filter)."""
        if self._ids is None:
            e = self.entries
            ids = getattr(e.samples, "ids", None)   # a table's samples: their ids without a Sample each
            ids = [s.id for s in e.samples] if ids is None else ids.tolist()
            self._ids = np.array(ids + [p.sample_id for p in e.problems], dtype=object)
        return self._ids

    def sample_codes(self, index) -> np.ndarray:
        """Each entry's sample code in the filter's index (-1: none), vectorised."""
        samples = self.entries.samples
        direct = samples.index_codes(index) if isinstance(samples, TableSamples) else None
        if direct is None:
            return index.sample_codes(self.ids)
        problems = index.sample_codes([p.sample_id for p in self.entries.problems])
        return np.concatenate([direct, problems]).astype(np.int64)

    @property
    def row_of(self) -> dict[str, int]:
        """Sample id → its entry, made when first asked for (a selection to follow)."""
        if self._row_of is None:
            self._row_of = {s.id: row for row, s in enumerate(self.entries.samples)}
        return self._row_of

    def holds(self, samples, problems) -> bool:
        """Whether the entries are already ``samples`` (a dataset's list, or a table's) and ``problems``."""
        e = self.entries
        return e.samples is samples and len(e.samples) == self._samples and e.problems == list(problems)

    def reset(self, samples, problems=()) -> None:
        self.beginResetModel()
        self.entries = _Entries(samples, problems)
        self._samples = len(samples)
        self._ids = self._row_of = None
        self.is_error = np.arange(len(self.entries)) >= self._samples
        self._show(None)
        self.endResetModel()

    def show_only(self, keep: np.ndarray | None) -> None:
        """List the entries where ``keep`` is True (None: every entry)."""
        self.beginResetModel()
        self._show(keep)
        self.endResetModel()

    def _show(self, keep) -> None:
        n = len(self.entries)
        self.shown = np.arange(n) if keep is None else np.flatnonzero(keep)
        self.position = np.full(n, -1, np.int64)
        self.position[self.shown] = np.arange(len(self.shown))

    def entry(self, row: int) -> tuple[str, object]:
        return self.entries[self.shown[row]]

    @guarded(0)
    def rowCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.shown)

    @guarded(None)
    def data(self, index, role=QtCore.Qt.ItemDataRole.DisplayRole):
        kind, entry = self.entry(index.row())
        if role == EntryRole:
            return kind, entry
        if role == QtCore.Qt.ItemDataRole.ToolTipRole:
            if kind == "error":
                return f"{entry.path}\n{entry.reason}"
            head = entry.id + (f" · {entry.label}" if entry.label else "")   # in full, however narrow the row
            return "\n".join([head] + [f"{m}: {r.path or r.text}" for m, r in entry.items.items()])
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return entry.id if kind == "sample" else str(entry.path)
        return None


class LibraryDelegate(QtWidgets.QStyledItemDelegate):
    draws_own_rows = True   # its text is laid out by title_line (tests/ui/test_layout.py checks it)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pictures = shared_thumbnails()
        if parent is not None:  # a picture that arrives repaints the list
            self.pictures.ready.connect(parent.viewport().update)

    @guarded(QtCore.QSize)
    def sizeHint(self, option, index) -> QtCore.QSize:
        # no width of its own: a row is as wide as the list (a width from an earlier, wider list made a
        # horizontal scroll bar that hid the labels on the right)
        return QtCore.QSize(0, ROW_HEIGHT)

    @guarded(None)
    def paint(self, painter: QtGui.QPainter, option, index) -> None:
        kind, entry = index.data(EntryRole)
        painter.save()
        rect = option.rect
        if option.state & QtWidgets.QStyle.StateFlag.State_Selected:
            painter.fillRect(rect, option.palette.highlight())
        text_color = option.palette.color(QtGui.QPalette.ColorRole.HighlightedText
                                          if option.state & QtWidgets.QStyle.StateFlag.State_Selected
                                          else QtGui.QPalette.ColorRole.Text)
        x = rect.left() + 4
        thumb_rect = QtCore.QRect(x, rect.top() + 4, ROW_HEIGHT - 8, ROW_HEIGHT - 8)
        if kind == "error":
            painter.setPen(QtGui.QColor(220, 60, 60))
            painter.drawText(thumb_rect, QtCore.Qt.AlignmentFlag.AlignCenter, "⚠")
            painter.setPen(text_color)
            body = QtCore.QRect(thumb_rect.right() + 8, rect.top() + 4, rect.width() - ROW_HEIGHT - 8, ROW_HEIGHT - 8)
            name = str(entry.path).rsplit("/", 1)[-1] if entry.path else (entry.sample_id or "?")
            painter.drawText(body, QtCore.Qt.TextFlag.TextWordWrap, f"{name}\n{entry.reason}")
            painter.restore()
            return
        items = entry.items
        kind = "image" if "image" in items and items["image"].path else "audio" if "audio" in items else None
        if kind is not None and items[kind].path:  # decoded off the GUI thread; the row repaints when it is
            picture = self.pictures.get(kind, items[kind].path, ROW_HEIGHT - 8)
            if picture is not None and picture is not PENDING:
                painter.drawImage(thumb_rect, picture)
        body_x = thumb_rect.right() + 8
        painter.setPen(text_color)
        title_font = QtGui.QFont(option.font)
        title_font.setBold(True)
        (id_rect, id_text), (label_rect, label_text) = title_line(
            QtCore.QRect(body_x, rect.top() + 3, rect.right() - 4 - body_x, 18), entry.id, entry.label or "",
            QtGui.QFontMetrics(title_font), QtGui.QFontMetrics(option.font))
        painter.setFont(title_font)
        painter.drawText(id_rect, QtCore.Qt.AlignmentFlag.AlignLeft, id_text)
        painter.setFont(option.font)
        if label_text:
            painter.drawText(label_rect, QtCore.Qt.AlignmentFlag.AlignRight, label_text)
        caption = ""
        if "text" in items:
            ref = items["text"]
            caption = ref.text if ref.text is not None else text_of(ref.path, 120)
        painter.drawText(QtCore.QRect(body_x, rect.top() + 21, rect.right() - body_x - 4, 18),
                         QtCore.Qt.AlignmentFlag.AlignLeft,
                         painter.fontMetrics().elidedText(caption, QtCore.Qt.TextElideMode.ElideRight,
                                                          rect.right() - body_x - 4))
        bx = body_x
        for modality in ("image", "audio", "text"):
            if modality in items:
                painter.setBrush(QtGui.QColor(*MODALITY_COLORS[modality]))
                painter.setPen(QtCore.Qt.PenStyle.NoPen)
                badge = QtCore.QRect(bx, rect.top() + 40, painter.fontMetrics().horizontalAdvance(modality) + 10, 14)
                painter.drawRoundedRect(badge, 4, 4)
                painter.setPen(QtGui.QColor(255, 255, 255))
                painter.drawText(badge, QtCore.Qt.AlignmentFlag.AlignCenter, modality)
                bx = badge.right() + 5
        if entry.errors:
            painter.setPen(QtGui.QColor(220, 60, 60))
            painter.drawText(QtCore.QRect(bx + 4, rect.top() + 38, rect.right() - bx, 18), QtCore.Qt.AlignmentFlag.AlignLeft,
                             f"⚠ {entry.errors[0].reason}")
        painter.restore()


def title_line(room: QtCore.QRect, sample_id: str, label: str, id_metrics, label_metrics):
    """Where a row's first line goes: the sample id on the left (bold), the label on the right, side by
    side and never over each other. The label keeps its width up to ``LABEL_SHARE`` of the room; the
    id takes the rest; either is elided ("…") when its part is too narrow. Returns
    ((id rect, id text), (label rect, label text))."""
    gap = 8 if label else 0
    label_need = label_metrics.horizontalAdvance(label) + 1 if label else 0   # +1: advances are rounded
    label_w = min(label_need, int(room.width() * LABEL_SHARE))
    id_w = max(room.width() - label_w - gap, 0)
    id_need = id_metrics.horizontalAdvance(sample_id) + 1
    if id_need < id_w and label:  # the id is short: the label may use what it leaves
        label_w = min(label_need, room.width() - id_need - gap)
        id_w = room.width() - label_w - gap
    elide = QtCore.Qt.TextElideMode.ElideRight
    id_rect = QtCore.QRect(room.left(), room.top(), id_w, room.height())
    label_rect = QtCore.QRect(room.right() + 1 - label_w, room.top(), label_w, room.height())
    return ((id_rect, id_metrics.elidedText(sample_id, elide, id_w)),
            (label_rect, label_metrics.elidedText(label, elide, label_w) if label else ""))


class QtLibrary(QtWidgets.QWidget):
    sampleActivated = QtCore.Signal(str)   # a sample id

    def __init__(self, workspace, parent=None):
        super().__init__(parent)
        self.workspace = workspace
        self.model = LibraryModel(self)
        self.list = QtWidgets.QListView()
        self.list.setModel(self.model)
        self.list.setItemDelegate(LibraryDelegate(self.list))
        self.list.setUniformItemSizes(True)
        # laid out a batch of rows per turn of the event loop: Qt asks the model for every row it lays out
        # (333,000 samples of a million-row table: 1.4 million Python calls, 2.8 s at once)
        self.list.setLayoutMode(QtWidgets.QListView.LayoutMode.Batched)
        self.list.setBatchSize(LAYOUT_BATCH)
        self.list.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # rows fit its width
        self.list.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.selectionModel().selectionChanged.connect(self._selected)
        self.counts = QtWidgets.QLabel()
        self.setMinimumWidth(MIN_WIDTH)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.counts)
        workspace.datasetChanged.connect(self.refresh)
        workspace.tableChanged.connect(self.refresh)
        workspace.selectionChanged.connect(self.follow)
        workspace.row_filter.changed.connect(self.apply_filter)
        self._codes = (None, None, np.zeros(0, np.int64))   # (index, entries, their sample codes in it)
        self._echo = False     # True while the list's selection and the workspace's are being matched
        self._crowd = 0        # samples selected elsewhere, too many to highlight here (0: highlighted)
        self._filtered = None  # (mask, index, entries, problems) the list was last filtered by

    def refresh(self) -> None:
        ws = self.workspace
        problems = ws.problems()
        samples = self._samples()
        if self.model.holds(samples, problems):   # rows joined the table, the samples are the same
            if self.workspace.row_filter.active:
                self.model.show_only(self._keep())
            self._count()
            return
        self.model.reset(samples, problems)
        if self.workspace.row_filter.active:
            self.model.show_only(self._keep())
        self._count()
        self.follow()

    def _samples(self):
        """The media's samples; a table opened without its media: the table's (kept while it is the same)."""
        ws = self.workspace
        if ws.dataset.samples or ws.table is None or not len(ws.table):
            return ws.dataset.samples
        held = getattr(self, "_table_samples", None)
        if held is None or held.table is not ws.table:
            held = self._table_samples = TableSamples(ws.table)
        return held

    def apply_filter(self) -> None:
        """List what the filter shows (it changed, or the rows it covers did)."""
        if len(self.model.entries) == 0 and len(self.model.shown) == 0:
            self._count()
            return   # nothing listed (a table opened without its media): nothing to work out per row
        rf = self.workspace.row_filter
        now = (rf.mask, rf.index, self.model.entries, rf.spec.problems)
        held = self._filtered
        if held is not None and all(a is b for a, b in zip(now[:3], held[:3])) and now[3] == held[3]:
            self._count()   # a new filter whose mask is still being worked out: the list waits for it
            return
        self._filtered = now
        self.model.show_only(self._keep())
        self._count()
        self.follow()

    def _keep(self) -> np.ndarray | None:
        """Which entries the filter shows (None: no filter): a sample with a matching row; a skipped file
        when the filter asks for problems, unless its sample has rows and none matches. Vectorised."""
        rf = self.workspace.row_filter
        hits = rf.sample_hits()
        if hits is None:
            return None
        model, index = self.model, rf.index
        if self._codes[0] is not index or self._codes[1] is not model.entries:
            self._codes = (index, model.entries, model.sample_codes(index))
        codes = self._codes[2]
        keep = hits[codes]                      # code -1 (no rows in the table): the spare False at the end
        return np.where(model.is_error, (rf.spec.problems == "only") & (keep | (codes < 0)), keep)

    def _count(self) -> None:
        ws, model = self.workspace, self.model
        samples = int((~model.is_error).sum())
        if self.workspace.row_filter.active:
            listed = int((~model.is_error[model.shown]).sum())
            text = f"filtered: {listed:,} of {samples:,} samples"
        else:
            text = f"{samples:,} samples"
        crowd = f" · {self._crowd:,} selected (too many to highlight)" if self._crowd else ""
        self.counts.setText(text + ws.problems_counted() + crowd)

    def follow(self) -> None:
        """Highlight the samples of the items selected anywhere (the map, the inspector, a query pick)."""
        if self._echo:
            return
        ws, model = self.workspace, self.model
        listed = np.zeros(0, np.int64)
        if ws.table is not None and len(ws.selection) and len(model.entries.samples):
            from mmstudio.core.tables.categories import categories

            found = categories(ws.table, "sample_id")   # the selection's distinct samples, not its rows
            present = np.zeros(len(found.names) + 1, bool)
            present[found.codes[ws.selection]] = True    # code -1 (no sample id): the spare last entry
            codes = np.flatnonzero(present[:-1])
            if isinstance(model.entries.samples, TableSamples) and model.entries.samples.table is ws.table:
                entries = codes   # a table's samples: entry i is the sample of code i
            else:
                row_of = model.row_of
                entries = np.asarray([row_of.get(i, -1) for i in found.names[codes].tolist()], np.int64)
            listed = model.position[entries[entries >= 0]]
            listed = listed[listed >= 0]
        crowd = len(listed) > FOLLOW_MAX   # a QItemSelection of 90,000 runs took seconds to make and apply
        if crowd != bool(self._crowd) or crowd:
            self._crowd = len(listed) if crowd else 0
            self._count()
        rows = [] if crowd else np.sort(listed).tolist()
        selection = QtCore.QItemSelection()
        for start, stop in _runs(rows):   # disjoint and in order: added as they are (merging is quadratic)
            selection.select(self.model.index(start), self.model.index(stop))
        self._echo = True
        try:
            self.list.selectionModel().select(selection, QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect)
        finally:
            self._echo = False
        if not selection.isEmpty():
            self.list.scrollTo(selection.indexes()[0])

    def _selected(self, *_):
        if self._echo:
            return
        ids, entries = [], []
        for index in self.list.selectionModel().selectedIndexes():
            kind, entry = index.data(EntryRole)
            if kind == "sample":
                ids.append(entry.id)
                entries.append(int(self.model.shown[index.row()]))
        table = self.workspace.table
        if table is None or not ids:
            return
        samples = self.model.entries.samples
        if isinstance(samples, TableSamples) and samples.table is table:   # by codes: no million comparisons
            rows = np.flatnonzero(np.isin(samples.codes, entries))
        else:
            rows = np.flatnonzero(np.isin(table.sample_id, ids))
        self._echo = True
        try:
            self.workspace.select(rows)
        finally:
            self._echo = False


def _runs(rows: list[int]):
    """Sorted rows → (first, last) of each run of consecutive rows."""
    start = prev = None
    for row in rows:
        if start is None:
            start = prev = row
        elif row == prev + 1:
            prev = row
        else:
            yield start, prev
            start = prev = row
    if start is not None:
        yield start, prev
