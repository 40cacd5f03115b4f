"""The named subsets, listed with their colour and size: select one on the map, colour the map by it,
recolour, rename or delete it, and pick two to compare."""

from __future__ import annotations

from collections import Counter

from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.ui import colors
from mmstudio.ui.map.subset_colouring import PREFIX

NAME = QtCore.Qt.ItemDataRole.UserRole


def next_colour(used) -> str:
    """The first palette colour no subset has yet (once all are taken, the least used one)."""
    taken = Counter(str(c).lower() for c in used)
    palette = [colors.rgb_to_hex(c) for c in colors.PALETTE]
    return min(palette, key=lambda c: (taken[c], palette.index(c)))


def swatch(colour: str, size: int = 14) -> QtGui.QIcon:
    pixmap = QtGui.QPixmap(size, size)
    pixmap.fill(QtGui.QColor(colour))
    return QtGui.QIcon(pixmap)


class QtSubsetsBox(QtWidgets.QWidget):
    """The subsets of a workspace; ``view``: the map whose "Colour by" the Colour map button sets."""

    compareRequested = QtCore.Signal(str, str)

    def __init__(self, workspace, view=None, parent=None):
        super().__init__(parent)
        self.workspace, self.view = workspace, view
        self.list = QtWidgets.QListWidget()
        self.list.setToolTip("Named subsets (kept in the project). Double-click one to select its items on the map")
        self.list.itemActivated.connect(lambda item: self.select(item.data(NAME)))
        self.list.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.buttons = {}
        grid = QtWidgets.QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(2)
        actions = (("Select", "Select the subset's items on the map", self.select),
                   ("Colour map", "Colour the map by this subset (its members in its colour, the rest grey)",
                    self.colour_map),
                   ("Colour…", "Pick another colour for the subset", self.recolour_dialog),
                   ("Rename…", "Give the subset another name", self.rename_dialog),
                   ("Delete", "Delete the subset (its items stay)", self.delete_dialog))
        for i, (text, tip, slot) in enumerate(actions):
            button = QtWidgets.QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, s=slot: self._on_current(s))
            self.buttons[text] = button
            grid.addWidget(button, i // 3, i % 3)
        self.a_box, self.b_box = QtWidgets.QComboBox(), QtWidgets.QComboBox()
        for box in (self.a_box, self.b_box):
            box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(6)
        self.compare = QtWidgets.QPushButton("Compare")
        self.compare.setToolTip("The alignment metrics of both subsets side by side, each with its n")
        self.compare.clicked.connect(lambda: self.compareRequested.emit(self.a_box.currentText(),
                                                                        self.b_box.currentText()))
        row = QtWidgets.QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.a_box, 1)
        row.addWidget(QtWidgets.QLabel("vs"))
        row.addWidget(self.b_box, 1)
        row.addWidget(self.compare)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list, 1)
        layout.addLayout(grid)
        layout.addLayout(row)
        workspace.subsetsChanged.connect(self.refresh)
        workspace.tableChanged.connect(self.refresh)
        self.refresh()

    # ------------------------------------------------------------------ the list
    def refresh(self) -> None:
        subsets = self.workspace.subsets
        current = self.current()
        self.list.clear()
        for name in subsets:
            n = len(subsets.rows(name))
            members = len(subsets.members(name))
            text = f"{name} · {n:,} item{'s' if n != 1 else ''}"
            if n != members:
                text += f" ({members:,} saved)"
            item = QtWidgets.QListWidgetItem(swatch(subsets.colour(name)), text)
            item.setData(NAME, name)
            self.list.addItem(item)
            if name == current:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        names = list(subsets)
        picked = []
        for box in (self.a_box, self.b_box):   # two different subsets when there are two
            chosen = box.currentText()
            others = [n for n in names if n not in picked] or names
            pick = chosen if chosen in others else (others[0] if others else None)
            box.blockSignals(True)
            box.clear()
            for name in names:
                box.addItem(swatch(subsets.colour(name)), name)
            if pick is not None:
                box.setCurrentIndex(names.index(pick))
                picked.append(pick)
            box.blockSignals(False)
        for button in self.buttons.values():
            button.setEnabled(bool(names))
        self.compare.setEnabled(len(names) >= 2)

    def current(self) -> str | None:
        item = self.list.currentItem()
        return item.data(NAME) if item is not None else None

    def _on_current(self, slot) -> None:
        name = self.current()
        if name is not None:
            slot(name)

    def _menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        menu = QtWidgets.QMenu(self)
        for text, button in self.buttons.items():
            menu.addAction(text, button.click)
        self.list.setCurrentItem(item)
        menu.exec(self.list.viewport().mapToGlobal(pos))

    # ------------------------------------------------------------------ actions
    def select(self, name: str) -> None:
        self.workspace.select(self.workspace.subset_rows(name))

    def colour_map(self, name: str) -> None:
        if self.view is not None:
            self.view.color_by.setCurrentText(PREFIX + name)

    def recolour_dialog(self, name: str) -> None:
        colour = QtWidgets.QColorDialog.getColor(QtGui.QColor(self.workspace.subsets.colour(name)), self,
                                                 f"Colour of {name}")
        if colour.isValid():
            self.workspace.subsets.recolour(name, colour.name())

    def rename_dialog(self, name: str) -> None:
        new, ok = QtWidgets.QInputDialog.getText(self, "Rename subset", "New name", text=name)
        if ok:
            problem = self.rename(name, new)
            if problem:
                QtWidgets.QMessageBox.warning(self, "Rename subset", problem)

    def rename(self, old: str, new: str) -> str | None:
        """Rename (the map keeps colouring by it); the reason when it cannot be done."""
        colouring = self.view is not None and self.view.color_by.currentText() == PREFIX + old
        try:
            self.workspace.subsets.rename(old, new)
        except ValueError as exc:
            return str(exc)
        if colouring:
            self.view.color_by.setCurrentText(PREFIX + new.strip())
        return None

    def delete_dialog(self, name: str) -> None:
        answer = QtWidgets.QMessageBox.question(self, "Delete subset", f"Delete the subset {name}? Its items stay.")
        if answer == QtWidgets.QMessageBox.StandardButton.Yes:
            self.workspace.subsets.remove(name)
