"""The window's Log: one line per message, never a traceback; a bug's traceback goes to the log
file; a model that cannot load leaves the previous one; a project whose layout cannot be read
opens without it; what readers note about the files reaches the Log."""

import json

import numpy as np
import soundfile as sf


def _lines(window):
    return window.log.toPlainText().splitlines()


def test_a_model_folder_that_cannot_load_is_one_line_and_the_model_stays(make_window, qtbot, tmp_path):
    window = make_window()
    ws = window.workspace
    qtbot.waitUntil(lambda: ws.encoder is not None, timeout=120_000)
    before = ws.encoder
    bad = tmp_path / "bad-model"
    bad.mkdir()
    (bad / "config.json").write_text(json.dumps({"model_type": ["clip"]}))
    (bad / "model.safetensors").write_bytes(b"")
    ws.set_model(str(bad))
    qtbot.waitUntil(lambda: any("keeping builtin" in line for line in _lines(window)), timeout=120_000)
    assert ws.encoder is before and ws.model_name == "builtin"
    errors = [line for line in _lines(window) if line.startswith("error: load model")]
    assert errors == [f"error: load model {bad}: {bad / 'config.json'}: model_type must be a string, not [\"clip\"]"]
    assert "Traceback" not in window.log.toPlainText()
    assert all(len(line) < 600 for line in _lines(window))   # one line each, whatever failed


def test_a_bug_in_a_slot_is_one_line_naming_the_log_file(make_window, qtbot, tmp_path, monkeypatch):
    from PySide6 import QtCore

    from mmstudio.core.logfile import log_path
    from mmstudio.ui.app import log_bugs_to

    monkeypatch.setenv("MMSTUDIO_LOG_DIR", str(tmp_path / "log"))
    window = make_window()
    restore = log_bugs_to(window)
    try:
        QtCore.QTimer.singleShot(0, lambda: {}["missing key"])
        qtbot.waitUntil(lambda: any("internal error" in line for line in _lines(window)), timeout=10_000)
    finally:
        restore()
    line = next(line for line in _lines(window) if "internal error" in line)
    assert line == f"error: internal error: KeyError: 'missing key' (details in {log_path()})"
    assert "Traceback (most recent call last)" in log_path().read_text()


def test_a_project_with_a_broken_layout_opens_without_it(make_window, qtbot, tmp_path):
    from mmstudio.demo.make import make_world

    make_world(tmp_path / "world", n=3, seed=11)
    path = tmp_path / "p.mmstudio"
    path.write_text(json.dumps({"format": "mmstudio-project", "version": 1, "sources": ["world"],
                                "window_state": "%%% not base64"}))
    window = make_window()
    assert window.projects.open(path)
    qtbot.waitUntil(lambda: window.workspace.table is not None and len(window.workspace.table) == 9, timeout=300_000)
    assert f"{path}: window_state is not valid base64: opened without the saved window layout" in _lines(window)


def test_reader_notes_reach_the_log(make_window, qtbot, tmp_path):
    (tmp_path / "latin.txt").write_bytes("café crème".encode("cp1252"))
    sf.write(tmp_path / "silent.wav", np.zeros(16000, np.float32), 16000)
    window = make_window([str(tmp_path / "latin.txt"), str(tmp_path / "silent.wav"), str(tmp_path / "latin.txt")])
    qtbot.waitUntil(lambda: window.workspace.table is not None and len(window.workspace.table) == 2, timeout=300_000)
    lines = _lines(window)
    assert f"note: {tmp_path / 'latin.txt'} [text]: not UTF-8; decoded as cp1252" in lines
    assert f"note: {tmp_path / 'silent.wav'} [audio]: audio is silent (all samples are zero)" in lines
    assert f"  note: {tmp_path / 'latin.txt'}: given more than once; read once" in lines
