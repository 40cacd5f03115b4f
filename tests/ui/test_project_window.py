"""Projects in the window: save what is shown, open it in a fresh window, see the same view."""

import numpy as np
from ui_helpers import settled


def test_a_saved_project_reopens_to_the_same_view(demo_window, make_window, qtbot, tmp_path):
    ws, view = demo_window.workspace, demo_window.view
    view.color_by.setCurrentText("label")
    view.modality_boxes["audio"].setChecked(False)
    view.links.setChecked(True)
    chosen = np.flatnonzero(ws.table.sample_id == "scene_00003")
    ws.select(chosen)
    path = tmp_path / "demo.mmstudio"
    assert demo_window.projects.save_to(path)

    window = make_window()
    window.open_paths([str(path)])  # as File > Open Project or a dropped .mmstudio file
    other = window.workspace
    qtbot.waitUntil(lambda: settled(window) and len(other.selection) > 0, timeout=300_000)
    assert other.sources == ws.sources and other.model_name == ws.model_name
    assert len(other.table) == len(ws.table)
    order = {(s, m): i for i, (s, m) in enumerate(zip(other.table.sample_id, other.table.modality))}
    same_rows = [order[(s, m)] for s, m in zip(ws.table.sample_id, ws.table.modality)]
    np.testing.assert_allclose(other.xy[same_rows], ws.xy)           # the map comes back as it was
    assert window.view.color_by.currentText() == "label"
    assert not window.view.modality_boxes["audio"].isChecked() and window.view.links.isChecked()
    assert sorted(other.table.sample_id[other.selection]) == sorted(ws.table.sample_id[chosen])
    assert set(other.table.modality[other.selection]) == set(ws.table.modality[chosen])


def test_a_project_with_a_moved_source_opens_the_rest_and_says_what_is_missing(make_window, qtbot, tmp_path):
    from mmstudio.core.project import Project, save_project
    from mmstudio.demo.make import make_world

    make_world(tmp_path / "world", n=3, seed=5)
    save_project(Project(sources=[str(tmp_path / "world"), str(tmp_path / "gone")]), tmp_path / "p.mmstudio")
    window = make_window()
    assert window.projects.open(tmp_path / "p.mmstudio")
    qtbot.waitUntil(lambda: settled(window), timeout=300_000)
    assert len(window.workspace.table) == 9
    assert "missing" in window.log.toPlainText() and "gone" in window.log.toPlainText()


def test_a_broken_project_file_is_refused_with_its_name(make_window, tmp_path, monkeypatch):
    from PySide6 import QtWidgets

    shown = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: shown.append(a[2]))
    bad = tmp_path / "broken.mmstudio"
    bad.write_text("{ not json")
    window = make_window()
    assert not window.projects.open(bad)
    assert shown and "broken.mmstudio" in shown[0]
