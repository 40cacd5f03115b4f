"""Panels compute when they are first shown, and their jobs wait for the map's own jobs."""

import threading

from ui_helpers import DEMO, settled

PANEL_PREFIXES = ("alignment", "aligner", "fusion-", "principles-")


def panel_kinds(kinds):
    return [k for k in kinds if k.startswith(PANEL_PREFIXES)]


def raise_panel(window, title):
    dock = window.docks[title]
    dock.show()
    dock.raise_()


def test_no_panel_computes_until_its_tab_is_shown(make_window, qtbot):
    window = make_window([DEMO])
    started = []
    window.runner.started.connect(lambda job: started.append(job.kind))
    qtbot.waitUntil(lambda: settled(window) and not window.runner.running
                    or settled(window) and {j.kind for j in window.runner.running} == {"warm-up"}, timeout=300_000)
    assert "encode" in " ".join(started) and "project" in started    # the map's jobs ran
    assert panel_kinds(started) == []                                 # behind the Log's tab, nothing computed
    assert window.panels["Alignment"].report is None and window.panels["Fusion lab"].lab is None

    for title, prefix in (("Alignment", "alignment"), ("Fusion lab", "fusion-"), ("Principles", "principles-")):
        raise_panel(window, title)
        qtbot.waitUntil(lambda p=prefix: any(k.startswith(p) for k in started), timeout=10_000)
    window.runner.cancel_all()


def test_a_panel_shown_while_the_map_computes_waits_for_it(make_window, qtbot, tmp_path):
    from mmstudio.demo.make import make_world

    make_world(tmp_path / "w", n=60, seed=21)
    window = make_window()
    qtbot.waitUntil(lambda: window.workspace.encoder is not None and not window.runner.running, timeout=300_000)
    window.open_paths([tmp_path / "w"])
    qtbot.waitUntil(lambda: any(j.kind.startswith("encode") for j in window.runner.running), timeout=60_000)
    raise_panel(window, "Alignment")
    qtbot.waitUntil(lambda: any(j.kind == "alignment" for j in window.runner.running), timeout=60_000)
    # the report's job is queued, not running, while the items are encoded and projected
    assert [j.kind for j in window.runner.waiting_jobs()] == ["alignment"]
    panel = window.panels["Alignment"]
    qtbot.waitUntil(lambda: settled(window) and panel.report is not None, timeout=300_000)
    assert panel.report["rows"] == len(window.workspace.table) == 180


def test_the_runner_starts_panel_jobs_after_the_map_jobs_and_pauses_running_ones(qtbot):
    from mmstudio.ui.app import make_app
    from mmstudio.ui.workers import QtRunner

    make_app()
    runner = QtRunner(threads=2)
    release, steps, ran = threading.Event(), [], []

    def encode(job):
        release.wait(60)
        return "encoded"

    def panel(job):
        ran.append(True)
        while True:           # works until cancelled, one step per check
            job.check()
            steps.append(1)
            threading.Event().wait(0.002)

    runner.start("encode-1", encode)
    queued = runner.start("alignment", panel, panel=True)
    assert runner.waiting_jobs() == [queued] and not ran
    release.set()
    qtbot.waitUntil(lambda: len(steps) > 20, timeout=30_000)          # started once the map's job ended

    release.clear()
    runner.start("project", encode)                                    # the map computes again
    qtbot.waitUntil(lambda: "paused" in queued.message, timeout=30_000)
    paused_at = len(steps)
    threading.Event().wait(0.2)
    assert len(steps) == paused_at                                     # the panel's job waits
    release.set()
    qtbot.waitUntil(lambda: len(steps) > paused_at + 20, timeout=30_000)  # and goes on after it

    runner.cancel_all()
    assert runner.wait(30_000)
    qtbot.waitUntil(lambda: not runner.running, timeout=10_000)
