"""The query's sample side by side: every modality of it (the query framed blue, its partners with their
ranks, green at rank 1), what the model put first instead where a partner is not first, and the way to
the Inspector's attention map for the sample's picture or sound and caption (or the caption put first)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtWidgets

from mmstudio.ui.retrieval.gallery import TILE, QtGallery, Tile

MEDIA_WORDS = {"image": "image", "audio": "sound"}


@dataclass
class AttentionLink:
    """A button: show where ``text`` looks in ``media_row`` (the Inspector's attention view)."""

    label: str
    media_row: int
    text: str
    tip: str
    enabled: bool = True


class QtPairView(QtWidgets.QWidget):
    picked = QtCore.Signal(int)                 # a tile clicked: its row
    opened = QtCore.Signal(int)                 # a tile double-clicked
    attentionRequested = QtCore.Signal(int, str)  # media row, text

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QtWidgets.QLabel()
        self.title.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.sample = QtGallery()
        self.sample.setToolTip("The query's sample: every modality of it, with where each partner ranks")
        self.sample.picked.connect(self.picked)
        self.sample.opened.connect(self.opened)
        self.instead = QtWidgets.QLabel()
        self.instead.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.instead.setWordWrap(True)
        self.instead.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.instead.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.links: list[AttentionLink] = []
        self.buttons: list[QtWidgets.QPushButton] = []
        self.button_row = QtWidgets.QHBoxLayout()
        self.button_row.setContentsMargins(0, 0, 0, 0)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(3)
        layout.addWidget(self.title)
        layout.addWidget(self.sample)
        layout.addWidget(self.instead)
        layout.addLayout(self.button_row)
        layout.addStretch(1)

    def show_sample(self, title: str, tiles: list[Tile], instead: list[str], links: list[AttentionLink]) -> None:
        """The sample's tiles, one line per modality whose partner is not first, and the attention buttons."""
        self.title.setText(title)
        self.sample.set_tiles(tiles)
        self.sample.setMinimumWidth(max(1, len(tiles)) * TILE.width() + 2 * self.sample.frameWidth() + 2)
        self.instead.setText("<br>".join(instead))
        self.instead.setVisible(bool(instead))
        self.links = list(links)
        for button in self.buttons:
            self.button_row.removeWidget(button)
            button.deleteLater()
        self.buttons = []
        for link in self.links:
            button = QtWidgets.QPushButton(link.label)
            button.setToolTip(link.tip)
            button.setEnabled(link.enabled)
            button.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
            button.clicked.connect(lambda _=False, lk=link: self.attentionRequested.emit(lk.media_row, lk.text))
            self.button_row.addWidget(button)
            self.buttons.append(button)
