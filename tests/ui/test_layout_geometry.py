"""The window at 1024×700 and 1920×1080 with the demo: the map has the room by default, and every
panel (each of ``window.panels``, so panels added later are covered too), each of its tabs, and the
inspector on a sound and a picture show nothing clipped or covered (tests/geometry.py says what
that means). One window serves both sizes: the panels compute once, then the window is resized
and laid out again by its rule."""

import numpy as np
from geometry import problems
from PySide6 import QtCore, QtWidgets
from ui_helpers import DEMO, settled, small_table

from mmstudio.ui.window_layout import panel_height, side_widths, sides_take_corners

# the map's share of the window with no panel raised, measured on the demo world: 1024×700 0.40, 1920×1080 0.49
# (before the panel strip: 0.14 and 0.37, the Log taking a third of the height)
SIZES = {(1024, 700): 0.36, (1920, 1080): 0.45}


def quiet(window, qtbot, hold_ms=300):
    """No job but the UMAP warm-up, for ``hold_ms`` in a row (a panel's timers start its jobs a moment
    after it comes on screen)."""
    def idle():
        return not [j for j in window.runner.running if j.kind != "warm-up"]

    for _ in range(3):
        qtbot.waitUntil(idle, timeout=600_000)
        qtbot.wait(hold_ms)
        if idle():
            return
    qtbot.waitUntil(idle, timeout=600_000)


def check(window, where: str) -> None:
    found = problems(window)
    assert not found, f"{where} at {window.width()}×{window.height()}:\n" + "\n".join(found)


def test_every_panel_fits_the_window_with_nothing_clipped_at_1024x700_and_1920x1080(make_window, qtbot, monkeypatch):
    from mmstudio.ui import workers

    monkeypatch.setattr(workers, "PANEL_NICE", 0)   # on a busy test machine the panels' jobs must not wait behind it
    window = make_window([DEMO], warm=False)   # the panels' jobs need the cores more than UMAP's compiler
    window.panels["Principles"].demo_table = small_table(120)  # its own demo world takes minutes to build
    for size, share in SIZES.items():
        window.strip.close_panel()
        window.strip.heights.clear()      # a new size: the panels take their rule's heights again
        window.resize(*size)
        qtbot.wait(50)
        window._default_sizes()
        qtbot.waitUntil(lambda: settled(window), timeout=600_000)
        quiet(window, qtbot)
        assert (window.width(), window.height()) == size
        walk(window, qtbot, size, share)


def walk(window, qtbot, size, share) -> None:
    # the map has the room: no bottom panel is up, the side docks take their rule's widths
    assert window.strip.current() is None
    plot = window.view.plot
    assert plot.width() * plot.height() >= share * size[0] * size[1], (plot.width(), plot.height())
    library, inspector = side_widths(size[0])
    assert abs(window.docks["Library"].width() - library) <= 30 and abs(window.docks["Inspector"].width() - inspector) <= 30
    check(window, "the window")
    wide = sides_take_corners(size[0], library + inspector, max(d.minimumSizeHint().width() for d in window.strip.docks.values()))
    assert wide == (size[0] >= 1920)   # on the wide screen the side docks keep the whole height, panels between
    owner = QtCore.Qt.DockWidgetArea.RightDockWidgetArea if wide else QtCore.Qt.DockWidgetArea.BottomDockWidgetArea
    assert window.corner(QtCore.Qt.Corner.BottomRightCorner) == owner

    for title in window.panels:
        up = window.strip.current()      # the room the map shares with a bottom panel
        room = window.centralWidget().height() + (window.docks[up].height() if up else 0)
        window.strip.buttons[title].click()
        quiet(window, qtbot)
        assert window.strip.current() == title
        dock = window.docks[title]
        assert abs(dock.height() - panel_height(room, minimum=dock.minimumSizeHint().height())) <= 30
        assert (window.width(), window.height()) == size                # the panel did not grow the window
        for tabs in window.panels[title].findChildren(QtWidgets.QTabWidget):
            for i in range(tabs.count()):
                tabs.setCurrentIndex(i)
                quiet(window, qtbot)
                check(window, f"{title} / {tabs.tabText(i)}")
            tabs.setCurrentIndex(0)
        check(window, title)
        if title == "Alignment":
            panel = window.panels[title]
            panel.sort_box.setChecked(True)          # the matrix sorted by label: its labels fit their blocks
            qtbot.wait(50)
            check(window, "Alignment, sorted by label")
            panel.sort_box.setChecked(False)
            if not panel.aligner.losses:             # the trainer's curves drawn (once, at the first size)
                panel.tabs.setCurrentWidget(panel.aligner)
                panel.aligner.steps_box.setValue(60)
                with qtbot.waitSignal(panel.aligner.finished, timeout=600_000):
                    panel.aligner.start()
                quiet(window, qtbot)
            panel.tabs.setCurrentWidget(panel.aligner)
            check(window, "Alignment, the aligner trained")
            panel.tabs.setCurrentIndex(0)

    ws = window.workspace
    for modality in ("audio", "image"):     # the inspector with a spectrogram, then a picture
        ws.select([int(np.flatnonzero(ws.table.modality == modality)[0])])
        quiet(window, qtbot)
        check(window, f"an {modality} item selected")
        assert (window.width(), window.height()) == size                # the inspector did not widen the window
        canvas = window.inspector.attention.canvas
        assert canvas.isVisible() and canvas.height() >= canvas.minimumSizeHint().height()
        scroller = window.inspector.attention.scroller
        top = canvas.mapTo(scroller.viewport(), canvas.rect().topLeft()).y()
        assert 0 <= top and top + canvas.minimumSizeHint().height() <= scroller.viewport().height()  # in sight
    ws.select([])
