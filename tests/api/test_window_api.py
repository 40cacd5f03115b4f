"""`mmstudio.show`: the window on a table in a process of its own. The call returns while that process
runs; the window shows the table it was given; closing it ends the process and removes the temporary file."""

import sys
import time

import numpy as np
import pytest

import mmstudio
from mmstudio.core.tables.table import EmbeddingTable
from tests.analysis.test_align_cli import make_table

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to see the window's libraries")


@pytest.fixture(autouse=True)
def own_settings(tmp_path, monkeypatch):
    """The window's processes write their settings under the test's folder, and draw off screen."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")


def loaded_qt(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/maps") as fh:
            return "libQt6Widgets" in fh.read()
    except OSError:
        return False


def test_show_returns_while_the_window_runs_and_close_ends_it(tmp_path):
    table = make_table(20)
    window = mmstudio.show(table, name="twenty")
    try:
        assert window.running   # returned at once: the window's process has not ended
        assert window.paths == [str(window.folder / "twenty.parquet")]
        written = EmbeddingTable.read(window.paths[0])
        assert written.sample_id.tolist() == table.sample_id.tolist()
        np.testing.assert_array_equal(written.vectors, table.vectors)
        while window.running and not loaded_qt(window.pid):   # the window itself is coming up
            time.sleep(0.05)
        assert window.running, window.output()
    finally:
        code = window.close()
    assert code == 130 and not window.running   # closed as File > Quit closes it (Ctrl-C)
    assert window.output().strip().splitlines()[-1] == "mmstudio: interrupted", window.output()
    assert "Traceback" not in window.output()
    assert not window.folder.exists()


def test_the_window_shows_the_table_it_was_given(tmp_path):
    """With picture=: `mmstudio screenshot` on the table, asked to select a sample id the table lacks:
    the window says so, naming how many items it shows, which are the table's."""
    table = make_table(20)
    window = mmstudio.show(table, picture=tmp_path / "window.png", size=(900, 640), select="nobody")
    assert window.running
    assert window.wait() == 2
    assert f"--select nobody: no sample id 'nobody' (and no row nobody) among the {len(table)} items shown" \
        in window.output()
    assert not (tmp_path / "window.png").exists() and not window.folder.exists()


@pytest.mark.parametrize("args, kwargs, error, message", [
    (["{tmp}/gone.parquet"], {}, FileNotFoundError, "gone.parquet: no such file or folder"),
    ([3], {}, TypeError, "data: expected an EmbeddingTable, a path or a list of paths, not int"),
    ([None], {"select": "s01"}, ValueError, "select: only with picture="),
    ([None], {"picture": "{tmp}/w.png", "size": (10, 10)}, ValueError, "size='10x10': 10x10: width and height"),
    ([None], {"name": "a/b"}, ValueError, "name='a/b': give a file name without folders"),
])
def test_a_wrong_argument_starts_nothing(args, kwargs, error, message, tmp_path):
    def fill(value):
        return value.format(tmp=tmp_path) if isinstance(value, str) else value

    with pytest.raises(error, match=message):
        mmstudio.show(*map(fill, args), **{k: fill(v) for k, v in kwargs.items()})
