"""How the window shares its space, as rules of its size (not fixed pixels).

The map is what a person opened the window for, so it gets the space by default: the library and
the inspector take a share of the width each (within bounds that keep their rows and pictures
readable), and the bottom panels are closed until one is raised from the strip under the map
(:mod:`mmstudio.ui.panel_strip`). A raised panel takes a share of the height the map and the
panel share (the "room"), leaving the map at least ``MAP_KEEPS`` pixels; the Log, a few lines of
text, takes less.
"""

from __future__ import annotations

LIBRARY_SHARE, LIBRARY_BOUNDS = 0.20, (240, 380)       # of the window's width, and its pixel bounds
INSPECTOR_SHARE, INSPECTOR_BOUNDS = 0.24, (260, 440)
PANEL_SHARE = 0.5       # of the room, for an analysis panel
LOG_SHARE = 0.25        # for the Log
SEPARATORS = 12        # pixels of the dock separators and margins across the window
MAP_KEEPS = 200         # pixels of the room a raised panel leaves to the map (its tool rows and the plot)


def _bounded(value: float, bounds: tuple[int, int]) -> int:
    low, high = bounds
    return int(round(min(max(value, low), high)))


def side_widths(window_width: int) -> tuple[int, int]:
    """The library's and the inspector's widths for a window this wide."""
    return (_bounded(window_width * LIBRARY_SHARE, LIBRARY_BOUNDS),
            _bounded(window_width * INSPECTOR_SHARE, INSPECTOR_BOUNDS))


def sides_take_corners(window_width: int, sides: int, panel_width: int) -> bool:
    """Whether the library and the inspector run the window's whole height (the bottom panels between
    them): when the room they leave, ``window_width - sides``, still holds the widest panel. On a wide
    screen the inspector's picture then keeps its height while a panel is raised; on a narrow one the
    panels take the whole width."""
    return window_width - sides - SEPARATORS >= panel_width


def panel_height(room: int, share: float = PANEL_SHARE, minimum: int = 0) -> int:
    """A raised bottom panel's height: ``share`` of the ``room`` it shares with the map, at least the
    panel's ``minimum``, and never so much that the map keeps less than ``MAP_KEEPS`` pixels (the
    panel's minimum wins over that)."""
    return int(round(max(min(room * share, room - MAP_KEEPS), minimum)))
