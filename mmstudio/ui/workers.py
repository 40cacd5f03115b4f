"""Running the Qt-free job functions on worker threads, with their reports turned into signals.

``QtRunner.start(kind, fn, ...)`` runs ``fn(job)`` in a thread pool. ``job`` is a
:class:`QtJob`: progress, status and partial results arrive on the GUI thread as signals;
``cancel()`` makes the function stop at its next ``job.check()``. Requests of the same kind
supersede each other: when a newer one was started, an older one's results are dropped
(and it is asked to cancel). Exceptions never reach the user as tracebacks: the traceback goes
to the log file (:mod:`mmstudio.core.logfile`), a one-line reason to ``QtRunner.failed`` (shown
in the window's Log) and the exception itself to ``job.error``.

The map's own jobs (loading the model, opening and encoding files, the UMAP layout: see
:func:`is_map_job`) always go first. A panel's job (``start(..., panel=True)``) waits while any
of them runs: it is queued until they are done, and one already running pauses at its next
``job.check()`` until they are. Panel jobs run on threads of their own, at a lower OS priority
(Linux), so the window's thread is scheduled first. :meth:`QtRunner.shutdown` cancels
everything for quitting.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import warnings

from PySide6 import QtCore

from mmstudio.core.jobs import Cancelled, Job
from mmstudio.core.logfile import log_exception

MAP_KINDS = ("model", "open", "demo", "project")  # with "encode-…": the jobs that make the map
PRIORITY = {"map": 1, "other": 0}                  # QThreadPool queue order when every thread is busy


def is_map_job(kind: str) -> bool:
    return kind in MAP_KINDS or kind.startswith("encode-")


class _Signals(QtCore.QObject):
    progressed = QtCore.Signal(int, int)
    status = QtCore.Signal(str)
    partial = QtCore.Signal(object)
    finished = QtCore.Signal(object)
    failed = QtCore.Signal(str)
    cancelled = QtCore.Signal()
    cancel_requested = QtCore.Signal()


class QtJob(Job):
    """A job handle whose reports are Qt signals (emitted from the worker, delivered on the GUI thread).
    A panel's job holds the runner's ``map_idle`` event: its ``check()`` waits while that is clear."""

    def __init__(self, kind: str, label: str, map_idle: threading.Event | None = None):
        super().__init__()
        self.kind, self.label = kind, label
        self.panel = map_idle is not None
        self._map_idle = map_idle
        self.signals = _Signals()
        self.error: BaseException | None = None   # what the job raised, when it failed

    def check(self) -> None:
        super().check()
        if self._map_idle is not None and not self._map_idle.is_set():
            self.status("paused while the map is computed")
            while not self._map_idle.wait(0.05):
                super().check()

    def cancel(self) -> None:
        super().cancel()
        try:
            self.signals.cancel_requested.emit()  # the runner drops it if it still waits for the map
        except RuntimeError:
            pass  # the window (and the runner) went away

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


PANEL_NICE = 5           # panel jobs' threads run this much "nicer" than the window's thread (Linux)
_thread_state = threading.local()


def lower_thread_priority() -> None:
    """Once per thread (panel jobs, picture decoding): raise its nice value, so that on a busy machine the
    window's thread (and the map's jobs) are scheduled first; the work still gets every core nobody else
    wants."""
    if getattr(_thread_state, "niced", False) or not sys.platform.startswith("linux"):
        return
    _thread_state.niced = True
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + PANEL_NICE))
    except OSError:
        pass


class _Task(QtCore.QRunnable):
    def __init__(self, job: QtJob, fn, low_priority: bool = False):
        super().__init__()
        self.low_priority = low_priority
        self.job, self.fn = job, fn
        self.setAutoDelete(True)

    def run(self) -> None:
        if self.low_priority:
            lower_thread_priority()
        signals = self.job.signals
        try:
            try:
                self.job.check()  # cancelled while it waited in the queue
                result = self.fn(self.job)
            except Cancelled:
                signals.cancelled.emit()
            except Exception as exc:  # everything a job raises becomes a line, never a crash dialog
                self.job.error = exc
                signals.failed.emit(log_exception(self.job.label, exc))
            else:
                signals.finished.emit(result)
        except RuntimeError:
            pass  # the window (and the job's signals) went away while the job ran: nobody to tell
        finally:
            self.job = self.fn = None  # PySide6 may keep this runnable's wrapper for a while: not the job

class QtRunner(QtCore.QObject):
    """Starts jobs; tells the window which are running; drops stale results."""

    started = QtCore.Signal(object)        # QtJob
    ended = QtCore.Signal(object)          # QtJob (finished, failed or cancelled)
    failed = QtCore.Signal(str)            # a one-line reason for the window's Log (the traceback: the log file)

    def __init__(self, parent=None, threads: int = 4):
        super().__init__(parent)
        self.pool = QtCore.QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self.panel_pool = QtCore.QThreadPool(self)   # panel jobs: their own (lower-priority) threads
        self.panel_pool.setMaxThreadCount(2)
        self.latest: dict[str, QtJob] = {}
        self.running: list[QtJob] = []       # started or waiting, not yet ended
        self.waiting: list[_Task] = []       # panel jobs queued until the map's jobs are done
        self.map_idle = threading.Event()    # set while no map job runs (panel jobs wait on it)
        self.map_idle.set()

    def start(self, kind: str, fn, *, label: str = "", on_done=None, on_partial=None, on_progress=None,
              on_error=None, panel: bool = False) -> QtJob:
        """Run ``fn(job)`` on a worker thread. ``panel``: a panel's job, which waits for the map's jobs."""
        previous = self.latest.get(kind)
        if previous is not None:
            previous.cancel()
        job = QtJob(kind, label or kind, self.map_idle if panel else None)
        self.latest[kind] = job
        self.running.append(job)

        def current() -> bool:
            return self.latest.get(kind) is job

        def done(result):
            wanted = current()
            self._end(job)
            if wanted and on_done is not None:
                _unless_gone(on_done, result)

        def failed(message):
            wanted = current()
            self._end(job)
            _unless_gone(self.failed.emit, message)
            if wanted and on_error is not None:
                _unless_gone(on_error, message)

        queued = QtCore.Qt.ConnectionType.QueuedConnection  # always delivered on the GUI thread
        job.signals.finished.connect(done, queued)
        job.signals.failed.connect(failed, queued)
        job.signals.cancelled.connect(lambda: self._end(job), queued)
        if on_partial is not None:
            job.signals.partial.connect(lambda r: on_partial(r) if current() else None, queued)
        if on_progress is not None:
            job.signals.progressed.connect(on_progress, queued)
        job.signals.cancel_requested.connect(self._drop_cancelled, queued)
        if is_map_job(kind):
            self.map_idle.clear()
        self.started.emit(job)
        task = _Task(job, fn, low_priority=panel)
        if panel:  # decided once the event loop turns: the map's next job may be about to start
            self.waiting.append(task)
            QtCore.QTimer.singleShot(0, self, self._start_waiting)
        else:
            self.pool.start(task, PRIORITY["map" if is_map_job(kind) else "other"])
        return job

    def _end(self, job: QtJob) -> None:
        """The job's last report arrived: tell the window, then let the job go. Its signals lose
        their slots: those (closures that hold the job, its last partial result and whatever they
        captured) live as long as the signals object, which lives as long as the job — a cycle
        through Qt that the garbage collector cannot see, which kept every job ever run."""
        if self.latest.get(job.kind) is job:
            del self.latest[job.kind]
        if job in self.running:
            self.running.remove(job)
            try:
                if not any(is_map_job(j.kind) for j in self.running):  # after the job's callbacks (they
                    QtCore.QTimer.singleShot(0, self, self._start_waiting)  # may start the map's next job)
                self.ended.emit(job)
            except RuntimeError:  # the window closed while the job ran: nobody left to tell
                pass
            # once the reports already on their way are delivered (queued after them): then the slots go
            try:
                QtCore.QTimer.singleShot(0, self, functools.partial(_disconnect_all, job.signals))
            except RuntimeError:  # the runner itself is gone: nothing will be delivered any more
                _disconnect_all(job.signals)

    def _start_waiting(self) -> None:
        """Start the queued panel jobs, unless a map job runs (then they wait for its end)."""
        if any(is_map_job(j.kind) for j in self.running):
            for task in self.waiting:
                if not task.job.message:
                    task.job.status("waits until the map is computed")
            return
        self.map_idle.set()
        waiting, self.waiting = self.waiting, []
        for task in waiting:
            self.panel_pool.start(task)

    def _drop_cancelled(self) -> None:
        """Jobs cancelled while they waited for the map end now, without running."""
        for task in [t for t in self.waiting if t.job.cancelled()]:
            self.waiting.remove(task)
            _unless_gone(task.job.signals.cancelled.emit)   # before _end, which lets the slots go
            self._end(task.job)

    def waiting_jobs(self) -> list[QtJob]:
        return [t.job for t in self.waiting]

    def cancel_all(self) -> None:
        for job in list(self.running):
            job.cancel()
        self._drop_cancelled()

    def busy(self) -> bool:
        return bool(self.running)

    def wait(self, msecs: int = 30000) -> bool:
        return self.panel_pool.waitForDone(msecs) and self.pool.waitForDone(msecs)

    def shutdown(self, msecs: int) -> bool:
        """Cancel every job, drop the queued ones, and wait at most ``msecs`` for the running ones
        to stop (at their next ``job.check()``). False when some are still inside a long native call."""
        for job in list(self.running):
            super(QtJob, job).cancel()   # no cancel_requested: nothing is delivered any more
        self.waiting = []
        self.pool.clear()
        self.panel_pool.clear()
        deadline = QtCore.QDeadlineTimer(msecs)
        return self.panel_pool.waitForDone(deadline) and self.pool.waitForDone(deadline)


_SIGNAL_NAMES = [name for name, value in vars(_Signals).items() if isinstance(value, QtCore.Signal)]


def _disconnect_all(signals: _Signals) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # PySide6 warns about a signal with no slot
        for name in _SIGNAL_NAMES:
            try:
                getattr(signals, name).disconnect()
            except (RuntimeError, TypeError):
                pass
            except SystemError as exc:  # that warning, raised: the filters are the process's, and a job's
                if not isinstance(exc.__cause__, RuntimeWarning):  # thread changed them meanwhile (a window
                    raise                                          # test turns warnings into errors)


def _unless_gone(fn, *args) -> None:
    """Deliver a job's result, unless the widgets it was meant for were closed meanwhile."""
    try:
        fn(*args)
    except RuntimeError as exc:
        if "deleted" not in str(exc):
            raise
