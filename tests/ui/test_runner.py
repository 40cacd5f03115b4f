"""The window's job runner on its own: a newer job of a kind supersedes the older one (whose result
is dropped), a cancelled job ends without a result, a failing job is one line."""

import threading

import pytest


@pytest.fixture
def runner(qtbot):
    from mmstudio.ui.app import make_app
    from mmstudio.ui.workers import QtRunner

    make_app()
    runner = QtRunner(threads=2)
    yield runner
    runner.cancel_all()
    runner.wait(30_000)


def test_a_newer_job_of_the_same_kind_supersedes_the_older_and_its_result_is_dropped(runner, qtbot):
    running, release = threading.Event(), threading.Event()
    results = []

    def slow(job):
        running.set()
        release.wait(30)
        return "old"                     # finishes although cancelled: it never looked

    old = runner.start("layout", slow, on_done=results.append)
    assert running.wait(30)
    new = runner.start("layout", lambda job: "new", on_done=results.append)
    assert old.cancelled() and not new.cancelled()
    with qtbot.waitSignals([runner.ended, runner.ended], timeout=30_000):
        release.set()
    assert results == ["new"]            # the stale "old" was dropped
    assert runner.running == [] and "layout" not in runner.latest


def test_a_cancelled_job_says_cancelled_and_gives_no_result(runner, qtbot):
    started, results = threading.Event(), []

    def loop(job):
        started.set()
        while True:
            job.check()
            threading.Event().wait(0.002)

    job = runner.start("encode-1", loop, on_done=results.append)
    assert started.wait(30)
    with qtbot.waitSignal(job.signals.cancelled, timeout=30_000):
        job.cancel()
    qtbot.waitUntil(lambda: not runner.running, timeout=30_000)
    assert results == []


def test_a_failing_job_is_one_line_naming_the_job(runner, qtbot):
    errors = []

    def fail(job):
        raise KeyError("width")

    with qtbot.waitSignal(runner.failed, timeout=30_000) as blocker:
        runner.start("alignment", fail, label="alignment report", on_error=errors.append)
    assert blocker.args == ["alignment report: KeyError: 'width'"]
    qtbot.waitUntil(lambda: errors == ["alignment report: KeyError: 'width'"], timeout=30_000)
