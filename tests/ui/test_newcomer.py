"""What the window offers a newcomer: the note over the map when the built-in model is used on media
that are not the demo world's (with the numbers, and the way to Model > Model…), the model dialog's
list of checkpoints in the Hugging Face cache, Help's quick start and keyboard shortcuts, and the
report of duplicate sample ids."""

import json
import shutil

from foreign_media import write_foreign_media
from PySide6 import QtCore, QtGui
from ui_helpers import DEMO, settled

from mmstudio.encoders.builtin.encoder import resources_folder
from mmstudio.encoders.hf.families import FAMILIES


def _lines(window):
    return window.log.toPlainText().splitlines()


def _menu_action(window, menu_title: str, text: str) -> QtGui.QAction:
    menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == menu_title)
    return next(a for a in menu.actions() if a.text().replace("&", "") == text)


def test_the_demo_gets_no_note_and_help_lists_every_shortcut(demo_window, qtbot):
    note = demo_window.model_note
    qtbot.waitUntil(lambda: note.demo_fit is not None, timeout=60_000)
    assert note.demo_fit.note() is None and not note.isVisible()

    _menu_action(demo_window, "Help", "Keyboard Shortcuts").trigger()
    page = demo_window.help_page
    qtbot.waitExposed(page)
    text = page.browser.toPlainText()
    keyed = [a for a in demo_window.findChildren(QtGui.QAction) if not a.shortcut().isEmpty()]
    assert len(keyed) >= 10
    for action in keyed:  # every action that has a key is on the page, by name, with its key
        key = action.shortcut().toString(QtGui.QKeySequence.SequenceFormat.NativeText)
        assert f"{action.text().replace('&', '')}\n{key}\n" in text, (action.text(), key)
    assert "File > Open Files…" in text and "Model > Model…" in text
    page.close()

    _menu_action(demo_window, "Help", "Quick Start").trigger()
    page = demo_window.help_page
    qtbot.waitExposed(page)
    text = page.browser.toPlainText()
    open_key = QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Open).toString(
        QtGui.QKeySequence.SequenceFormat.NativeText)
    assert f"File > Open Files… ({open_key})" in text and "Drag files" in text
    for words in ("The demo.", "Colouring.", "Selection.", "The panels.", "The Log.", "Model > Model… (Ctrl+M)"):
        assert words in text
    page.close()


def test_reopening_demo_files_from_another_folder_reports_the_duplicate_ids(demo_window, qtbot, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    for suffix in (".png", ".wav", ".txt"):
        shutil.copy(DEMO / f"scene_00000{suffix}", copy)
    ws = demo_window.workspace
    before = len(ws.table)
    demo_window.open_paths([copy])
    qtbot.waitUntil(lambda: settled(demo_window) and len(ws.table) == before + 3, timeout=120_000)
    line = (f"  1 duplicate sample id, nothing dropped: {copy / 'scene_00000.png'} (+2 more): duplicate sample id "
            f"'scene_00000', already the id of {DEMO / 'scene_00000.png'} (+2 more); kept as 'scene_00000#2'")
    assert line in _lines(demo_window)
    [dup] = [p for p in ws.problems() if "duplicate sample id" in p.reason]
    assert dup.sample_id == "scene_00000#2"
    assert ("error", dup) in demo_window.library.model.entries   # listed in the Library
    assert demo_window.count_label.text().endswith("· 1 duplicate id")
    assert sorted(ws.table.sample_id[ws.table.sample_id == "scene_00000#2"]) == ["scene_00000#2"] * 3  # kept
    assert not demo_window.model_note.isVisible()   # demo files: still no note


def test_foreign_media_get_the_note_and_its_button_opens_the_model_dialog(make_window, qtbot, tmp_path, monkeypatch):
    from huggingface_hub import constants

    hub = tmp_path / "hub"   # a checkpoint in a Hugging Face cache of the test's own: listed by the dialog
    snapshot = hub / "models--acme--clip-small" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps({"model_type": "clip", "architectures": ["CLIPModel"],
                                                      "projection_dim": 384}))
    (snapshot / "preprocessor_config.json").write_text("{}")
    (snapshot / "model.safetensors").write_bytes(b"")
    bert = hub / "models--acme--bert" / "snapshots" / "abc"
    bert.mkdir(parents=True)
    (bert / "config.json").write_text(json.dumps({"model_type": "bert"}))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HOME", str(tmp_path))

    media = tmp_path / "photos"
    write_foreign_media(media, n=6, sounds=1)
    window = make_window([media])
    note = window.model_note
    qtbot.waitUntil(note.isVisible, timeout=120_000)
    vocabulary = set(json.loads((resources_folder() / "config.json").read_text())["model"]["vocabulary"])
    words = [w for f in sorted(media.glob("*.txt")) for w in f.read_text().lower().replace(".", " ").split()]
    unknown = sum(w not in vocabulary for w in words)
    assert note.label.text() == (f"{round(100 * unknown / len(words))} % of caption words are unknown to the built-in "
                                 "model, 100 % of images are not 64×64 pixels like the demo's and 100 % of sounds are "
                                 "not 1-second 16 kHz mono clips like the demo's; it was trained only on the demo world.")
    assert f"{unknown} of {len(words)} are unknown" in note.toolTip()
    bar, plot = note.geometry(), window.view.plot.geometry()
    assert note.parent() is window.view and bar.bottom() < plot.top() and bar.width() > 0.9 * plot.width()
    assert any(line.startswith("note: ") and "caption words are unknown" in line for line in _lines(window))

    qtbot.mouseClick(note.model_button, QtCore.Qt.MouseButton.LeftButton)
    dialog = window.model_dialog
    qtbot.waitUntil(lambda: dialog.isVisible() and len(dialog.listed()) == 3, timeout=30_000)
    assert dialog.listed() == [("builtin", True, "the demo world only"), ("acme/clip-small", True, ""),
                               ("acme/bert", False, "'bert' is not CLIP, SigLIP, SigLIP 2 (NaFlex), ALIGN, "
                                "AltCLIP, Chinese-CLIP, MetaCLIP 2, BLIP ITM or CLAP (unfused and fused)")]
    offered = dict(dialog.families())   # one checkpoint of every family, named in its tooltip
    assert len(offered) == len(FAMILIES)
    for family in FAMILIES:
        assert offered[family.examples[0]].startswith(f"{family.name}: {', '.join(family.modalities)} ")
    row = dialog.checkpoints.topLevelItem(1)
    assert [row.text(c) for c in range(4)] == ["acme/clip-small", "CLIP", "image, text", "384-d"]
    dialog.checkpoints.itemClicked.emit(row, 0)
    assert dialog.value() == "acme/clip-small"
    dialog.reject()

    qtbot.mouseClick(note.dismiss_button, QtCore.Qt.MouseButton.LeftButton)
    assert not note.isVisible()
    note._checked(note.demo_fit)   # the same numbers again: it stays away
    assert not note.isVisible()
