"""One layer graph for the whole package, checked on every import statement (module level and
inside functions alike):

    __main__ ─┬─> cli ──(screenshot only)──> ui
              └─> ui
    api ──> cli (its text formats and argument checks)
    api, cli, ui ──> analysis, export, demo ──> encoders ──> core

``ui`` never imports ``cli``; nothing imports ``api`` (the package's ``__getattr__`` loads it), and it
opens the window only in another process; ``analysis`` never imports ``demo`` or ``export``; inside a package,
sibling subpackages (``analysis.fusion`` and ``analysis.principles``…) import each other one way only.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MAY_IMPORT = {
    "core": set(),
    "encoders": {"core"},
    "analysis": {"encoders", "core"},
    "export": {"analysis", "encoders", "core"},
    "demo": {"analysis", "encoders", "core"},
    "cli": {"analysis", "export", "demo", "encoders", "core", "ui"},
    "ui": {"analysis", "export", "demo", "encoders", "core"},
    "api": {"cli", "analysis", "export", "demo", "encoders", "core"},
    "resources": set(),
}
CLI_TO_UI = {"mmstudio.cli.screenshot"}   # the only command module that opens the window itself


def imports(package_root: Path) -> dict[str, set[str]]:
    """module → the mmstudio modules (or names in them) it imports, from every import statement
    and every ``importlib.import_module("mmstudio…")`` with a literal name."""
    found: dict[str, set[str]] = {}
    top = package_root.name
    for path in sorted(package_root.rglob("*.py")):
        parts = path.relative_to(package_root.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        names = found.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
                  and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                names.add(node.args[0].value)
        found[module] = {n for n in names if n == top or n.startswith(top + ".")}
    return found


def layer(module: str) -> str:
    """``core``, ``ui``…; "" for the top (``mmstudio``, ``mmstudio.__version__``, ``mmstudio.__main__``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in MAY_IMPORT else ""


def wrong_way(graph: dict[str, set[str]]) -> list[str]:
    """Imports that break the layer table: 'importer -> imported (why)'."""
    out = []
    for module, names in sorted(graph.items()):
        src = layer(module)
        if src == "":
            continue
        for name in sorted(names):
            dst = layer(name)
            if dst in ("", src):
                continue
            if dst not in MAY_IMPORT.get(src, set()):
                out.append(f"{module} -> {name} ({src} may not import {dst})")
            elif src == "cli" and dst == "ui" and module not in CLI_TO_UI:
                out.append(f"{module} -> {name} (cli reaches ui only to open the window: {sorted(CLI_TO_UI)})")
    return out


def sibling_cycles(graph: dict[str, set[str]], modules: set[str]) -> list[list[str]]:
    """Cycles between subpackages of one package (mmstudio.analysis.fusion <-> mmstudio.analysis.principles)."""
    def group(name: str) -> str | None:
        parts = name.split(".")
        for n in range(len(parts), 2, -1):   # the deepest package that holds the name
            candidate = ".".join(parts[:n])
            if candidate in packages:
                return candidate if candidate.count(".") >= 2 else None
        return None

    packages = {m for m in modules if any(o.startswith(m + ".") for o in modules)}
    edges = defaultdict(set)
    for module, names in graph.items():
        a = group(module)
        for name in names:
            b = group(name)
            if a and b and a != b and a.rsplit(".", 1)[0] == b.rsplit(".", 1)[0]:
                edges[a].add(b)
    cycles, seen = [], set()
    for start in sorted(edges):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(edges[node]):
                if nxt == start:
                    key = frozenset(path)
                    if key not in seen:
                        seen.add(key)
                        cycles.append(path + [start])
                elif nxt not in path:
                    stack.append((nxt, path + [nxt]))
    return cycles


def test_every_import_follows_the_layer_graph():
    graph = imports(ROOT / "mmstudio")
    assert "mmstudio.ui.map.view" in graph and "mmstudio.analysis.fusion.lab" in graph  # the tree was read
    assert wrong_way(graph) == []


def test_sibling_subpackages_import_each_other_one_way_only():
    graph = imports(ROOT / "mmstudio")
    assert sibling_cycles(graph, set(graph)) == []


def test_a_wrong_way_import_is_caught(tmp_path):
    """The same checks on a small tree with the arrows that ran the wrong way before Step 10."""
    pkg = tmp_path / "mmstudio"
    files = {
        "__init__.py": "", "core/__init__.py": "", "core/table.py": "import numpy\n",
        "ui/__init__.py": "", "ui/dialogs.py": "def about():\n    from mmstudio.cli.info import lines\n",
        "cli/__init__.py": "", "cli/info.py": "from mmstudio.ui.versions import qt_versions\n",
        "cli/screenshot.py": "from mmstudio.ui import app\n",
        "analysis/__init__.py": "", "analysis/principles/__init__.py": "",
        "analysis/principles/data.py": "import importlib\nimportlib.import_module('mmstudio.demo.make')\n",
        "analysis/fusion/__init__.py": "", "analysis/fusion/lab.py": "from mmstudio.analysis.principles import data\n",
        "analysis/principles/fit.py": "from mmstudio.analysis.fusion.lab import x\n",
        "demo/__init__.py": "", "demo/make.py": "from mmstudio.core.table import T\n",
        "api/__init__.py": "", "api/window.py": "def show():\n    from mmstudio.ui.app import run\n",
        "cli/embed.py": "from mmstudio.api import embed\n",
    }
    for name, text in files.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    graph = imports(pkg)
    found = wrong_way(graph)
    assert found == [
        "mmstudio.analysis.principles.data -> mmstudio.demo.make (analysis may not import demo)",
        "mmstudio.api.window -> mmstudio.ui.app (api may not import ui)",
        "mmstudio.api.window -> mmstudio.ui.app.run (api may not import ui)",
        "mmstudio.cli.embed -> mmstudio.api (cli may not import api)",
        "mmstudio.cli.embed -> mmstudio.api.embed (cli may not import api)",
        "mmstudio.cli.info -> mmstudio.ui.versions (cli reaches ui only to open the window: "
        "['mmstudio.cli.screenshot'])",
        "mmstudio.cli.info -> mmstudio.ui.versions.qt_versions (cli reaches ui only to open the window: "
        "['mmstudio.cli.screenshot'])",
        "mmstudio.ui.dialogs -> mmstudio.cli.info (ui may not import cli)",
        "mmstudio.ui.dialogs -> mmstudio.cli.info.lines (ui may not import cli)",
    ], found
    assert sibling_cycles(graph, set(graph)) == [
        ["mmstudio.analysis.fusion", "mmstudio.analysis.principles", "mmstudio.analysis.fusion"]]
