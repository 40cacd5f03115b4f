"""Helpers for the window tests (tests/ui/)."""

from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "mmstudio" / "resources" / "demo"


def settled(window) -> bool:
    """Nothing but the UMAP warm-up running, a table, and its final layout drawn (the points no
    longer gliding from the preview to it)."""
    ws = window.workspace
    busy = [j for j in window.runner.running if j.kind != "warm-up"]
    return not busy and ws.table is not None and ws.layout_final and window.view._animation is None


def small_table(n: int = 300, seed: int = 0, dim: int = 16):
    """A table the principles panel learns from in a second (its demo world takes a minute to build):
    ``xor`` = (bit seen in the image) ≠ (bit heard in the audio); ``shape`` in both, far
    louder in the audio (the dominant branch)."""
    import numpy as np

    from mmstudio.core.tables.table import EmbeddingTable

    rng = np.random.default_rng(seed)
    shape, a, b = rng.integers(0, 3, n), rng.integers(0, 2, n), rng.integers(0, 2, n)

    def vectors(bit, gain, noise):
        v = noise * rng.standard_normal((n, dim))
        v[:, 0] += 2.0 * (2 * bit - 1)
        v[np.arange(n), 2 + shape] += gain
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    names = np.array(["circle", "square", "star"], object)[shape]
    xor = (a != b).astype(int).astype(str)
    return EmbeddingTable(np.array([f"s{i}" for i in range(n)] * 2, object),
                          np.array(["image"] * n + ["audio"] * n, object), np.array([""] * (2 * n), object),
                          np.concatenate([names, names]), np.vstack([vectors(a, 1.0, 0.6), vectors(b, 3.0, 0.4)]),
                          {"shape": np.concatenate([names, names]), "xor": np.concatenate([xor, xor])})


def drag_on_map(view, qtbot, points, modifiers=None):
    """A left-button drag through ``points`` (map coordinates) with real mouse events."""
    from PySide6 import QtCore, QtTest

    modifiers = QtCore.Qt.KeyboardModifier.NoModifier if modifiers is None else modifiers

    from PySide6 import QtWidgets

    # a range just set reaches the view's transform when the event loop turns; and a press soon after
    # another release would be a double click, which starts no drag
    qtbot.wait(QtWidgets.QApplication.doubleClickInterval() + 50)
    viewport = view.plot.viewport()

    def pixel(x, y):
        return view.plot.mapFromScene(view.viewbox.mapViewToScene(QtCore.QPointF(float(x), float(y))))

    left = QtCore.Qt.MouseButton.LeftButton
    QtTest.QTest.mouseMove(viewport, pixel(*points[0]))
    QtTest.QTest.mousePress(viewport, left, modifiers, pixel(*points[0]))
    for x, y in points[1:]:
        qtbot.wait(25)  # pyqtgraph's scene drops mouse moves that come within 10 ms of the last one
        QtTest.QTest.mouseMove(viewport, pixel(x, y))
    qtbot.wait(25)
    QtTest.QTest.mouseRelease(viewport, left, modifiers, pixel(*points[-1]))
    qtbot.wait(20)


def finish_principle(qtbot, panel, name, timeout=60_000):
    """Run the principle ``name`` for its page's current options and wait until its result is drawn."""
    with qtbot.waitSignal(panel.resultShown, timeout=timeout, check_params_cb=lambda n: n == name):
        panel.run(name)
    return panel.pages[name]
