"""``mmstudio.show``: the window on a table or on files, in a process of its own, so that the notebook
or script that opened it keeps running. A table object is written to a temporary Parquet file first;
the temporary folder goes once the window's process has ended and its handle is waited for, closed
or forgotten."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import weakref
from pathlib import Path

from mmstudio.api.arguments import checked
from mmstudio.core.tables.table import EmbeddingTable

LOG_NAME = "window.log"


class Window:
    """The handle of a window process: ``pid``, ``running``, :meth:`wait`, :meth:`close`, and
    :meth:`output` (what the process printed: the reason when it could not start)."""

    def __init__(self, process: subprocess.Popen, folder: Path, paths: list[str], picture: str | None):
        self.process = process
        self.folder = folder
        self.paths = paths          # what the window opened (a table object: its temporary Parquet file)
        self.picture = picture
        self._output: str | None = None   # what the process printed, kept when its folder goes
        self._cleanup = weakref.finalize(self, _remove_when_ended, process, folder)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the window to close (the user closes it; with ``picture``, once it is written) and
        return its exit code (0 fine, 130 closed by :meth:`close`, else see :meth:`output`).
        ``timeout``: seconds, then ``subprocess.TimeoutExpired``."""
        code = self.process.wait(timeout)
        if self._output is None:
            self._output = self.output()
        self._cleanup()
        return code

    def close(self, timeout: float = 30) -> int:
        """Close the window as File > Quit does (on Windows: end the process); after ``timeout``
        seconds, kill it. Returns its exit code."""
        if self.running:
            if os.name == "posix":
                self.process.send_signal(signal.SIGINT)   # the window takes Ctrl-C as File > Quit
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.wait()

    def output(self) -> str:
        """What the window's process printed so far (stdout and stderr)."""
        if self._output is not None:
            return self._output
        try:
            return (self.folder / LOG_NAME).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def __repr__(self) -> str:
        state = "running" if self.running else f"ended ({self.returncode})"
        what = f"picture {self.picture}" if self.picture else "window"
        return f"<mmstudio {what} on {', '.join(self.paths) or 'the demo world'}: pid {self.pid}, {state}>"


def show(data=None, *, picture=None, size=(1400, 860), select: str | None = None, name: str = "table") -> Window:
    """Open the window on ``data`` in its own process and return at once with its :class:`Window`.

    ``window = mmstudio.show(table)`` … ``window.close()``

    ``data``: an EmbeddingTable (written to a temporary ``NAME.parquet``: the name the window shows),
    a path or a list of paths (files, folders, manifests, tables, a project), or None (the demo
    world). With ``picture``: draw the window off screen once it has settled and save it there
    instead (``mmstudio screenshot``; ``size`` in pixels, ``select`` a sample id to select), then end:
    ``mmstudio.show(table, picture="map.png").wait()``."""
    from mmstudio.cli.argtypes import non_empty_text
    from mmstudio.cli.argtypes import size as size_type

    if picture is not None and not isinstance(picture, (str, os.PathLike)):
        raise TypeError(f"picture: expected a file name (.png, .jpg or .bmp), not {type(picture).__name__}")
    if picture is None and select is not None:
        raise ValueError("select: only with picture= (the window itself starts with nothing selected)")
    width, height = checked("size", "x".join(map(str, size)) if isinstance(size, (tuple, list)) else size,
                            size_type)
    if select is not None:
        select = checked("select", select, non_empty_text)
    if not isinstance(name, str) or not name.strip() or os.sep in name or (os.altsep and os.altsep in name):
        raise ValueError(f"name={name!r}: give a file name without folders")
    paths = _paths(data)
    folder = Path(tempfile.mkdtemp(prefix="mmstudio-show-"))
    try:
        if isinstance(data, EmbeddingTable):
            data.write(folder / f"{name}.parquet")
            paths = [str(folder / f"{name}.parquet")]
        argv = [sys.executable, "-m", "mmstudio"]
        if picture is not None:
            argv += ["screenshot", os.fspath(picture), *paths, "--size", f"{width}x{height}"]
            argv += ["--select", select] if select is not None else []
        else:
            argv += ["--", *paths] if paths else []
        with open(folder / LOG_NAME, "wb") as log:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                       env=_environment(), start_new_session=os.name == "posix")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Window(process, folder, paths, None if picture is None else os.fspath(picture))


def _paths(data) -> list[str]:
    if data is None or isinstance(data, EmbeddingTable):
        return []
    paths = [data] if isinstance(data, (str, os.PathLike)) else data
    if not isinstance(paths, (list, tuple)) or not all(isinstance(p, (str, os.PathLike)) for p in paths):
        raise TypeError(f"data: expected an EmbeddingTable, a path or a list of paths, not {type(data).__name__}")
    for path in paths:
        if not os.path.exists(os.path.expanduser(path)):
            raise FileNotFoundError(f"{path}: no such file or folder")
    return [os.path.abspath(os.path.expanduser(p)) for p in paths]


def _environment() -> dict:
    """This process's environment, with this mmstudio first on the path: the window runs the same code
    (a source tree that is not installed included)."""
    import mmstudio

    env = dict(os.environ)
    root = str(Path(mmstudio.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    return env


def _remove_when_ended(process: subprocess.Popen, folder: Path) -> None:
    """The temporary folder, once nothing reads it any more (a window still open keeps it: its
    project can name the table)."""
    if process.poll() is not None:
        shutil.rmtree(folder, ignore_errors=True)
