"""A gallery of table rows: image thumbnails, waveform pictures and caption cards, decoded off the GUI
thread (:mod:`mmstudio.ui.thumbnail_loader`), at most ``limit`` of them, spread evenly over the rows."""

from __future__ import annotations

import html

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.ui import colors
from mmstudio.ui.thumbnail_loader import PENDING
from mmstudio.ui.thumbnail_loader import shared as shared_thumbnails
from mmstudio.ui.tooltips import item_text

GALLERY_LIMIT = 60   # items drawn at most; the title says "showing 60 of 2,345"
ICON = 72
ROW = QtCore.Qt.ItemDataRole.UserRole


def shown_rows(rows, limit: int = GALLERY_LIMIT) -> np.ndarray:
    """``rows`` when there are at most ``limit``, else ``limit`` of them spread evenly (first and last kept)."""
    rows = np.asarray(rows, np.int64)
    if len(rows) <= limit:
        return rows
    return rows[np.unique(np.linspace(0, len(rows) - 1, limit).round().astype(np.int64))]


def caption_card(text: str, size: int = ICON) -> QtGui.QPixmap:
    """A caption as a small card (the text modality's "thumbnail"), cut to what fits."""
    pixmap = QtGui.QPixmap(size, size)
    pixmap.fill(QtGui.QColor(250, 250, 244))
    painter = QtGui.QPainter(pixmap)
    painter.setPen(QtGui.QPen(QtGui.QColor(*colors.MODALITY_COLORS["text"]), 2))
    painter.drawRect(1, 1, size - 2, size - 2)
    font = painter.font()
    font.setPointSizeF(max(6.0, font.pointSizeF() * 0.75))
    painter.setFont(font)
    painter.setPen(QtGui.QColor(30, 30, 30))
    painter.drawText(QtCore.QRectF(5, 4, size - 10, size - 8),
                     int(QtCore.Qt.TextFlag.TextWordWrap) | int(QtCore.Qt.AlignmentFlag.AlignTop), text[:120])
    painter.end()
    return pixmap


class QtGallery(QtWidgets.QListWidget):
    """Rows as icons with a caption under each; double-click one to select it alone on the map."""

    def __init__(self, workspace, limit: int = GALLERY_LIMIT, parent=None):
        super().__init__(parent)
        self.workspace, self.limit = workspace, limit
        self.rows = np.zeros(0, np.int64)      # the rows shown, in order
        self.total = 0                          # the rows asked for (shown or not)
        self._waiting: dict = {}                # picture key → items waiting for it
        self.setViewMode(QtWidgets.QListView.ViewMode.IconMode)
        self.setIconSize(QtCore.QSize(ICON, ICON))
        self.setGridSize(QtCore.QSize(ICON + 30, ICON + 2 * self.fontMetrics().height() + 12))
        self.setResizeMode(QtWidgets.QListView.ResizeMode.Adjust)
        self.setMovement(QtWidgets.QListView.Movement.Static)
        self.setWordWrap(True)
        self.setTextElideMode(QtCore.Qt.TextElideMode.ElideRight)
        self.itemActivated.connect(lambda item: workspace.select([item.data(ROW)]))
        self.pictures = shared_thumbnails()
        self.pictures.ready.connect(self._picture_ready)

    def show_rows(self, table, rows, captions=None) -> None:
        """Show ``rows`` of ``table`` (at most ``limit``); ``captions``: the text under each (default: label)."""
        self.clear()
        self._waiting = {}
        rows = np.asarray(rows, np.int64)
        self.total = len(rows)
        keep = shown_rows(np.arange(len(rows)), self.limit)
        self.rows = rows[keep]
        for i in keep.tolist():
            row = int(rows[i])
            label = table.label[row]
            caption = captions[i] if captions is not None else ("—" if label is None else str(label))
            item = QtWidgets.QListWidgetItem(caption)
            item.setData(ROW, row)
            item.setToolTip(self._tooltip(table, row))
            item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignHCenter | QtCore.Qt.AlignmentFlag.AlignTop)
            self._set_icon(item, table, row)
            self.addItem(item)

    def _set_icon(self, item, table, row: int) -> None:
        modality, path = str(table.modality[row]), table.path[row]
        if modality == "text":
            item.setIcon(QtGui.QIcon(caption_card(item_text(table, row) or "")))
            return
        if modality not in ("image", "audio") or not path:
            return
        key = self.pictures.key(modality, str(path), ICON, ICON if modality == "image" else ICON // 2)
        picture = self.pictures.get(*key[:4])
        if picture is PENDING:
            self._waiting.setdefault(key, []).append(item)
        elif picture is not None:
            item.setIcon(QtGui.QIcon(QtGui.QPixmap.fromImage(picture)))

    def _picture_ready(self, key) -> None:
        items = self._waiting.pop(key, ())
        picture = self.pictures.done.get(key)
        if picture is None:
            return
        for item in items:
            item.setIcon(QtGui.QIcon(QtGui.QPixmap.fromImage(picture)))

    @staticmethod
    def _tooltip(table, row: int) -> str:
        label = table.label[row]
        lines = [f"<b>{html.escape('(no label)' if label is None else str(label))}</b> · {table.modality[row]} · "
                 f"{html.escape(str(table.sample_id[row]))}"]
        text = item_text(table, row)
        if text:
            lines.append(f"<i>{html.escape(text)}</i>")
        lines.append("<small>double-click: select this item alone</small>")
        return "<br>".join(lines)
