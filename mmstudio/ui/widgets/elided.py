"""A one-line label that never widens what holds it: a text longer than its room ends in "…" and the
whole text is its tooltip. Status lines whose text changes while jobs run (the map's status, the
job in the status bar, the Log's last line) use it, so the docks around them keep their widths."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.ui.guard import guarded


def shortened(text: str, fits, least: int = 3) -> str:
    """``text`` if ``fits(text)``, else its longest prefix of at least ``least`` letters with a "." that
    fits ("squ."), else "" (a name too long for a tick or a column header)."""
    for candidate in [text] + [text[:k] + "." for k in range(len(text) - 1, least - 1, -1)]:
        if fits(candidate):
            return candidate
    return ""


class QtElidedLabel(QtWidgets.QLabel):
    def __init__(self, text: str = "", parent=None, minimum: int = 40):
        super().__init__(parent)
        self._full = ""
        self._minimum = minimum
        self.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.setText(text)

    def full_text(self) -> str:
        return self._full

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        self._full = " ".join(str(text).split()) if "\n" in str(text) else str(text)
        self._elide()

    def _elide(self) -> None:
        room = max(self.contentsRect().width(), 0)
        shown = self.fontMetrics().elidedText(self._full, QtCore.Qt.TextElideMode.ElideRight, room)
        super().setText(shown)
        self.setToolTip(self._full if shown != self._full else "")

    @guarded(None)
    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    @guarded(QtCore.QSize)
    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(self._minimum, super().minimumSizeHint().height())

    @guarded(QtCore.QSize)
    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(self.fontMetrics().horizontalAdvance(self._full) + 4, super().sizeHint().height())


class QtElideToView(QtWidgets.QStyledItemDelegate):
    """For a list without a horizontal scroll bar: a row's text ends in "…" at the list's right edge
    (Qt would cut it off there without a sign); the item's tooltip carries the whole text."""

    @guarded(None)
    def paint(self, painter: QtGui.QPainter, option, index) -> None:
        view = self.parent()
        if isinstance(view, QtWidgets.QAbstractItemView):
            option = QtWidgets.QStyleOptionViewItem(option)
            option.rect.setRight(min(option.rect.right(), view.viewport().width() - 1))
        super().paint(painter, option, index)


def elide_rows(view: QtWidgets.QListView) -> None:
    """``view``'s rows end in "…" at its right edge instead of scrolling sideways."""
    view.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setTextElideMode(QtCore.Qt.TextElideMode.ElideRight)
    view.setItemDelegate(QtElideToView(view))
