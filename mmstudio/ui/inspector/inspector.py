"""The inspector: the selected item — its picture, sound or caption, label, metadata, neighbours — and, for
several, a summary of them all (:mod:`~mmstudio.ui.inspector.summary`) above the first one."""

from __future__ import annotations

import html

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.ui.inspector.attention import QtAttentionPane
from mmstudio.ui.inspector.summary import summary_html
from mmstudio.ui.thumbnail_loader import PENDING
from mmstudio.ui.thumbnail_loader import shared as shared_thumbnails
from mmstudio.ui.tooltips import item_text
from mmstudio.ui.widgets.elided import elide_rows

PICTURE = {"image": (256, 256), "audio": (280, 90)}   # modality → the picture's size
BREAK = "\u200b"   # a zero-width space: where a long path may wrap


class QtInspector(QtWidgets.QWidget):
    def __init__(self, workspace, parent=None):
        super().__init__(parent)
        self.workspace = workspace
        self.picture = QtWidgets.QLabel()
        self.picture.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumHeight(140)
        self.picture.setWordWrap(True)
        self.picture.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.details = QtWidgets.QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.details.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        self.neighbours = QtWidgets.QListWidget()
        self.neighbours.setMinimumWidth(120)
        self.neighbours.itemActivated.connect(self._go)
        self.neighbours.itemClicked.connect(self._go)
        elide_rows(self.neighbours)   # a long caption ends in "…"; its tooltip has it whole
        top = QtWidgets.QWidget()
        top_layout = QtWidgets.QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.picture)
        self.attention = QtAttentionPane(workspace)  # outside the scrolled part: its picture fits, never scrolls
        self.attention.setVisible(False)
        top_layout.addWidget(self.details)
        top_layout.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(top)
        self.list_title = QtWidgets.QLabel()
        self.list_title.setWordWrap(True)   # "Nearest items of the other modalities" must not set the dock's width
        bottom = QtWidgets.QWidget()
        bottom_layout = QtWidgets.QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.list_title)
        bottom_layout.addWidget(self.neighbours, 1)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(self.attention)
        splitter.addWidget(scroll)
        splitter.addWidget(bottom)
        splitter.setCollapsible(0, False)
        splitter.setSizes([420, 90, 150])
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)
        self.pictures = shared_thumbnails()
        self._picture_key = None             # the picture the inspector waits for
        self._summary = (set(), [])          # a multi-selection's pictures waited for, the first item's lines
        self.pictures.ready.connect(self._picture_ready)
        workspace.selectionChanged.connect(self.refresh)
        workspace.neighboursChanged.connect(self._list_neighbours)
        workspace.tableChanged.connect(self._rows_joined)
        self._shown_sample = None            # (sample id, how many of its rows were in the table) last shown
        self.refresh()

    def _shown(self) -> tuple | None:
        ws, table = self.workspace, self.workspace.table
        if table is None or len(ws.selection) == 0 or int(ws.selection[0]) >= len(table):
            return None
        from mmstudio.core.tables.categories import categories

        found = categories(table, "sample_id")   # its rows counted by code: no comparison of a million strings
        row = int(ws.selection[0])
        code = found.codes[row]
        return table.sample_id[row], int(found.counts[code]) if code >= 0 else int(found.blank)

    def _rows_joined(self) -> None:
        """Rows joined the table: when the selected item's sample gained one (its caption, its picture),
        show the item again, so an attention map that waited for its caption is drawn."""
        shown = self._shown()
        if shown is not None and self._shown_sample is not None and shown[0] == self._shown_sample[0] \
                and shown[1] != self._shown_sample[1]:
            self.refresh()

    def _picture_ready(self, key) -> None:
        """The selected item's picture was decoded (off the GUI thread)."""
        if key in self._summary[0]:
            self._show_details(self._summary[1])
        if key == self._picture_key:
            picture = self.pictures.done.get(key)
            if picture is not None:
                self.picture.setPixmap(QtGui.QPixmap.fromImage(picture))
            else:
                self.picture.setText("")

    def refresh(self) -> None:
        ws = self.workspace
        table = ws.table
        self._picture_key = None
        self._shown_sample = self._shown()
        self._summary = (set(), [])
        self.neighbours.clear()
        self.attention.setVisible(False)
        self.picture.setVisible(True)
        querying = ws.query is not None and getattr(ws, "query_rows", None) is not None and table is not None
        if querying and len(ws.selection) == 0:  # a selection wins; its map can use the query's text
            self.picture.clear()
            self.details.setText(f"<b>Query</b>: <i>{html.escape(ws.query[0])}</i>")
            self.list_title.setText("<b>Nearest items</b>")
            self._list(ws.query_rows, ws.query[1])
            return
        if table is None or len(ws.selection) == 0:
            self.picture.setText("Select a point (click, or drag a box or lasso)")
            self.details.setText("")
            self.list_title.setText("")
            return
        self.list_title.setText("<b>Nearest items of the other modalities</b>")
        row = int(ws.selection[0])
        modality, path = table.modality[row], table.path[row]
        picture = None
        if modality in PICTURE and path:
            self._picture_key = self.pictures.key(modality, str(path), *PICTURE[modality])
            picture = self.pictures.get(*self._picture_key[:4])
        if picture is PENDING:
            self.picture.setText("loading the picture…")
        elif picture is not None:
            self.picture.setPixmap(QtGui.QPixmap.fromImage(picture))
        else:
            self.picture.setText(html.escape(item_text(table, row) or ""))
        if self.attention.show_row(row):  # the map replaces the plain picture
            self.attention.setVisible(True)
            self.picture.setVisible(modality == "text")
        lines = [f"<b>{html.escape(str(table.label[row]))}</b> · {modality} · sample {html.escape(str(table.sample_id[row]))}"]
        text = item_text(table, row)
        if text and modality == "text":
            lines.append(f"<i>{html.escape(text)}</i>")
        if path:
            lines.append(f"<small>{html.escape(str(path)).replace('/', '/' + BREAK)}</small>")  # wraps at a "/"
        for name, values in list(table.columns.items())[:24]:
            value = values[row]
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            elif isinstance(value, float):
                value = f"{value:.6g}"   # 2.85126, not 2.8512587817086 cut off by the panel's edge
            lines.append(f"{html.escape(name)}: {html.escape(str(value))}")
        self._show_details(lines)
        self._list_neighbours()

    def _list_neighbours(self) -> None:
        """The selection's nearest items of the other modalities (found by the workspace: on a large table
        by a job, and listed when it is done)."""
        ws = self.workspace
        if ws.table is None or len(ws.selection) == 0:
            return
        self.neighbours.clear()
        rows = ws.selection_neighbours
        if len(rows) and ws.selection_centre is not None:
            self._list(rows, ws.selection_centre)

    def _show_details(self, lines) -> None:
        """The item's lines; for a multi-selection, its summary first and these as its first item's."""
        rows, table = self.workspace.selection, self.workspace.table
        if len(rows) < 2 or table is None:   # a picture decoded after the table went (closed, replaced)
            self.details.setText("<br>".join(lines))
            return
        summary, waiting = summary_html(table, rows, self.pictures)
        self._summary = (waiting, lines)
        self.details.setText(summary + "<hr><b>First item</b><br>" + "<br>".join(lines))

    def _list(self, rows, centre) -> None:
        table = self.workspace.table
        sims = table.vectors[rows] @ centre / max(float(np.linalg.norm(centre)), 1e-9)
        for row, sim in sorted(zip(rows.tolist(), sims.tolist()), key=lambda p: -p[1]):
            text = item_text(table, row) or (str(table.path[row]).rsplit("/", 1)[-1] if table.path[row] else "")
            item = QtWidgets.QListWidgetItem(f"{sim:+.3f}  {table.modality[row]:<5}  {table.label[row] or ''}  {text}")
            item.setToolTip(item.text())
            item.setData(QtCore.Qt.ItemDataRole.UserRole, row)
            self.neighbours.addItem(item)

    def _go(self, item) -> None:
        if self.workspace.query is not None:
            self.workspace.clear_query()
        self.workspace.select([item.data(QtCore.Qt.ItemDataRole.UserRole)])

