"""A row of result tiles: each item's picture, waveform or caption under a headline (its rank and cosine,
or its role), its sample and label below. Pictures come from the shared loader, decoded off the GUI
thread; a tile repaints when its picture arrives."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.ui.colors import MODALITY_COLORS
from mmstudio.ui.guard import guarded
from mmstudio.ui.thumbnail_loader import PENDING
from mmstudio.ui.thumbnail_loader import shared as shared_thumbnails

TILE = QtCore.QSize(132, 106)
PICTURE = {"image": (64, 64), "audio": (112, 36)}
MARKS = {  # a tile's emphasis → (border, fill)
    "partner": ((46, 157, 79), (225, 244, 229)),
    "query": ((66, 133, 244), (228, 237, 252)),
    "missed": ((214, 39, 40), (251, 228, 228)),     # a true partner the model did not put first
    "instead": ((230, 130, 20), (253, 240, 222)),   # what it put first instead
}
EntryRole = QtCore.Qt.ItemDataRole.UserRole + 1


@dataclass
class Tile:
    """What a tile shows."""

    row: int | None                 # the table row (None: a typed text, not an item)
    modality: str
    headline: str                   # "#3 · 0.512", "query", "true partner · rank 37"…
    path: str = ""
    text: str = ""                  # a caption (text items, typed queries)
    footer: str = ""                # sample id and label
    mark: str | None = None         # "partner", "query", "missed", "instead" (see MARKS)
    tip: str = ""


class TileModel(QtCore.QAbstractListModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.tiles: list[Tile] = []

    def set_tiles(self, tiles: list[Tile]) -> None:
        self.beginResetModel()
        self.tiles = list(tiles)
        self.endResetModel()

    @guarded(0)
    def rowCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.tiles)

    @guarded(None)
    def data(self, index, role=QtCore.Qt.ItemDataRole.DisplayRole):
        tile = self.tiles[index.row()]
        if role == EntryRole:
            return tile
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return tile.headline
        if role == QtCore.Qt.ItemDataRole.ToolTipRole:
            if tile.tip:   # the headline (rank · cosine) first: a narrow tile elides it
                return tile.tip if tile.tip.startswith(tile.headline) else f"{tile.headline}\n{tile.tip}"
            return "\n".join(t for t in (tile.headline, tile.text, tile.footer) if t)
        return None


class TileDelegate(QtWidgets.QStyledItemDelegate):
    def __init__(self, view: QtWidgets.QAbstractItemView):
        super().__init__(view)
        self.pictures = shared_thumbnails()
        self.pictures.ready.connect(view.viewport().update)

    @guarded(QtCore.QSize)
    def sizeHint(self, option, index) -> QtCore.QSize:
        return QtCore.QSize(TILE)

    @guarded(None)
    def paint(self, painter: QtGui.QPainter, option, index) -> None:
        tile: Tile = index.data(EntryRole)
        painter.save()
        rect = option.rect.adjusted(3, 3, -3, -3)
        border, fill = MARKS.get(tile.mark, (None, None))
        selected = bool(option.state & QtWidgets.QStyle.StateFlag.State_Selected)
        if fill is not None:
            painter.fillRect(rect, QtGui.QColor(*fill))
        if selected:
            painter.fillRect(rect, option.palette.highlight().color().lighter(170))
        pen = QtGui.QPen(QtGui.QColor(*border) if border else option.palette.mid().color(), 3 if border else 1)
        painter.setPen(pen)
        painter.drawRect(rect)
        text_colour = option.palette.color(QtGui.QPalette.ColorRole.Text)
        inner = rect.adjusted(5, 3, -5, -3)
        metrics = painter.fontMetrics()
        line = metrics.height()
        bold = QtGui.QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(text_colour)
        painter.drawText(QtCore.QRect(inner.left(), inner.top(), inner.width(), line), QtCore.Qt.AlignmentFlag.AlignLeft,
                         QtGui.QFontMetrics(bold).elidedText(tile.headline, QtCore.Qt.TextElideMode.ElideRight,
                                                             inner.width()))
        painter.setFont(option.font)
        body = QtCore.QRect(inner.left(), inner.top() + line + 2, inner.width(), inner.height() - 2 * line - 4)
        self._body(painter, tile, body, text_colour)
        small = QtGui.QFont(option.font)
        small.setPointSizeF(option.font.pointSizeF() * 0.85)
        painter.setFont(small)
        painter.setPen(option.palette.color(QtGui.QPalette.ColorRole.PlaceholderText))
        painter.drawText(QtCore.QRect(inner.left(), inner.bottom() - line + 1, inner.width(), line),
                         QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignBottom,
                         QtGui.QFontMetrics(small).elidedText(tile.footer, QtCore.Qt.TextElideMode.ElideRight,
                                                              inner.width()))
        painter.restore()

    def _body(self, painter: QtGui.QPainter, tile: Tile, body: QtCore.QRect, colour) -> None:
        if tile.modality in PICTURE and tile.path:
            width, height = PICTURE[tile.modality]
            picture = self.pictures.get(tile.modality, tile.path, width, height)
            if picture is PENDING:
                painter.setPen(colour)
                painter.drawText(body, QtCore.Qt.AlignmentFlag.AlignCenter, "loading…")
            elif picture is not None:
                size = picture.size().scaled(body.size(), QtCore.Qt.AspectRatioMode.KeepAspectRatio)
                size = size.boundedTo(QtCore.QSize(max(picture.width(), 1) * 2, max(picture.height(), 1) * 2))
                target = QtCore.QRect(QtCore.QPoint(0, 0), size)
                target.moveCenter(body.center())
                painter.drawImage(target, picture)
            else:
                painter.setPen(colour)
                painter.drawText(body, QtCore.Qt.AlignmentFlag.AlignCenter, "(no picture)")
            return
        if tile.text:
            painter.setPen(colour)
            painter.drawText(body, int(QtCore.Qt.TextFlag.TextWordWrap | QtCore.Qt.AlignmentFlag.AlignTop),
                             _fit(painter.fontMetrics(), tile.text, body))
            return
        badge = QtCore.QRect(0, 0, 60, 18)
        badge.moveCenter(body.center())
        painter.setBrush(QtGui.QColor(*MODALITY_COLORS.get(tile.modality, (128, 128, 128))))
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        painter.drawRoundedRect(badge, 4, 4)
        painter.setPen(QtGui.QColor(255, 255, 255))
        painter.drawText(badge, QtCore.Qt.AlignmentFlag.AlignCenter, tile.modality)


def _fit(metrics: QtGui.QFontMetrics, text: str, rect: QtCore.QRect) -> str:
    """The words of ``text`` that fit in ``rect`` when wrapped, with "…" when some are left out."""
    flags = int(QtCore.Qt.TextFlag.TextWordWrap)
    if metrics.boundingRect(rect, flags, text).height() <= rect.height():
        return text
    words = text.split()
    lo, hi = 0, len(words)
    while lo < hi:  # the most words that fit with the ellipsis
        mid = (lo + hi + 1) // 2
        if metrics.boundingRect(rect, flags, " ".join(words[:mid]) + "…").height() <= rect.height():
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo]) + "…"


class QtGallery(QtWidgets.QListView):
    """Tiles in one row, scrolled sideways; ``picked`` (a click) and ``opened`` (a double-click) carry the
    tile's table row."""

    picked = QtCore.Signal(int)
    opened = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tiles = TileModel(self)
        self.setModel(self.tiles)
        self.setItemDelegate(TileDelegate(self))
        self.setViewMode(QtWidgets.QListView.ViewMode.IconMode)
        self.setFlow(QtWidgets.QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setProperty("geometry_exempt", ["view_columns"])   # tiles in one row scroll sideways, by design
        self.setMovement(QtWidgets.QListView.Movement.Static)
        self.setResizeMode(QtWidgets.QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setSpacing(0)
        self.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setHorizontalScrollMode(QtWidgets.QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        height = TILE.height() + self.horizontalScrollBar().sizeHint().height() + 2 * self.frameWidth() + 2
        self.setFixedHeight(height)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(TILE.width() + 2 * self.frameWidth())
        self.clicked.connect(lambda index: self._emit(self.picked, index))
        self.doubleClicked.connect(lambda index: self._emit(self.opened, index))

    def set_tiles(self, tiles: list[Tile]) -> None:
        self.tiles.set_tiles(tiles)
        self.horizontalScrollBar().setValue(0)

    def tile(self, i: int) -> Tile:
        return self.tiles.tiles[i]

    def tile_rect(self, i: int) -> QtCore.QRect:
        """Where tile ``i`` is drawn, in the viewport's coordinates."""
        return self.visualRect(self.tiles.index(i))

    def _emit(self, signal, index) -> None:
        row = self.tiles.tiles[index.row()].row
        if row is not None:
            signal.emit(int(row))
