"""Job handles: how a long piece of work reports progress and learns that it should stop.

Every long function takes a ``job`` argument and calls ``job.progress(done, total)``,
``job.status(text)``, ``job.partial(result)`` and ``job.check()`` (which raises
:class:`Cancelled` once someone called ``job.cancel()``). The function stays plain and
testable; the CLI passes a :class:`TqdmJob`, the window a subclass that emits Qt signals.
"""

from __future__ import annotations

import sys
import threading


class Cancelled(Exception):
    """Raised inside a job function when its job was cancelled."""


class Job:
    """A job handle that records what it was told. Subclasses route reports elsewhere."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self.done = 0
        self.total: int | None = None
        self.message = ""
        self.latest_partial = None

    # --- reports from the worker -------------------------------------------------------
    def progress(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total

    def advance(self, n: int = 1) -> None:
        self.progress(self.done + n)

    def status(self, text: str) -> None:
        self.message = text

    def partial(self, result) -> None:
        self.latest_partial = result

    # --- cancellation ------------------------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` when the job was cancelled; call it between steps."""
        if self._cancel.is_set():
            raise Cancelled()

    def close(self) -> None:
        """Called once the work is over (a progress bar ends here)."""


class TqdmJob(Job):
    """A job that draws a tqdm progress bar on a terminal (and stays quiet elsewhere)."""

    def __init__(self, description: str = "", stream=None, enabled: bool | None = None) -> None:
        super().__init__()
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = self._stream.isatty() if enabled is None else enabled
        self._description = description
        self._bar = None

    def _ensure_bar(self):
        if self._bar is None and self._enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=self._description, file=self._stream, unit="item")
        return self._bar

    def progress(self, done: int, total: int | None = None) -> None:
        super().progress(done, total)
        bar = self._ensure_bar()
        if bar is not None:
            if total is not None and bar.total != total:
                bar.total = total
            bar.n = done
            bar.refresh()

    def status(self, text: str) -> None:
        super().status(text)
        bar = self._ensure_bar()
        if bar is not None:
            bar.set_postfix_str(text, refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
