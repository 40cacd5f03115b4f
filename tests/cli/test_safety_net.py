"""What a user sees when mmstudio itself fails, or is stopped: one line, never a traceback; the
traceback goes to the log file the line names."""

import os
import subprocess
import sys

from mmstudio.core.logfile import log_path, one_line

# a command whose run() has a bug, run the way `mmstudio` runs it
BUGGY = """
import sys
import mmstudio.cli.align as align
def run(args):
    return {}["no such key"]
align.run = run
from mmstudio.__main__ import main
sys.exit(main())
"""


def _run(code, args, tmp_path, **env):
    environ = {**os.environ, "MMSTUDIO_LOG_DIR": str(tmp_path / "log"), **env}
    script = tmp_path / "buggy.py"
    script.write_text(code)
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, env=environ,
                          stdin=subprocess.DEVNULL, timeout=300)


def test_a_bug_is_one_line_naming_the_log_that_holds_the_traceback(tmp_path):
    done = _run(BUGGY, ["align", "t.parquet"], tmp_path)
    log = tmp_path / "log" / "mmstudio.log"
    assert done.returncode == 1
    assert done.stderr == f"mmstudio align: internal error: KeyError: 'no such key' (details in {log})\n"
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and 'return {}["no such key"]' in text
    assert "argv: " in text and "align t.parquet" in text
    again = _run(BUGGY, ["align", "u.parquet"], tmp_path)   # appended, not replaced
    assert again.returncode == 1 and log.read_text().count("mmstudio align: internal error: KeyError") == 2


def test_an_unwritable_log_is_named_instead(tmp_path):
    done = _run(BUGGY, ["align", "t.parquet"], tmp_path, MMSTUDIO_LOG_DIR="/sys/mmstudio-log")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr == ("mmstudio align: internal error: KeyError: 'no such key' (the log file "
                           "/sys/mmstudio-log/mmstudio.log could not be written)\n")


def test_usage_errors_return_2_in_process_too(capsys):
    from mmstudio.__main__ import main

    assert main(["align", "t.parquet", "--temperature", "nan"]) == 2
    assert "argument --temperature: nan is not a finite number" in capsys.readouterr().err
    assert main(["align", "--help"]) == 0


def test_the_log_file_and_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("MMSTUDIO_LOG_DIR", str(tmp_path))
    assert log_path() == tmp_path / "mmstudio.log"
    assert one_line(ValueError("two\nlines   here")) == "ValueError: two lines here"
    assert one_line(KeyError()) == "KeyError"
    assert len(one_line(ValueError("x" * 500))) == 200
