"""When a job fails, the window shows one line (and its own way out); the traceback goes to the log file."""

from PySide6 import QtWidgets


def test_a_model_that_cannot_be_loaded_says_why_and_how_in_the_window(make_window, qtbot, isolated_log):
    window = make_window()
    qtbot.waitUntil(lambda: window.workspace.encoder is not None and not window.runner.running, timeout=300_000)
    window.workspace.set_model("someone/not-downloaded")   # not in the Hugging Face cache, and no network
    qtbot.waitUntil(lambda: window.model_error is not None and window.model_error.isVisible(), timeout=60_000)
    box = window.model_error
    words = box.text() + "\n" + box.informativeText()
    assert "someone/not-downloaded" in words and "not in the local Hugging Face cache" in words
    assert "Model > Model…" in words and "Folder…" in words          # the window's way, not a command line
    assert "mmstudio embed" not in words and "--model" not in words
    assert window.workspace.model_name == "builtin" and window.workspace.encoder is not None
    log = window.log.toPlainText()
    assert "Traceback" not in log and '  File "' not in log
    lines = [line for line in log.splitlines() if "someone/not-downloaded" in line]
    assert lines[0].startswith("error: load model someone/not-downloaded: model 'someone/not-downloaded' is not in")
    assert len(lines) == 2 and lines[1] == "keeping builtin: could not load someone/not-downloaded"
    written = (isolated_log / "mmstudio.log").read_text()
    assert "Traceback (most recent call last)" in written and "resolve_source" in written
    box.close()


def test_a_failed_job_is_one_line_in_the_window_and_a_traceback_in_the_log_file(make_window, qtbot, isolated_log):
    window = make_window()

    def divide(job):
        return 1 / 0

    window.runner.start("sum", divide, label="sum the scores")
    qtbot.waitUntil(lambda: "sum the scores" in window.log.toPlainText(), timeout=30_000)
    log = window.log.toPlainText()
    assert "error: sum the scores: ZeroDivisionError: division by zero" in log.splitlines()
    assert "Traceback" not in log and "line " not in log
    assert str(isolated_log / "mmstudio.log") in log                      # where the details are
    written = (isolated_log / "mmstudio.log").read_text()
    assert "sum the scores: ZeroDivisionError" in written and "in divide" in written and "1 / 0" in written
    assert window.statusBar().currentMessage() == "sum the scores: ZeroDivisionError: division by zero"
    assert not isinstance(QtWidgets.QApplication.activeModalWidget(), QtWidgets.QMessageBox)
