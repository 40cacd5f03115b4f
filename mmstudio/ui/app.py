"""Starting the window: show it first, then load the model and the data in the background."""

from __future__ import annotations

import os
import sys

GIL_SWITCH_S = 0.001  # how long a worker thread may hold the GIL while the window's thread waits for it


def make_app():
    from PySide6 import QtWidgets

    # Jobs run Python on worker threads; with Python's default 5 ms switch interval the window's
    # thread waited up to 5 ms for every slot and paint callback it ran while they did (hundreds of
    # milliseconds per frame, benchmarks/stalls.py). 1 ms halves the largest gaps there.
    sys.setswitchinterval(GIL_SWITCH_S)

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("mmstudio")
    app.setOrganizationName("mmstudio")
    app.setDesktopFileName("io.github.mmstudio.mmstudio")  # packaging/linux/: the menu entry's icon on Wayland
    app.setStyle("Fusion")  # follows the system's light or dark scheme (Qt ≥ 6.5)
    import pyqtgraph as pg

    dark = app.styleHints().colorScheme().name == "Dark"
    pg.setConfigOptions(background=(30, 30, 30) if dark else "w", foreground="w" if dark else (60, 60, 60),
                        antialias=False)
    return app


def build_window(paths=(), settings=None, recovery: bool = False, warm: bool = True):
    """The window, shown, with its first jobs started: the given paths, or the demo world.
    With ``recovery``, first offer the session autosaved before a crash, then autosave. ``warm``:
    compile UMAP's code in the background for the maps to come (not for a one-picture run)."""
    from PySide6 import QtCore

    from mmstudio.ui.main_window import QtMainWindow

    window = QtMainWindow(settings)
    window.show()

    def start():
        window.workspace.ensure_model()
        if recovery and window.projects.start_autosave():
            pass  # the restored session's sources are opening
        elif paths:
            window.open_paths(paths)
        elif window.settings.value("open_demo", "true") == "true":
            open_demo(window)
        if warm:
            warm_up(window)

    QtCore.QTimer.singleShot(0, start)
    return window


def open_demo(window) -> None:
    def make(job):
        from mmstudio.demo.make import demo_world

        job.status("writing the demo world (first start only)")
        return demo_world(job=job)

    window.runner.start("demo", make, label="demo world", on_done=lambda folder: window.open_paths([folder]))


def warm_up(window) -> None:
    """Compile UMAP's numba code while the user looks around."""
    def work(job):
        from mmstudio.analysis.projection.project import warm_up as umap_warm_up

        return umap_warm_up(job=job)

    window.runner.start("warm-up", work, label="warming up UMAP")


def run(paths=()) -> int:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    ctrl_c = CtrlC()  # before Qt is imported (see CtrlC)
    app = make_app()
    if refuse_unsafe_binding():
        return 1
    window = build_window(paths, recovery=True)
    restore_hooks = log_bugs_to(window)
    ctrl_c.close(app, window)
    code = app.exec() if not ctrl_c.caught else 0
    ctrl_c.release()
    # The window has closed: its settings are saved and its jobs were cancelled and given a moment to
    # stop (QtMainWindow.closeEvent). A job still inside a long native call (numba compiling, a torch
    # import) cannot be interrupted, and Python's own teardown of torch, numba and Qt took seconds
    # more: end the process now. Every file a job writes goes to a temporary name renamed when it is
    # complete, and the cache is an SQLite database, so nothing is left half-written.
    window.runner.shutdown(0)
    restore_hooks()
    if ctrl_c.caught:
        print("mmstudio: interrupted", file=sys.stderr)
        code = 130
    hard_exit(code)
    return code


def log_bugs_to(window):
    """An exception nobody caught (in a slot, a thread) goes to the log file; the Log panel gets
    one line naming it and the file. Returns a function that puts the previous hooks back."""
    import weakref

    from mmstudio.core.logfile import install_excepthook

    ref = weakref.ref(window)  # the hook must not keep the window alive (see dispose)

    def show(line: str) -> None:
        alive = ref()
        if alive is not None:
            alive.log_line("error: " + line)
            alive.statusBar().showMessage(line, 10000)

    return install_excepthook(show)


class CtrlC:
    """Ctrl-C in the terminal closes the window as File > Quit does (exit code 130).

    The handler only takes note: a KeyboardInterrupt raised while PySide6's import hook runs an
    import is lost, and one raised inside Qt's event handling can crash. So it is installed before
    Qt is imported, and once the window is up, a note closes it; Python runs signal handlers only
    between its own bytecodes, so a timer lets it look a few times a second."""

    def __init__(self):
        import signal

        self.caught = False
        self._then = None
        signal.signal(signal.SIGINT, self._note)

    def _note(self, *_):
        self.caught = True
        if self._then is not None:
            self._then()

    def close(self, app, window) -> None:
        from PySide6 import QtCore

        def stop():
            window.close()
            app.quit()

        self._then = stop
        timer = QtCore.QTimer(window)
        timer.timeout.connect(lambda: None)
        timer.start(200)

    def release(self) -> None:
        """Forget the window (so that it can be freed) and let Ctrl-C interrupt Python again."""
        import signal

        self._then = None
        signal.signal(signal.SIGINT, signal.default_int_handler)


def hard_exit(code: int) -> None:
    """End the process now, after flushing what Python would flush at exit."""
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def refuse_unsafe_binding() -> bool:
    """Say so, on stderr and in a message box, when the installed PySide6 would make the window
    abort later (see binding_check); ``MMSTUDIO_ALLOW_UNSAFE_QT=1`` opens it anyway."""
    from mmstudio.ui.binding_check import binding_problem

    problem = binding_problem()
    if problem is None:
        return False
    print(f"mmstudio: {problem}", file=sys.stderr)
    if os.environ.get("MMSTUDIO_ALLOW_UNSAFE_QT") == "1":
        return False
    if os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        from PySide6 import QtWidgets

        QtWidgets.QMessageBox.critical(None, "mmstudio cannot start safely", problem)
    return True


def dispose(window, wait_ms: int = 5000) -> None:
    """Stop the window's jobs and close it. The caller then drops its reference and runs
    ``gc.collect()`` while Qt is still up: left to the interpreter's last garbage collection,
    the window's objects can make PySide6 6.12 abort at exit ("bool_dealloc"). ``wait_ms``: how
    long a job inside a call it cannot leave (importing torch, loading a model) may take to end;
    a process that exits under it prints torch's finalizer errors at shutdown."""
    window.runner.shutdown(wait_ms)
    window.close()
