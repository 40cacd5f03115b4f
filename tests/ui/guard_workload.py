"""Run as a script: a graphics item and a list model whose Qt overrides raise an exception from C
(numpy's IndexError), as a bug in paint() or data() would. Prints what sys.excepthook saw and
"survived" when the process is still alive after Qt called them (unguarded, shiboken 6.11 crashes)."""

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402

from mmstudio.ui.guard import guarded  # noqa: E402

GUARD = sys.argv[1:] != ["--unguarded"]
wrap = guarded if GUARD else (lambda default=None: (lambda f: f))
seen = []
sys.excepthook = lambda kind, exc, tb: seen.append(kind.__name__)


def bug():
    return np.zeros(3)[np.array([5])]  # IndexError raised inside numpy's C code


class Item(QtWidgets.QGraphicsItem):
    def boundingRect(self):
        return QtCore.QRectF(0, 0, 10, 10)

    @wrap(None)
    def paint(self, painter, option, widget=None):
        bug()


class Model(QtCore.QAbstractListModel):
    def rowCount(self, parent=QtCore.QModelIndex()):
        return 3

    @wrap(None)
    def data(self, index, role=QtCore.Qt.ItemDataRole.DisplayRole):
        return bug()


app = QtWidgets.QApplication([])
scene = QtWidgets.QGraphicsScene()
scene.addItem(Item())
view = QtWidgets.QGraphicsView(scene)
view.resize(100, 100)
view.show()
model = Model()
listing = QtWidgets.QListView()
listing.setModel(model)
listing.show()
for _ in range(3):
    view.viewport().repaint()
    listing.viewport().repaint()
    app.processEvents()
print("excepthook saw:", sorted(set(seen)), len(seen) > 0)
print("survived")
