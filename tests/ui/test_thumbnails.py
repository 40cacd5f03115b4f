"""Pictures in tooltips, the inspector and the library are decoded off the GUI thread."""

import threading

import numpy as np
from PySide6 import QtCore, QtWidgets


def test_hover_and_selection_pictures_are_decoded_on_a_worker_thread(demo_window, qtbot, monkeypatch):
    from mmstudio.ui import thumbnail_loader as qt_thumbnails

    pictures = qt_thumbnails.shared()
    pictures.done.clear()                       # cold, as for a person's first hover
    threads = []
    make = qt_thumbnails.make

    def recording(key):
        threads.append(threading.get_ident())
        return make(key)

    monkeypatch.setattr(qt_thumbnails, "make", recording)
    view, ws = demo_window.view, demo_window.workspace
    row = int(np.flatnonzero(ws.table.modality == "image")[0])
    x, y = (float(v) for v in view.cloud.xy[row])
    view._hover(view.viewbox.mapViewToScene(QtCore.QPointF(x, y)))
    hovered = view.hovered
    assert ws.table.modality[hovered] == "image"
    assert "loading the picture" in QtWidgets.QToolTip.text()   # the tooltip shows at once, text first
    qtbot.waitUntil(lambda: "<img" in QtWidgets.QToolTip.text(), timeout=30_000)
    assert ws.table.sample_id[hovered] in QtWidgets.QToolTip.text()

    audio = int(np.flatnonzero(ws.table.modality == "audio")[0])
    ws.select([audio])
    inspector = demo_window.inspector
    qtbot.waitUntil(lambda: inspector.picture.pixmap() is not None and not inspector.picture.pixmap().isNull(),
                    timeout=30_000)
    assert inspector.picture.pixmap().width() == 280         # the waveform glyph, drawn when it arrived
    assert threads and threading.get_ident() not in threads


def test_an_unreadable_picture_leaves_the_text(tmp_path, qtbot):
    from mmstudio.ui.app import make_app
    from mmstudio.ui.thumbnail_loader import PENDING, QtThumbnails

    make_app()
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    loader = QtThumbnails()
    assert loader.get("image", str(broken), 64) is PENDING
    with qtbot.waitSignal(loader.ready, timeout=30_000):
        pass
    assert loader.get("image", str(broken), 64) is None


def test_the_picture_loader_keeps_what_was_used_last_within_its_byte_limit(qtbot, tmp_path, monkeypatch):
    """Large pictures (the inspector's) cannot fill memory: the loader keeps at most BYTE_LIMIT bytes,
    the newest first; a soak of 30 minutes grew by ~290 MiB while the limit was a count."""
    from PIL import Image

    from mmstudio.ui import thumbnail_loader as loader_module
    from mmstudio.ui.app import make_app

    make_app()
    monkeypatch.setattr(loader_module, "BYTE_LIMIT", 4 * 2**20)
    loader = loader_module.QtThumbnails()
    paths = []
    for i in range(12):
        path = tmp_path / f"photo{i}.png"
        Image.new("RGB", (600, 600), (20 * i, 100, 200)).save(path)
        paths.append(path)
    for path in paths:
        loader.get("image", path, 512)
        key = loader.key("image", path, 512)
        qtbot.waitUntil(lambda key=key: key in loader.done, timeout=30_000)
    sizes = [v.sizeInBytes() for v in loader.done.values()]
    assert loader.bytes == sum(sizes) <= 4 * 2**20
    assert 1 <= len(loader.done) < len(paths)                       # some were let go…
    assert loader.key("image", paths[-1], 512) in loader.done       # …the oldest, not the newest
    assert loader.key("image", paths[0], 512) not in loader.done
    loader.stop()
