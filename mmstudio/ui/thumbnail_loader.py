"""Pictures of media (image thumbnails, waveform glyphs) decoded off the GUI thread.

Decoding a photo or reading a long sound takes from a few to a few hundred milliseconds: the
library's rows, the hover tooltip and the inspector ask :class:`QtThumbnails` instead of
:mod:`mmstudio.ui.thumbnails`. ``get()`` answers at once — the picture when it is decoded,
``PENDING`` while a worker thread decodes it (newest requests first), ``None`` when the file
has no picture — and ``ready`` carries the request's key once it has arrived.

One loader serves the whole application (:func:`shared`); it keeps the pictures used last, at most
``LIMIT`` of them and ``BYTE_LIMIT`` bytes in all (a soak of 30 minutes on a 1,200-item window grew
by ~290 MiB while an unbounded-by-size cache of large inspector pictures filled).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict

from PySide6 import QtCore, QtGui

LIMIT = 2048
BYTE_LIMIT = 48 * 2**20
PENDING = object()        # asked for, being decoded


def qimage(image) -> QtGui.QImage:
    """A PIL image as a QImage (a copy: safe to hand to another thread)."""
    image = image.convert("RGBA")
    data = image.tobytes("raw", "RGBA")
    return QtGui.QImage(data, image.width, image.height, 4 * image.width, QtGui.QImage.Format.Format_RGBA8888).copy()


def make(key):
    """The picture a key asks for (runs on a worker thread): ``(kind, path, width, height, form)``,
    kind ``image`` or ``audio``, form ``qimage`` or ``uri`` (a PNG data URI for rich text)."""
    from mmstudio.ui.thumbnails import image_thumbnail, png_data_uri, waveform_glyph

    kind, path, width, height, form = key
    picture = image_thumbnail(path, width) if kind == "image" else waveform_glyph(path, width, height)
    if picture is None:
        return None
    return png_data_uri(picture) if form == "uri" else qimage(picture)


class _Decode(QtCore.QRunnable):
    def __init__(self, loader: "QtThumbnails", key):
        super().__init__()
        self.loader, self.key = loader, key
        self.setAutoDelete(True)

    def run(self) -> None:
        from mmstudio.ui.workers import lower_thread_priority

        lower_thread_priority()
        try:
            value = make(self.key)
        except Exception:  # an unreadable file has no picture; it never stops the loader
            value = None
        try:
            self.loader.arrived.emit(self.key, value)
        except RuntimeError:
            pass  # the application is closing


def _size(value) -> int:
    """Bytes a kept picture takes: a QImage's pixels, a data URI's characters."""
    if isinstance(value, QtGui.QImage):
        return value.sizeInBytes()
    return len(value) if isinstance(value, str) else 0


class QtThumbnails(QtCore.QObject):
    ready = QtCore.Signal(object)            # the key of a picture that has arrived
    arrived = QtCore.Signal(object, object)  # (key, picture), from a worker thread

    def __init__(self, parent=None, threads: int = 2):
        super().__init__(parent)
        self.pool = QtCore.QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self.done: OrderedDict = OrderedDict()
        self.bytes = 0                       # what the pictures in ``done`` take
        self.pending: set = set()
        self._order = itertools.count()
        self.arrived.connect(self._store, QtCore.Qt.ConnectionType.QueuedConnection)

    def get(self, kind: str, path: str, width: int, height: int | None = None, form: str = "qimage"):
        """The picture (a ``QImage``, or a data URI for ``form="uri"``), ``PENDING``, or ``None``."""
        key = (kind, str(path), int(width), int(height or width), form)
        if key in self.done:
            self.done.move_to_end(key)
            return self.done[key]
        if key not in self.pending:
            self.pending.add(key)
            self.pool.start(_Decode(self, key), next(self._order))  # the newest request goes first
        return PENDING

    def key(self, kind: str, path: str, width: int, height: int | None = None, form: str = "qimage"):
        return (kind, str(path), int(width), int(height or width), form)

    def _store(self, key, value) -> None:
        self.pending.discard(key)
        if key in self.done:
            self.bytes -= _size(self.done.pop(key))
        self.done[key] = value
        self.bytes += _size(value)
        while len(self.done) > 1 and (len(self.done) > LIMIT or self.bytes > BYTE_LIMIT):
            self.bytes -= _size(self.done.popitem(last=False)[1])
        self.ready.emit(key)

    def stop(self) -> None:
        self.pool.clear()


_SHARED: QtThumbnails | None = None


def shared() -> QtThumbnails:
    """The application's loader (created on first use, owned by the QApplication)."""
    global _SHARED
    if _SHARED is None:
        from PySide6 import QtWidgets

        _SHARED = QtThumbnails(QtWidgets.QApplication.instance())
        _SHARED.destroyed.connect(_forget)
    return _SHARED


def _forget(*_) -> None:
    global _SHARED
    _SHARED = None
