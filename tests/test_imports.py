"""Layer rules: a cheap `import mmstudio` and `--help`, and no Qt outside mmstudio/ui/."""

import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import mmstudio

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "umap", "PySide6", "pyqtgraph", "pyarrow", "ray")
QT_FREE = ("core", "encoders", "analysis", "export", "demo", "cli")


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)


def test_import_and_help_load_no_heavy_module():
    result = run_python(f"""
        import sys, contextlib, io
        import mmstudio, mmstudio.__main__ as cli
        with contextlib.redirect_stdout(io.StringIO()) as out:
            try:
                cli.main(["--help"])
            except SystemExit:
                pass
        assert "embed" in out.getvalue()
        loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
        print(",".join(loaded))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def qt_free_modules() -> list[str]:
    names = []
    for package in QT_FREE:
        names.append(f"mmstudio.{package}")
        path = [f"{mmstudio.__path__[0]}/{package}"]
        names += [f"mmstudio.{package}.{m.name}" for m in pkgutil.iter_modules(path)]
    return names


def test_non_ui_packages_import_with_qt_made_unimportable():
    modules = qt_free_modules()
    assert "mmstudio.core.table" in modules and "mmstudio.encoders.embed" in modules
    result = run_python(f"""
        import importlib, sys

        class NoQt:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "qtpy"):
                    raise ImportError(f"Qt is not allowed here: {{name}}")
                return None

        sys.meta_path.insert(0, NoQt())
        for name in {modules!r}:
            importlib.import_module(name)
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_lint_rules_hold():
    """ruff: no unused names, no syntax errors, no module-level import of a heavy package."""
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "--no-cache", str(ROOT)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_subpackage_is_listed_for_installation():
    """pyproject lists packages by hand (resources/ is mapped in): a new subpackage must be added there."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {"mmstudio"} | {f"mmstudio.{p.parent.name}" for p in (ROOT / "mmstudio").glob("*/__init__.py")}
    assert on_disk | {"mmstudio.resources"} == listed


def test_the_window_shows_before_torch_transformers_or_umap_are_imported():
    result = run_python("""
        import os, sys, tempfile
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6 import QtCore
        from mmstudio.ui.app import make_app
        from mmstudio.ui.qt_main_window import QtMainWindow
        app = make_app()
        window = QtMainWindow(QtCore.QSettings(tempfile.mktemp(suffix=".ini"), QtCore.QSettings.Format.IniFormat))
        window.show()
        app.processEvents()
        print(",".join(sorted({m.split(".")[0] for m in sys.modules} & {"torch", "transformers", "umap", "numba"})))
        from mmstudio.ui.app import dispose
        dispose(window)  # as the app does when it quits
        del window
        import gc; gc.collect()
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_qt_is_imported_only_in_ui():
    """DESIGN.md: PySide6 and pyqtgraph live in mmstudio/ui/ only (even imports inside functions)."""
    import ast

    offenders = []
    for path in (ROOT / "mmstudio").rglob("*.py"):
        if path.relative_to(ROOT / "mmstudio").parts[0] == "ui":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6") for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
