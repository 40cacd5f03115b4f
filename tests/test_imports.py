"""Layer rules: a cheap `import mmstudio` and `--help`, and no Qt outside mmstudio/ui/."""

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "umap", "PySide6", "pyqtgraph", "pyarrow", "ray", "pandas")
QT_FREE = ("core", "encoders", "analysis", "export", "demo", "cli", "api")


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
        for name in mmstudio.API:   # the Python API is there, and reaching it loads nothing heavy either
            assert callable(getattr(mmstudio, name)), name
        loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
        print(",".join(loaded))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def qt_free_modules() -> list[str]:
    """Every module of the packages below ui/, subpackages included."""
    names = []
    for package in QT_FREE:
        for path in sorted((ROOT / "mmstudio" / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_non_ui_packages_import_with_qt_made_unimportable():
    modules = qt_free_modules()
    assert "mmstudio.core.tables.table" in modules and "mmstudio.encoders.embed" in modules
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


def test_every_package_and_resource_file_is_installed():
    """pyproject finds the packages (include mmstudio*): every folder of code must be a package
    (an __init__.py with its docstring), and every file under mmstudio/resources/ package data."""
    import fnmatch

    import tomllib
    from setuptools import find_namespace_packages

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = set(find_namespace_packages(str(ROOT), **config["packages"]["find"]))
    code = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "mmstudio").rglob("*.py")
            if "__pycache__" not in p.parts}
    assert code <= found
    for package in code:
        init = ROOT.joinpath(*package.split(".")) / "__init__.py"
        assert init.is_file() and ast.get_docstring(ast.parse(init.read_text())), f"{package}: no __init__ docstring"
    data = config["package-data"]["mmstudio.resources"]
    resources = ROOT / "mmstudio" / "resources"
    for path in resources.rglob("*"):
        if path.is_file() and path.suffix != ".py" and "__pycache__" not in path.parts:
            rel = path.relative_to(resources).as_posix()
            assert any(fnmatch.fnmatch(rel, pattern) for pattern in data), f"{rel} is not package data"
