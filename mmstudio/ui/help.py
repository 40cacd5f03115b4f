"""Help > Quick Start and Help > Keyboard Shortcuts.

Both are made from the window itself: the shortcuts page lists every QAction (and QShortcut) of
the window that has a key, by its menu path; the quick start names menu commands as
``[File > Open Files…]`` and each is looked up among the window's actions, with its key, so
neither page can name a command or a key the window does not have.
"""

from __future__ import annotations

import html
import re

from PySide6 import QtCore, QtGui, QtWidgets

QUICK_START = """
<h3>Quick start</h3>
<p><b>Open media.</b> Drag files, folders or a manifest (CSV/JSONL) onto the window, or use
[File > Open Files…], [File > Open Folder…] or [File > Open Manifest…]. In a folder, files with the
same name (<i>dog.jpg</i>, <i>dog.wav</i>, <i>dog.txt</i>) are one sample, labelled by their folder.
Items join the map as they are encoded; the points already there do not move (Refit lays them all out again).</p>
<p><b>The demo.</b> Started without files, mmstudio opens its demo world: scenes of coloured shapes, each
seen (a 64×64 picture), heard (a one-second sound) and described (a caption). The built-in model knows
only this world: for your own media choose a real model, CLIP, SigLIP, CLAP or BLIP from your Hugging
Face cache or a model folder, with [Model > Model…]. A yellow bar over the map says when the data does
not look like the demo world. [Edit > Preferences…] decides whether the demo opens at start.</p>
<p><b>Colouring.</b> <i>Colour by</i> above the map colours the points by modality, label or any
metadata column; the legend shows the colours. The image, audio and text boxes show or hide a modality;
<i>Link samples</i> joins the items of each sample with lines.</p>
<p><b>Selection.</b> Click a point to select it; choose <i>Box select</i> or <i>Lasso</i> instead of
<i>Pan</i> to draw around points (Shift adds to the selection). [View > Zoom to Selection] frames it.
Type a text in the <i>Query</i> box and press Enter: it is embedded, drawn as a star, and its nearest items
are listed.</p>
<p><b>The panels.</b> The <i>Library</i> (left) lists every sample and every file that could not be
used, with why. The <i>Inspector</i> (right) shows the selected item: its picture, sound or caption, its
nearest items in the other modalities, and where a caption looks in a picture or a sound (attention).
Below the map, the <i>Alignment</i>, <i>Fusion lab</i> and <i>Principles</i> tabs analyse the whole table;
the View menu brings back a closed panel.</p>
<p><b>The Log.</b> The <i>Log</i> tab below the map says what was opened, skipped, noted and computed.
The details of an error (its traceback) go to the log file: <tt>{log_file}</tt>.</p>
<p>Every command is also in the CLI: <tt>mmstudio --help</tt>. [Help > Keyboard Shortcuts] lists the keys.</p>
"""

COMMAND = re.compile(r"\[([^\]]+)\]")


def clean(text: str) -> str:
    """A menu text as shown: without the ``&`` of its accelerator."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def menu_paths(window: QtWidgets.QMainWindow) -> dict[QtGui.QAction, str]:
    """Every action of the window's menus → "File > Open Files…"."""
    paths: dict[QtGui.QAction, str] = {}

    def walk(menu: QtWidgets.QMenu, prefix: str) -> None:
        for action in menu.actions():
            if action.isSeparator():
                continue
            path = f"{prefix} > {clean(action.text())}"
            if action.menu() is not None:
                walk(action.menu(), path)
            else:
                paths.setdefault(action, path)

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu(), clean(top.text()))
    return paths


def key_text(sequence: QtGui.QKeySequence) -> str:
    return sequence.toString(QtGui.QKeySequence.SequenceFormat.NativeText)


def shortcuts(window: QtWidgets.QMainWindow) -> list[tuple[str, str]]:
    """(command, keys) for every action and shortcut of the window that has a key, menus first."""
    paths = menu_paths(window)
    rows, seen = [], set()
    for action in [*paths, *window.findChildren(QtGui.QAction)]:
        keys = [key_text(k) for k in action.shortcuts() if not k.isEmpty()]
        if not keys or id(action) in seen:
            continue
        seen.add(id(action))
        name = paths.get(action) or clean(action.text()) or action.toolTip() or action.objectName()
        rows.append((name, ", ".join(keys)))
    for shortcut in window.findChildren(QtGui.QShortcut):
        if not shortcut.key().isEmpty():
            rows.append((shortcut.whatsThis() or shortcut.objectName() or "shortcut", key_text(shortcut.key())))
    return rows


def shortcuts_html(window) -> str:
    rows = "".join(f"<tr><td>{html.escape(name)}</td><td><b>{html.escape(keys)}</b></td></tr>"
                   for name, keys in shortcuts(window))
    return f"<h3>Keyboard shortcuts</h3><table cellspacing=6>{rows}</table>"


def quick_start_html(window) -> str:
    """The quick start, each ``[Menu > Command]`` looked up among the window's actions (a KeyError
    names one that does not exist) and shown with its key."""
    from mmstudio.core.logfile import log_path

    by_path = {path: action for action, path in menu_paths(window).items()}

    def command(match: re.Match) -> str:
        path = match.group(1)
        action = by_path[path]
        keys = [key_text(k) for k in action.shortcuts() if not k.isEmpty()]
        return f"<b>{html.escape(path)}</b>" + (f" ({html.escape(keys[0])})" if keys else "")

    return COMMAND.sub(command, QUICK_START.replace("{log_file}", html.escape(str(log_path()))))


class QtHelpPage(QtWidgets.QDialog):
    """A page of help text (not modal: the window stays usable beside it)."""

    def __init__(self, title: str, text: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.browser = QtWidgets.QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setHtml(text)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)
        self.resize(620, 560)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)


def add_help_menu(window, help_menu: QtWidgets.QMenu) -> None:
    """Quick Start (F1) and Keyboard Shortcuts, above About."""
    def show(title, make):
        page = QtHelpPage(title, make(window), window)
        window.help_page = page
        page.show()

    help_menu.addAction("&Quick Start", QtGui.QKeySequence.StandardKey.HelpContents,
                        lambda: show("Quick start", quick_start_html))
    help_menu.addAction("&Keyboard Shortcuts", lambda: show("Keyboard shortcuts", shortcuts_html))
    help_menu.addSeparator()
