"""The strip under the map: one tab per bottom panel, and the Log's last line.

The bottom panels (Alignment, Fusion lab, Principles, and any added with ``window.add_panel``) are
closed by default, so the map has the window's height. Clicking a panel's tab raises it alone, at
the height the rules of :mod:`mmstudio.ui.window_layout` give for the window (or the height the
person last dragged it to); clicking it again, or the dock's close button, closes it. A panel
raised any other way (View menu, ``dock.show()``) closes the one that was up, so the strip always
says what is shown. On a wide window the library and the inspector keep the whole height and the
panels sit between them (``window_layout.sides_take_corners``). The Log is one line here, its last; errors stay on it in red until the next
line; a click on it opens the whole Log (a bottom panel like the others).
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from mmstudio.ui.guard import guarded
from mmstudio.ui.widgets.elided import QtElidedLabel
from mmstudio.ui.window_layout import LOG_SHARE, PANEL_SHARE, panel_height, sides_take_corners

ERROR_COLOUR = "#c62828"
VERTICAL = QtCore.Qt.Orientation.Vertical


class _LogLine(QtElidedLabel):
    clicked = QtCore.Signal()

    @guarded(None)
    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            self.clicked.emit()


class QtPanelStrip(QtWidgets.QToolBar):
    """Lives in the window's bottom tool bar area (under the bottom docks, over the status bar)."""

    def __init__(self, window):
        super().__init__("Panels", window)
        self.window_ = window
        self.setObjectName("panel-strip")
        self.setMovable(False)
        self.setFloatable(False)
        self.toggleViewAction().setVisible(False)   # not hideable from the context menu: it is the only way back
        self.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        self.shares: dict[str, float] = {}
        self.buttons: dict[str, QtWidgets.QToolButton] = {}
        self.heights: dict[str, int] = {}          # the height each panel had when it last closed
        self._quiet = False                        # while the strip itself hides docks
        self._panels_end = self.addSeparator()     # panel tabs go before it, the Log after
        self.log_button = self._button("Log", "The whole Log (every message of this session)")
        self.addWidget(self.log_button)
        self.last_line = _LogLine(minimum=80)
        self.last_line.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.last_line.setContentsMargins(6, 0, 6, 0)
        self.last_line.clicked.connect(lambda: self.toggle("Log"))
        self.addWidget(self.last_line)
        self.last_line.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Preferred)
        window.installEventFilter(self)   # its size decides who owns the bottom corners

    @guarded(False)
    def eventFilter(self, watched, event) -> bool:
        if watched is self.window_ and event.type() == QtCore.QEvent.Type.Resize:
            QtCore.QTimer.singleShot(0, self.corners)
        return False

    def corners(self) -> None:
        """The side docks run the whole height when the room between them holds the widest bottom panel."""
        window, area = self.window_, QtCore.Qt.DockWidgetArea
        sides = sum(d.width() for d in window.findChildren(QtWidgets.QDockWidget)
                    if window.dockWidgetArea(d) in (area.LeftDockWidgetArea, area.RightDockWidgetArea)
                    and d.isVisible() and not d.isFloating())
        widest = max((d.minimumSizeHint().width() for d in self.docks.values()), default=0)
        take = sides_take_corners(window.width(), sides, widest)
        corner = QtCore.Qt.Corner
        for which, side in ((corner.BottomLeftCorner, area.LeftDockWidgetArea),
                            (corner.BottomRightCorner, area.RightDockWidgetArea)):
            owner = side if take else area.BottomDockWidgetArea
            if window.corner(which) != owner:
                window.setCorner(which, owner)

    # ------------------------------------------------------------------ panels
    def _button(self, title: str, tip: str) -> QtWidgets.QToolButton:
        button = QtWidgets.QToolButton()
        button.setText(title)
        button.setCheckable(True)
        button.setAutoRaise(True)
        button.setToolTip(f"{tip}. Click again to close it and give the map the room.")
        button.clicked.connect(lambda _=False, t=title: self.toggle(t))
        self.buttons[title] = button
        return button

    def add(self, title: str, dock: QtWidgets.QDockWidget) -> None:
        """A bottom dock with a tab here; it starts closed."""
        self.docks[title] = dock
        self.shares[title] = LOG_SHARE if title == "Log" else PANEL_SHARE
        if title != "Log":
            self.insertWidget(self._panels_end, self._button(title, f"Raise the {title} panel"))
        dock.toggleViewAction().toggled.connect(lambda shown, t=title: self._shown(t, shown))
        self._quiet = True
        try:
            dock.hide()
        finally:
            self._quiet = False

    def current(self) -> str | None:
        """The bottom panel on screen (docked), or None."""
        return next((t for t, d in self.docks.items() if not d.isHidden() and not d.isFloating()), None)

    def toggle(self, title: str) -> None:
        if self.current() == title:
            self.close_panel()
        else:
            self.open(title)

    def open(self, title: str) -> None:
        dock = self.docks[title]
        dock.show()      # _shown closes the other one and sizes this one
        dock.raise_()

    def close_panel(self) -> None:
        title = self.current()
        if title is not None:
            self.docks[title].hide()

    def _shown(self, title: str, shown: bool) -> None:
        dock = self.docks[title]
        if self._quiet:
            return
        if shown and not dock.isFloating():
            others = [t for t, d in self.docks.items() if t != title and not d.isHidden() and not d.isFloating()]
            height = None
            self._quiet = True
            try:
                for other in others:
                    height = self.docks[other].height()
                    self.heights[other] = height
                    self.docks[other].hide()
            finally:
                self._quiet = False
            QtCore.QTimer.singleShot(0, lambda: self._size(title))
        elif not shown and not dock.isFloating():
            self.heights[title] = dock.height()
        self._sync()

    def _size(self, title: str) -> None:
        """Give a raised panel its height (its last one, or the rule's)."""
        dock = self.docks[title]
        if dock.isHidden() or dock.isFloating():
            return
        window = self.window_
        self.corners()
        room = window.centralWidget().height() + dock.height()
        height = self.heights.get(title) or panel_height(room, self.shares[title], dock.minimumSizeHint().height())
        window.resizeDocks([dock], [height], VERTICAL)

    def _sync(self) -> None:
        current = self.current()
        for title, button in self.buttons.items():
            button.setChecked(title == current)

    # ------------------------------------------------------------------ the Log's line
    def log_line(self, text: str, error: bool = False) -> None:
        """Show ``text`` as the last line (a line that starts with spaces adds detail to the one shown:
        it stays in the Log only)."""
        if text.startswith("  "):
            return
        self.last_line.setText(text)
        self.last_line.setStyleSheet(f"color: {ERROR_COLOUR}" if error else "")
