"""Running the Qt-free job functions on worker threads, with their reports turned into signals.

``QtRunner.start(kind, fn, ...)`` runs ``fn(job)`` in a thread pool. ``job`` is a
:class:`QtJob`: progress, status and partial results arrive on the GUI thread as signals;
``cancel()`` makes the function stop at its next ``job.check()``. Requests of the same kind
supersede each other: when a newer one was started, an older one's results are dropped
(and it is asked to cancel). Exceptions never reach the user as tracebacks: they become a
message on ``QtRunner.failed``, shown in the log panel.
"""

from __future__ import annotations

import traceback

from PySide6 import QtCore

from mmstudio.core.jobs import Cancelled, Job


class _Signals(QtCore.QObject):
    progressed = QtCore.Signal(int, int)
    status = QtCore.Signal(str)
    partial = QtCore.Signal(object)
    finished = QtCore.Signal(object)
    failed = QtCore.Signal(str)
    cancelled = QtCore.Signal()


class QtJob(Job):
    """A job handle whose reports are Qt signals (emitted from the worker, delivered on the GUI thread)."""

    def __init__(self, kind: str, label: str):
        super().__init__()
        self.kind, self.label = kind, label
        self.signals = _Signals()

    def progress(self, done: int, total: int | None = None) -> None:
        super().progress(done, total)
        self._emit(self.signals.progressed, int(done), int(self.total or 0))

    def status(self, text: str) -> None:
        super().status(text)
        self._emit(self.signals.status, text)

    def partial(self, result) -> None:
        super().partial(result)
        self._emit(self.signals.partial, result)

    def _emit(self, signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the receiving window is gone: stop working for it
            self.cancel()


class _Task(QtCore.QRunnable):
    def __init__(self, job: QtJob, fn):
        super().__init__()
        self.job, self.fn = job, fn
        self.setAutoDelete(True)

    def run(self) -> None:
        signals = self.job.signals
        try:
            try:
                result = self.fn(self.job)
            except Cancelled:
                signals.cancelled.emit()
            except Exception as exc:  # everything a job raises becomes a message, never a crash dialog
                detail = traceback.format_exc(limit=6)
                signals.failed.emit(f"{self.job.label}: {type(exc).__name__}: {exc}\n{detail}")
            else:
                signals.finished.emit(result)
        except RuntimeError:
            pass  # the window (and the job's signals) went away while the job ran: nobody to tell


class QtRunner(QtCore.QObject):
    """Starts jobs; tells the window which are running; drops stale results."""

    started = QtCore.Signal(object)        # QtJob
    ended = QtCore.Signal(object)          # QtJob (finished, failed or cancelled)
    failed = QtCore.Signal(str)            # a message for the log

    def __init__(self, parent=None, threads: int = 4):
        super().__init__(parent)
        self.pool = QtCore.QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self.latest: dict[str, QtJob] = {}
        self.running: list[QtJob] = []

    def start(self, kind: str, fn, *, label: str = "", on_done=None, on_partial=None, on_progress=None,
              on_error=None) -> QtJob:
        previous = self.latest.get(kind)
        if previous is not None:
            previous.cancel()
        job = QtJob(kind, label or kind)
        self.latest[kind] = job
        self.running.append(job)

        def current() -> bool:
            return self.latest.get(kind) is job

        def done(result):
            self._end(job)
            if current() and on_done is not None:
                _unless_gone(on_done, result)

        def failed(message):
            self._end(job)
            _unless_gone(self.failed.emit, message)
            if current() and on_error is not None:
                _unless_gone(on_error, message)

        queued = QtCore.Qt.ConnectionType.QueuedConnection  # always delivered on the GUI thread
        job.signals.finished.connect(done, queued)
        job.signals.failed.connect(failed, queued)
        job.signals.cancelled.connect(lambda: self._end(job), queued)
        if on_partial is not None:
            job.signals.partial.connect(lambda r: on_partial(r) if current() else None, queued)
        if on_progress is not None:
            job.signals.progressed.connect(on_progress, queued)
        self.started.emit(job)
        self.pool.start(_Task(job, fn))
        return job

    def _end(self, job: QtJob) -> None:
        if job in self.running:
            self.running.remove(job)
            try:
                self.ended.emit(job)
            except RuntimeError:  # the window closed while the job ran: nobody left to tell
                pass

    def cancel_all(self) -> None:
        for job in list(self.running):
            job.cancel()

    def busy(self) -> bool:
        return bool(self.running)

    def wait(self, msecs: int = 30000) -> bool:
        return self.pool.waitForDone(msecs)


def _unless_gone(fn, *args) -> None:
    """Deliver a job's result, unless the widgets it was meant for were closed meanwhile."""
    try:
        fn(*args)
    except RuntimeError as exc:
        if "deleted" not in str(exc):
            raise
