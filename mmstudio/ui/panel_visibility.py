"""Whether a panel is on screen, and telling it when its tab comes forward.

Qt keeps every dock of a tabbed dock area "visible" (``isVisible()`` is true, ``showEvent`` came
when the window was shown) and only moves the ones behind the current tab out of sight. A panel
that computes "when shown" therefore asks :func:`on_screen`, and the window calls its
``came_on_screen()`` when its tab is brought forward (:func:`watch_dock`).
"""

from __future__ import annotations


def on_screen(widget) -> bool:
    """Shown, and not hidden behind another tab (or a closed dock, or a hidden window)."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def watch_dock(dock, widget) -> None:
    """Call ``widget.came_on_screen()`` (when it has one) each time ``dock`` becomes visible."""
    hook = getattr(widget, "came_on_screen", None)
    if hook is not None:
        dock.visibilityChanged.connect(lambda visible: hook() if visible and on_screen(widget) else None)
