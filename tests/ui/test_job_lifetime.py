"""A finished job lets go of what it held: the runner kept every job ever run (and its last partial
result) alive through the slots connected to its signals."""

import gc
import weakref

import numpy as np


def test_finished_failed_and_superseded_jobs_are_freed_with_their_partials(qtbot):
    from mmstudio.ui.app import make_app
    from mmstudio.ui.workers import QtRunner

    make_app()
    runner = QtRunner(threads=2)
    held, ended = [], []
    runner.ended.connect(ended.append)

    def produce(job):
        partial = np.ones(250_000)          # 2 MB, as an encoding batch or a UMAP snapshot would be
        job.partial(partial)
        job.status("working")
        job.progress(1, 1)
        return partial.sum()

    def fail(job):
        raise ValueError("bad input")

    for i, fn in enumerate([produce] * 4 + [fail] * 2):
        job = runner.start("same" if i % 2 else f"kind-{i}", fn, on_done=lambda r: None, on_partial=lambda r: None,
                           on_error=lambda m: None)
        job.signals.status.connect(lambda text, j=job: None)      # as the window's status bar does
        held.append(weakref.ref(job))
        del job
        qtbot.waitUntil(lambda: not runner.running, timeout=30_000)
    assert len(ended) == 6
    ended.clear()
    for _ in range(3):
        qtbot.wait(10)
        gc.collect()
    alive = [ref() for ref in held if ref() is not None]
    assert not alive, f"{len(alive)} of {len(held)} jobs still alive after they ended"
    assert runner.latest == {}
    runner.wait(10_000)


def test_letting_go_of_a_job_survives_warning_filters_changed_by_another_thread(monkeypatch):
    """Disconnecting a finished job's signals warns (PySide6: "Failed to disconnect") for a signal with no
    slot; the warning is silenced around the calls, but warning filters belong to the process: a decoding
    thread leaving its own ``catch_warnings`` put back filters that raise it, and the SystemError PySide6
    made of it escaped from a Qt timer (a window test failed at teardown, now and then)."""
    import warnings

    from mmstudio.ui.app import make_app
    from mmstudio.ui.workers import _disconnect_all, _Signals

    make_app()
    monkeypatch.setattr(warnings, "simplefilter", lambda *args, **kwargs: None)  # the other thread's filters win
    with warnings.catch_warnings():
        warnings.filterwarnings("error")
        _disconnect_all(_Signals())
