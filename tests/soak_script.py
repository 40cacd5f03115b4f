"""What a person does with the window, again and again: the soak script.

Shared by ``tests/ui/test_soak.py`` (a few thousand events, offscreen, in the test suite) and
``benchmarks/soak.py`` (N minutes, on a real X display or offscreen). :class:`SoakDriver` picks
actions at random (seeded) and performs each through the Qt events a person's mouse and keyboard
would send: moves, presses, drags and wheel turns on the map's viewport, clicks on tabs, list
rows and check boxes, key presses on sliders, combo boxes and line edits, a folder dropped on
the window. Nothing calls a slot or emits a signal directly.

:class:`Probe` watches the process meanwhile: the event loop's gaps (a 10 ms timer), the RSS,
``sys.getrefcount(None)``, and every Python exception raised inside a Qt callback
(``sys.excepthook``) or Qt warning (``qInstallMessageHandler``).
"""

from __future__ import annotations

import gc
import os
import re
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtTest, QtWidgets

LEFT = QtCore.Qt.MouseButton.LeftButton
NO_BUTTON = QtCore.Qt.MouseButton.NoButton
NO_MODIFIER = QtCore.Qt.KeyboardModifier.NoModifier
SHIFT = QtCore.Qt.KeyboardModifier.ShiftModifier
Key = QtCore.Qt.Key
QUERIES = ("a small red cross", "a blue circle", "a loud low hum", "two green squares", "a star", "", "bird",
           "a yellow triangle next to a circle", "silence")
# Qt's notes on what a platform plugin cannot do (the offscreen plugin cannot raise a window…): not ours
QT_NOISE = (r"^This plugin does not support ", r"^QFont::fromString", r"^qt\.multimedia", r"^Could not find a font")


def rss_mb() -> float:
    """Resident memory of this process, in MiB (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Probe:
    """Event-loop gaps, RSS and None's refcount over time; exceptions and warnings inside Qt."""

    def __init__(self, tick_ms: int = 10, capture: bool = True):
        self.tick_ms = tick_ms
        self.capture = capture      # False: leave exceptions and Qt messages to pytest-qt (the test suite's fixture)
        self.gaps: list[tuple[float, float, str]] = []   # (seconds, when, what the driver was doing)
        self.samples: list[tuple[float, float, int]] = []  # (when, RSS MiB, refcount of None)
        self.errors: list[str] = []
        self.doing = "start"
        self.started = time.perf_counter()
        self._last = None
        self._timer = QtCore.QTimer()
        self._timer.timeout.connect(self._tick)
        self._previous_hook = None
        self._previous_handler = None

    def start(self) -> "Probe":
        if self.capture:
            self._previous_hook = sys.excepthook
            sys.excepthook = self._exception
            self._previous_handler = QtCore.qInstallMessageHandler(self._message)
        self._last = time.perf_counter()
        self._timer.start(self.tick_ms)
        return self

    def stop(self) -> None:
        self._timer.stop()
        if self.capture:
            sys.excepthook = self._previous_hook
            QtCore.qInstallMessageHandler(self._previous_handler)

    def _tick(self) -> None:
        now = time.perf_counter()
        gap = now - self._last
        self._last = now
        if gap > 0.05:
            self.gaps.append((gap, now - self.started, self.doing))

    def _exception(self, kind, value, tb) -> None:
        self.errors.append(f"{self.doing}: " + "".join(traceback.format_exception(kind, value, tb)))

    def _message(self, kind, context, message) -> None:
        if kind != QtCore.QtMsgType.QtDebugMsg and kind != QtCore.QtMsgType.QtInfoMsg:
            if not any(re.search(p, message) for p in QT_NOISE):
                self.errors.append(f"{self.doing}: Qt {kind.name}: {message}")

    def sample(self) -> tuple[float, float, int]:
        gc.collect()
        point = (time.perf_counter() - self.started, rss_mb(), sys.getrefcount(None))
        self.samples.append(point)
        return point

    def largest_gaps(self, n: int = 5) -> list[tuple[float, float, str]]:
        return sorted(self.gaps, reverse=True)[:n]


class SoakDriver:
    """Random, seeded, human-like use of a :class:`QtMainWindow` that has a table open."""

    def __init__(self, window, seed: int = 0, new_folder=None, probe: Probe | None = None):
        self.window, self.view = window, window.view
        self.app = QtWidgets.QApplication.instance()
        self.rng = np.random.default_rng(seed)
        self.new_folder = new_folder            # () -> a folder of media to drop on the window
        self.probe = probe
        self.events = 0                         # input events sent
        self.done: Counter[str] = Counter()     # action → times
        self.seconds: Counter[str] = Counter()  # action → seconds spent in it (with the events it caused)
        self.actions = {
            "hover": (self.hover, 6), "zoom": (self.zoom, 3), "click": (self.click, 3),
            "box select": (self.box_select, 2), "lasso": (self.lasso, 2), "query": (self.query, 2),
            "tab": (self.switch_tab, 2), "fusion knob": (self.fusion_knob, 4), "attention": (self.attention, 2),
            "nearest item": (self.nearest_item, 1), "library": (self.library, 1), "colour": (self.colour_by, 1),
            "modality": (self.toggle_modality, 1), "principle": (self.principle, 1),
        }
        if new_folder is not None:
            self.actions["add folder"] = (self.add_folder, 0.05)

    # ------------------------------------------------------------------ running
    def step(self, name: str | None = None) -> str:
        if name is None:
            names = list(self.actions)
            weights = np.array([self.actions[n][1] for n in names], float)
            name = names[self.rng.choice(len(names), p=weights / weights.sum())]
        if self.probe is not None:
            self.probe.doing = name
        began = time.perf_counter()
        self.actions[name][0]()
        self.pump()
        self.done[name] += 1
        self.seconds[name] += time.perf_counter() - began
        return name

    def each_once(self) -> None:
        for name in self.actions:
            self.step(name)

    def tour(self) -> None:
        """Everything once, in order: every tab of the panels, every page of the principles lab, every
        fusion knob, every attention method (the first visit computes and compiles what it needs)."""
        for bar in self.window.findChildren(QtWidgets.QTabBar):
            for i in range(bar.count()):
                if bar.isVisible():
                    self.click_at(bar, QtCore.QPointF(bar.tabRect(i).center()))
                    self.pump(50)
        principles = self._show_panel("Principles")
        for i in range(principles.list.count()):
            self.click_at(principles.list.viewport(), QtCore.QPointF(principles.list.visualItemRect(
                principles.list.item(i)).center()))
            wait_idle(self, 300)
        controls = self._show_panel("Fusion lab").controls
        for knob in (controls.gate, controls.dropout_knob, *controls.level_knobs.values()):
            self.key(knob.slider, Key.Key_PageUp)
            self.pump(40)
            self.key(knob.slider, Key.Key_Home)
        for combo in (controls.impute, controls.agreement):
            for i in (*range(combo.count()), 0):
                self.choose(combo, i)
                self.pump(40)
        wait_idle(self, 300)
        self.attention()                           # selects an image when none is shown
        wait_idle(self, 300)
        pane = self.window.inspector.attention
        for i in range(pane.method.count()):
            self.choose(pane.method, i)
            wait_idle(self, 300)
        self.each_once()

    def pick(self, options):
        """One of ``options`` (a list of anything: numpy's choice would turn Qt enums into numbers)."""
        return options[int(self.rng.integers(len(options)))]

    def pump(self, ms: int = 0) -> None:
        """Let the event loop run (queued results, repaints, timers), as between a person's moves."""
        deadline = time.perf_counter() + ms / 1000
        while True:
            self.app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
            if time.perf_counter() >= deadline:
                break
            time.sleep(0.002)

    # ------------------------------------------------------------------ input events
    # QTest builds the mouse events in C++: a QMouseEvent built in Python and sent adds a reference to
    # None each time (PySide6 6.11), which would hide the fall this soak watches for.
    def move(self, widget, pos) -> None:
        QtTest.QTest.mouseMove(widget, QtCore.QPointF(pos).toPoint())   # with the buttons pressed, if any
        self.events += 1

    def press(self, widget, pos, modifiers=NO_MODIFIER) -> None:
        QtTest.QTest.mousePress(widget, LEFT, modifiers, QtCore.QPointF(pos).toPoint())
        self.events += 1

    def release(self, widget, pos, modifiers=NO_MODIFIER) -> None:
        QtTest.QTest.mouseRelease(widget, LEFT, modifiers, QtCore.QPointF(pos).toPoint())
        self.events += 1

    def click_at(self, widget, pos, modifiers=NO_MODIFIER) -> None:
        self.move(widget, pos)
        self.press(widget, pos, modifiers)
        self.release(widget, pos, modifiers)

    def key(self, widget, key, modifiers=NO_MODIFIER) -> None:
        QtTest.QTest.keyClick(widget, key, modifiers)
        self.events += 2

    def type_text(self, widget, text: str) -> None:
        QtTest.QTest.keyClicks(widget, text)
        self.events += 2 * len(text)

    def choose(self, combo: QtWidgets.QComboBox, index: int) -> None:
        """Pick an entry of a combo box with the arrow keys, as a person can."""
        index = max(0, min(index, combo.count() - 1))
        while combo.currentIndex() != index and combo.count() > 1:
            before = combo.currentIndex()
            self.key(combo, Key.Key_Down if index > before else Key.Key_Up)
            if combo.currentIndex() == before:
                break

    def wheel(self, widget, pos, steps: int) -> None:
        pos = QtCore.QPointF(pos)
        event = QtGui.QWheelEvent(pos, QtCore.QPointF(widget.mapToGlobal(pos.toPoint())), QtCore.QPoint(),
                                  QtCore.QPoint(0, 120 * steps), NO_BUTTON, NO_MODIFIER,
                                  QtCore.Qt.ScrollPhase.NoScrollPhase, False)
        self.app.sendEvent(widget, event)
        self.events += 1

    # ------------------------------------------------------------------ the map
    @property
    def viewport(self) -> QtWidgets.QWidget:
        return self.view.plot.viewport()

    def _random_spot(self) -> QtCore.QPointF:
        size = self.viewport.size()
        return QtCore.QPointF(self.rng.uniform(10, size.width() - 10), self.rng.uniform(10, size.height() - 10))

    def _point_spot(self) -> QtCore.QPointF | None:
        """Where a visible point is drawn, in viewport pixels (None when no point is in view)."""
        cloud = self.view.cloud
        if len(cloud.xy) == 0:
            return None
        rect = self.view.viewbox.viewRect()
        xy = cloud.xy
        inside = np.flatnonzero((xy[:, 0] > rect.left()) & (xy[:, 0] < rect.right()) & (xy[:, 1] > rect.top())
                                & (xy[:, 1] < rect.bottom()) & cloud.visible)
        if len(inside) == 0:
            return None
        row = int(self.rng.choice(inside))
        scene = self.view.viewbox.mapViewToScene(QtCore.QPointF(float(xy[row, 0]), float(xy[row, 1])))
        return QtCore.QPointF(self.view.plot.mapFromScene(scene))

    def hover(self) -> None:
        """The mouse glides across the map, now and then resting on a point (its tooltip)."""
        start, end = self._random_spot(), self._point_spot() or self._random_spot()
        for t in np.linspace(0, 1, int(self.rng.integers(8, 20))):
            self.move(self.viewport, start * (1 - t) + end * t)
            self.pump()
        if self.rng.random() < 0.2:
            self.pump(int(self.rng.integers(100, 900)))  # rests: Qt's own tooltip event may come

    def zoom(self) -> None:
        if self.rng.random() < 0.15:
            self.view.viewbox.autoRange(padding=0.05)   # the view's "A" button: everything again
            return
        spot = self._point_spot() or self._random_spot()
        steps = self.pick([-2, -1, 1, 1, 2, 3])
        self.wheel(self.viewport, spot, steps)

    def click(self) -> None:
        spot = self._point_spot() if self.rng.random() < 0.8 else self._random_spot()
        if spot is not None:
            self._set_mode(0)
            self.click_at(self.viewport, spot, SHIFT if self.rng.random() < 0.2 else NO_MODIFIER)

    def _set_mode(self, index: int) -> None:
        self.choose(self.view.mode, index)      # Pan, Box select, Lasso

    def _drag(self, path: list[QtCore.QPointF], modifiers=NO_MODIFIER) -> None:
        self.move(self.viewport, path[0])
        self.press(self.viewport, path[0], modifiers)
        for point in path[1:]:
            self.move(self.viewport, point)
            self.pump(17)                       # pyqtgraph takes at most one move per 1/60 s
        self.release(self.viewport, path[-1], modifiers)

    def box_select(self) -> None:
        self._set_mode(1)
        a, b = self._point_spot() or self._random_spot(), self._random_spot()
        path = [a * (1 - t) + b * t for t in np.linspace(0, 1, 8)]
        self._drag(path, SHIFT if self.rng.random() < 0.2 else NO_MODIFIER)
        self._set_mode(0)

    def lasso(self) -> None:
        self._set_mode(2)
        centre = self._point_spot() or self._random_spot()
        radius = self.rng.uniform(20, 150)
        angles = np.linspace(0, 2 * np.pi, int(self.rng.integers(12, 30)))
        path = [centre + QtCore.QPointF(radius * np.cos(a), radius * np.sin(a)) for a in angles]
        self._drag(path)
        self._set_mode(0)

    def query(self) -> None:
        box = self.view.query
        self.key(box, Key.Key_A, QtCore.Qt.KeyboardModifier.ControlModifier)
        self.key(box, Key.Key_Backspace)
        self.type_text(box, self.pick(QUERIES))
        self.key(box, Key.Key_Return)

    def colour_by(self) -> None:
        combo = self.view.color_by
        self.choose(combo, int(self.rng.integers(0, min(combo.count(), 6))))

    def toggle_modality(self) -> None:
        boxes = list(self.view.modality_boxes.values()) + [self.view.links]
        box = boxes[int(self.rng.integers(len(boxes)))]
        self.click_at(box, QtCore.QPointF(8, box.height() / 2))
        if sum(b.isChecked() for b in self.view.modality_boxes.values()) < 2:   # keep the map populated
            for b in self.view.modality_boxes.values():
                if not b.isChecked():
                    self.click_at(b, QtCore.QPointF(8, b.height() / 2))

    # ------------------------------------------------------------------ panels
    def switch_tab(self) -> None:
        bars = [bar for bar in self.window.findChildren(QtWidgets.QTabBar) if bar.isVisible() and bar.count() > 1]
        if not bars:
            return
        bar = bars[int(self.rng.integers(len(bars)))]
        index = int(self.rng.integers(bar.count()))
        self.click_at(bar, QtCore.QPointF(bar.tabRect(index).center()))

    def _show_panel(self, title: str) -> QtWidgets.QWidget:
        dock = self.window.docks[title]
        if dock.isHidden() or dock.visibleRegion().isEmpty():   # its tab in the strip under the map raises it
            button = self.window.strip.buttons[title]
            self.click_at(button, QtCore.QPointF(button.rect().center()))
        return self.window.panels[title]

    def fusion_knob(self) -> None:
        """One of the fusion lab's knobs: a slider (keys), a combo box, a method's check box, the seed."""
        controls = self._show_panel("Fusion lab").controls
        sliders = [k.slider for k in (controls.gate, controls.dropout_knob, *controls.level_knobs.values())]
        pick = self.rng.random()
        if pick < 0.7:
            slider = sliders[int(self.rng.integers(len(sliders)))]
            key = self.pick([Key.Key_Right, Key.Key_Left, Key.Key_PageUp, Key.Key_PageDown, Key.Key_Home])
            for _ in range(int(self.rng.integers(1, 4))):
                self.key(slider, key)
        elif pick < 0.85:
            combo = [controls.impute, controls.agreement, controls.label_box][int(self.rng.integers(3))]
            self.choose(combo, int(self.rng.integers(combo.count())))
        elif pick < 0.97:
            box = list(controls.method_boxes.values())[int(self.rng.integers(len(controls.method_boxes)))]
            self.click_at(box, QtCore.QPointF(8, box.height() / 2))
        else:
            self.key(controls.seed_box, self.pick([Key.Key_Up, Key.Key_Down]))

    def principle(self) -> None:
        panel = self._show_panel("Principles")
        lst = panel.list
        item = lst.item(int(self.rng.integers(lst.count())))
        self.click_at(lst.viewport(), QtCore.QPointF(lst.visualItemRect(item).center()))

    # ------------------------------------------------------------------ inspector and library
    def attention(self) -> None:
        """Change the attention map's word, method or text (selecting an image first if need be)."""
        pane = self.window.inspector.attention
        if not pane.isVisible():
            table = self.window.workspace.table
            images = np.flatnonzero(table.modality == "image") if table is not None else []
            spot = self._spot_of(int(self.rng.choice(images))) if len(images) else None
            if spot is not None:
                self._set_mode(0)
                self.click_at(self.viewport, spot)
            return
        pick = self.rng.random()
        if pick < 0.5 and pane.words.count() > 1 and pane.words.isVisible():
            item = pane.words.item(int(self.rng.integers(pane.words.count())))
            pane.words.scrollToItem(item)
            self.click_at(pane.words.viewport(), QtCore.QPointF(pane.words.visualItemRect(item).center()))
        elif pick < 0.8 and pane.method.count() > 1:
            self.choose(pane.method, int(self.rng.integers(pane.method.count())))
        elif pane.text.isEnabled():
            edit = pane.text.lineEdit()
            self.key(edit, Key.Key_A, QtCore.Qt.KeyboardModifier.ControlModifier)
            self.type_text(edit, self.pick([q for q in QUERIES if q]))
            self.key(edit, Key.Key_Return)

    def _spot_of(self, row: int) -> QtCore.QPointF | None:
        """Where ``row`` is drawn; zooms out first when it is out of view."""
        xy = self.view.cloud.xy
        if row >= len(xy) or not self.view.cloud.visible[row]:
            return None
        if not self.view.viewbox.viewRect().contains(QtCore.QPointF(float(xy[row, 0]), float(xy[row, 1]))):
            self.view.viewbox.autoRange(padding=0.05)
            self.pump()
        scene = self.view.viewbox.mapViewToScene(QtCore.QPointF(float(xy[row, 0]), float(xy[row, 1])))
        return QtCore.QPointF(self.view.plot.mapFromScene(scene))

    def nearest_item(self) -> None:
        lst = self.window.inspector.neighbours
        if lst.count() == 0 or not lst.isVisible():
            return
        item = lst.item(int(self.rng.integers(lst.count())))
        lst.scrollToItem(item)
        self.click_at(lst.viewport(), QtCore.QPointF(lst.visualItemRect(item).center()))

    def library(self) -> None:
        library = self.window.library
        if self.rng.random() < 0.3:   # the filter bar's caption box: the library, the map and the panels follow it
            contains = self.window.filter_bar.contains
            self.key(contains, Key.Key_A, QtCore.Qt.KeyboardModifier.ControlModifier)
            self.type_text(contains, self.pick(["", "scene_0000", "circle", "red", ""]))
            return
        lst = library.list
        rows = lst.model().rowCount()
        if rows:
            index = lst.model().index(int(self.rng.integers(rows)), 0)
            lst.scrollTo(index)
            self.click_at(lst.viewport(), QtCore.QPointF(lst.visualRect(index).center()))

    def add_folder(self) -> None:
        folder = self.new_folder()
        mime = QtCore.QMimeData()
        mime.setUrls([QtCore.QUrl.fromLocalFile(str(folder))])
        pos, copy = QtCore.QPoint(300, 300), QtCore.Qt.DropAction.CopyAction
        for event in (QtGui.QDragEnterEvent(pos, copy, mime, LEFT, NO_MODIFIER),   # a drag from a file manager
                      QtGui.QDragMoveEvent(pos, copy, mime, LEFT, NO_MODIFIER),
                      QtGui.QDropEvent(QtCore.QPointF(pos), copy, mime, LEFT, NO_MODIFIER)):
            self.app.sendEvent(self.window, event)
            self.events += 1


def idle(window) -> bool:
    """No job running but housekeeping (the UMAP warm-up), and the map drawn in its final layout."""
    from ui_helpers import settled

    return settled(window)


def wait_idle(driver: SoakDriver, seconds: float) -> bool:
    deadline = time.perf_counter() + seconds
    while not idle(driver.window):
        if time.perf_counter() > deadline:
            return False
        driver.pump(20)
    return True


def folder_maker(root: Path, n: int = 3):
    """``() -> folder``: a new small demo world under ``root`` on each call (new files, new vectors)."""
    from mmstudio.demo.make import make_world

    count = [0]

    def make() -> Path:
        count[0] += 1
        folder = root / f"added-{count[0]:03d}"
        make_world(folder, n=n, seed=1000 + count[0])
        return folder

    return make
