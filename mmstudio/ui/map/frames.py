"""What one frame of the point cloud shows, worked out with numpy (no Qt): the points in view as a raster
image, or — when few are in view — which rows to draw as markers.

A small cloud's frame is computed in ``paint``. A large one's (``ASYNC_POINTS``) is computed by
:class:`Renderer` on a short-lived thread of its own while the window goes on: numpy's arithmetic,
comparisons, gathers and copies run outside the GIL, so the window's thread keeps answering; until the
frame is done the map shows the last one, moved and scaled to the new view. The arrays a frame reads are
never changed in place by the cloud (a change replaces them), so a thread may read them while the cloud
moves on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

ASYNC_POINTS = 150_000   # clouds with more points have their frames computed on a thread


@dataclass(frozen=True)
class View:
    """Data → pixel: ``px = x * sx + dx``, ``py = y * sy + dy``, in a viewport of ``width`` × ``height``."""

    sx: float
    dx: float
    sy: float
    dy: float
    width: int
    height: int

    def from_(self, other: "View") -> tuple[float, float, float, float]:
        """(scale x, scale y, shift x, shift y) that take ``other``'s pixels to this view's."""
        ax, ay = self.sx / other.sx, self.sy / other.sy
        return ax, ay, self.dx - other.dx * ax, self.dy - other.dy * ay


@dataclass
class Frame:
    """``image`` (height × width, packed RGBA; 0 transparent) of every point in view, or ``index``: the rows
    in view when there are at most ``marker_limit`` of them (drawn as markers)."""

    key: tuple
    view: View
    drawn: int
    image: np.ndarray | None = None
    index: np.ndarray | None = None

    @property
    def mode(self) -> str:
        return "raster" if self.image is not None else "markers"


def pixels(view: View, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel positions of the points and which lie in the view (NaN: a row not placed yet, never in it)."""
    px = np.multiply(x, np.float32(view.sx))
    px += np.float32(view.dx)
    py = np.multiply(y, np.float32(view.sy))
    py += np.float32(view.dy)
    with np.errstate(invalid="ignore"):
        inside = px >= 0
        inside &= px < view.width - 1
        inside &= py >= 0
        inside &= py < view.height - 1
    return px, py, inside


def compute(key: tuple, view: View, x, y, colours, visible, marker_limit: int) -> Frame:
    """The frame of the points (``x``, ``y``, packed ``colours``, ``visible``) in ``view``."""
    px, py, inside = pixels(view, x, y)
    inside &= visible
    index = np.flatnonzero(inside)
    if len(index) <= marker_limit:
        return Frame(key, view, len(index), index=index)
    if len(index) < len(px):
        px, py, colours = px[index], py[index], colours[index]
    return Frame(key, view, len(index), image=dots(px, py, colours, view.width, view.height))


def dots(px, py, colours, width: int, height: int) -> np.ndarray:
    """Points (pixel positions in the view, packed colours) as 2×2 dots in one image, the last one on top."""
    flat = py.astype(np.int32)
    flat *= width
    flat += px.astype(np.int32)
    image = np.zeros((height, width), np.uint32)
    image.reshape(-1)[flat] = colours                     # last point wins; 0 = transparent
    for dy, dx in ((0, 1), (1, 0), (1, 1)):               # grow each point into a 2×2 dot
        np.copyto(image[dy:, dx:], image[: height - dy, : width - dx], where=image[dy:, dx:] == 0)
    return image


class Renderer:
    """Frames computed one at a time on a thread; a request made while one is computed waits for it, and only
    the newest waiting request is kept. ``take()`` hands over a finished frame (on the GUI thread).

    The thread waits for the next request and ends after ``IDLE_S`` without one: a request wakes it and
    returns at once (starting a thread waits for it to run, which waits for the GIL — behind a job that
    holds it, such as numba compiling). The lock is held only to pass requests and frames."""

    IDLE_S = 1.0

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._waiting: tuple | None = None     # the arguments of the next frame to compute
        self._thread: threading.Thread | None = None
        self._computing = False
        self._done: Frame | None = None
        self.asked: tuple | None = None        # the key of the newest frame asked for

    def request(self, key: tuple, *args) -> None:
        if key == self.asked:
            return
        self.asked = key
        thread = None
        with self._ready:
            self._waiting = (key, *args)
            if self._thread is None:
                thread = self._thread = threading.Thread(target=self._run, name="mmstudio-frame", daemon=True)
            self._ready.notify()
        if thread is not None:   # the first request (or the first after a pause): the thread starts once
            thread.start()

    def busy(self) -> bool:
        with self._ready:
            return self._computing or self._waiting is not None or self._done is not None

    def take(self) -> Frame | None:
        with self._ready:
            done, self._done = self._done, None
            return done

    def _run(self) -> None:
        while True:
            with self._ready:
                if self._waiting is None:
                    self._ready.wait(self.IDLE_S)
                args, self._waiting = self._waiting, None
                if args is None:          # nothing came: the thread ends (the next request starts another)
                    self._thread = None
                    return
                self._computing = True
            frame = None
            try:
                frame = compute(*args)
            except Exception:   # noqa: BLE001 - printed; the thread goes on with the next request
                import traceback

                traceback.print_exc()
            with self._ready:
                self._computing = False
                if frame is not None:
                    self._done = frame
