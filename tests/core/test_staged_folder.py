"""core.atomic.staged_folder: a folder's files appear all at once, or not at all."""

import os
import signal

import pytest

from mmstudio.core.atomic import deferred_interrupt, staged_folder


def test_a_new_folder_appears_whole_with_the_usual_mode(tmp_path):
    target = tmp_path / "out"
    with staged_folder(target) as scratch:
        (scratch / "a.txt").write_text("a")
        assert not target.exists() and scratch.parent == tmp_path and scratch.name.startswith(".out.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (target / "a.txt").read_text() == "a"
    mask = os.umask(0o022)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o777 & ~mask


def test_an_existing_folder_keeps_the_files_not_rewritten(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")
    (target / "a.txt").write_text("old")
    with staged_folder(target) as scratch:
        (scratch / "a.txt").write_text("new")
    assert (target / "mine.txt").read_text() == "keep me" and (target / "a.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("stop", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_a_failure_or_ctrl_c_leaves_nothing(tmp_path, stop):
    target = tmp_path / "out"
    target.mkdir()
    (target / "a.txt").write_text("old")
    with pytest.raises(type(stop)):
        with staged_folder(target) as scratch:
            (scratch / "a.txt").write_text("half")
            raise stop
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"] and (target / "a.txt").read_text() == "old"


def test_ctrl_c_during_the_renames_waits_for_them(tmp_path):
    # Python's own handler, as in a program started from a terminal (pytest started in the background
    # by a non-interactive shell inherits an ignored SIGINT)
    outside = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with deferred_interrupt():
                os.kill(os.getpid(), signal.SIGINT)
                (tmp_path / "done").write_text("still ran")
        assert (tmp_path / "done").read_text() == "still ran"
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, outside)
