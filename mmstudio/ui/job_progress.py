"""The status bar's progress bar: one job at a time, named, never going back while it shows that job.

Jobs follow each other (open, encode, UMAP…) and several can run at once; each counts its own
steps. The bar shows the first running job that reports progress, as "encode 24 samples: 43%",
until that job ends; then the next job that reports takes it over, under its own name. Within
a job the bar only moves forward. A job whose count starts again with a new total (UMAP counts
its nearest neighbours, then its layout epochs) shows it as a numbered step: "UMAP, step 2: 3%".
While no job has reported yet, or only housekeeping runs (``quiet`` kinds), it is a busy bar.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

RESOLUTION = 1000
QUEUED = QtCore.Qt.ConnectionType.QueuedConnection


class QtJobProgress(QtWidgets.QProgressBar):
    def __init__(self, runner, quiet=(), parent=None):
        super().__init__(parent)
        self.runner = runner
        self.quiet = set(quiet)        # job kinds whose counts mean nothing to a user
        self.job = None                # the job shown
        self.step = 0                  # its step (a new total starts a new one)
        self._total = None
        self.setMaximumWidth(280)
        self.setMinimumWidth(200)   # "encode 24 samples: 43%" in full (the job line beside it is elided instead)
        self.setVisible(False)
        runner.started.connect(self._started)
        runner.ended.connect(self._ended)

    def _started(self, job) -> None:
        if job.kind not in self.quiet:  # a method of this widget: Qt drops the connection when the bar goes
            job.signals.progressed.connect(self._progressed, QUEUED)
        self._update()

    @QtCore.Slot(int, int)
    def _progressed(self, done: int, total: int) -> None:
        signals = self.sender()
        job = next((j for j in self.runner.running if j.signals is signals), None)
        if job is not None:
            self.report(job, done, total)

    def report(self, job, done: int, total: int) -> None:
        if job not in self.runner.running:
            return                     # a late report of a job that has ended
        if self.job is not None and self.job is not job and self.job in self.runner.running:
            return                     # another job has the bar until it ends
        new_step = job is not self.job or total != self._total
        if job is not self.job:
            self.job, self.step = job, 1
        elif new_step:
            self.step += 1
        if new_step:                   # its name first, then the bar from 0
            self._total = total
            self.setFormat(f"{job.label}" + (f", step {self.step}" if self.step > 1 else "") + ": %p%")
            self.setRange(0, RESOLUTION)
            self.setValue(0)
        fraction = min(max(done / total, 0.0), 1.0) if total > 0 else 0.0
        self.setValue(max(self.value(), round(fraction * RESOLUTION)))

    def _ended(self, job) -> None:
        if job is self.job:
            self.job = None
        self._update()

    def _update(self) -> None:
        self.setVisible(bool(self.runner.running))
        if self.job is None:           # busy until a running job reports its progress
            self.setRange(0, 0)
            self.setFormat("")
