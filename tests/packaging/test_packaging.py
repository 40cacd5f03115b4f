"""Desktop packaging (packaging/), checked without building anything: the PyInstaller recipe's lists
cover the package (every resources/ file, every mmstudio module, every module imported inside a
function), and the freedesktop files parse, agree with each other and install with `make install-desktop`."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import os
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
APP_ID = "io.github.mmstudio.mmstudio"
MIME = "application/x-mmstudio-project"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


H = _load(PACKAGING / "hidden_imports.py", "mmstudio_packaging_hidden_imports")


def lazy_imports() -> dict[str, set[str]]:
    """Absolute imports inside functions, anywhere in mmstudio/: module → files."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "mmstudio").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def covered(module: str) -> bool:
    if module in H.HIDDEN_IMPORTS:
        return True
    return any(module == p or module.startswith(p + ".") for p in H.SUBMODULE_PACKAGES)


def module_exists(name: str) -> bool:
    """Whether ``name`` is installed, without importing it (find_spec of a dotted name would)."""
    top, *rest = name.split(".")
    spec = importlib.util.find_spec(top)
    if spec is None:
        return False
    if not rest:
        return True
    folders = [Path(p) for p in (spec.submodule_search_locations or [])]
    for i, part in enumerate(rest):
        last = i == len(rest) - 1
        nxt = [f / part for f in folders if (f / part).is_dir()]
        if last:
            return bool(nxt) or any((f / f"{part}.py").is_file() or list(f.glob(f"{part}.*.so")) or
                                    list(f.glob(f"{part}.*.pyd")) for f in folders)
        folders = nxt
        if not folders:
            return False
    return False


# --- the PyInstaller recipe -------------------------------------------------------------------------

def test_every_resources_file_is_collected_as_mmstudio_resources():
    files = {p for p in (ROOT / "mmstudio" / "resources").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert files, "resources/ is empty"
    datas = H.resource_datas(ROOT)
    collected = {Path(src) for src, _ in datas}
    assert collected == files
    for src, dest in datas:  # each lands where importlib.resources.files("mmstudio.resources") looks
        rel = Path(src).relative_to(ROOT / "mmstudio" / "resources")
        assert Path(dest) / Path(src).name == Path("mmstudio/resources") / rel
    spec = (PACKAGING / "mmstudio.spec").read_text()
    assert "H.resource_datas(" in spec and "datas=datas" in spec


def test_every_mmstudio_module_is_collected():
    import pkgutil

    import mmstudio

    walked = {"mmstudio"} | {m.name for m in pkgutil.walk_packages(mmstudio.__path__, "mmstudio.")}
    walked = {m for m in walked if not m.startswith("mmstudio.resources")}
    assert walked <= set(H.mmstudio_modules(ROOT)), walked - set(H.mmstudio_modules(ROOT))
    assert "mmstudio" in H.SUBMODULE_PACKAGES
    spec = (PACKAGING / "mmstudio.spec").read_text()
    assert "H.mmstudio_modules(" in spec and "H.SUBMODULE_PACKAGES" in spec and "hiddenimports=hiddenimports" in spec
    assert 'collect_submodules("mmstudio"' in (PACKAGING / "hooks" / "hook-mmstudio.py").read_text()
    # modules imported by name at run time: the commands and the encoder backends
    from mmstudio.__main__ import COMMANDS
    from mmstudio.encoders.registry import BACKENDS

    named = {module for module, _ in COMMANDS.values()} | {target.split(":")[0] for target in BACKENDS.values()}
    assert named <= set(H.mmstudio_modules(ROOT))


def test_every_lazily_imported_third_party_module_is_collected():
    stdlib = set(sys.stdlib_module_names)
    missing = {}
    for module, files in lazy_imports().items():
        top = module.split(".")[0]
        if top in stdlib or top == "mmstudio" or top in H.NOT_BUNDLED:
            continue
        if not covered(module):
            missing[module] = sorted(files)
    assert not missing, f"add these to packaging/hidden_imports.py (LAZY_THIRD_PARTY or NOT_BUNDLED): {missing}"


def test_transformers_families_of_the_registry_are_collected():
    from mmstudio.encoders.hf.families import FAMILIES
    from mmstudio.encoders.registry import BACKENDS

    for model_type in BACKENDS:
        assert f"transformers.models.{model_type}" in H.SUBMODULE_PACKAGES, model_type
    for family in FAMILIES:  # the tokenizers and processors their checkpoints name
        for package in family.packages:
            assert f"transformers.models.{package}" in H.SUBMODULE_PACKAGES, (family.name, package)
    assert "transformers.models.auto" in H.SUBMODULE_PACKAGES


def test_hidden_imports_name_installed_modules_and_optional_ones_are_excluded():
    absent = [m for m in H.HIDDEN_IMPORTS + H.SUBMODULE_PACKAGES if not module_exists(m)]
    assert not absent, f"hidden imports that are not installed: {absent}"
    assert set(H.NOT_BUNDLED) <= set(H.EXCLUDES)
    assert not set(H.NOT_BUNDLED) & {m.split(".")[0] for m in H.HIDDEN_IMPORTS}


def test_metadata_and_data_lists_cover_the_heavy_packages():
    from importlib import metadata

    for dist in ("mmstudio", "transformers", "tokenizers", "safetensors", "torch", "umap-learn", "pyqtgraph"):
        assert dist in H.METADATA
    for package in ("transformers", "tokenizers", "safetensors", "torch", "umap", "pynndescent", "numba",
                    "llvmlite", "sklearn", "_soundfile_data", "soxr"):
        assert package in H.DATA_PACKAGES
    absent = []
    for dist in H.METADATA:
        try:
            metadata.version(dist)
        except metadata.PackageNotFoundError:
            absent.append(dist)
    assert not absent, f"METADATA names distributions that are not installed: {absent}"
    assert {"platforms/libqoffscreen.so", "imageformats/libqsvg.so"} <= set(H.QT_PLUGINS)
    assert {"PySide6.QtSvg", "PySide6.QtGui"} <= set(H.HIDDEN_IMPORTS)  # SVG / PDF export (qt_export.py)
    assert "**/__pycache__/**" in H.DATA_EXCLUDES  # not the build machine's numba cache
    assert any(g.startswith("_soundfile_data/") for g in H.BUNDLE_GLOBS)


def test_spec_and_hooks_are_python():
    for path in [PACKAGING / "mmstudio.spec", PACKAGING / "entry.py", *sorted((PACKAGING / "hooks").glob("*.py"))]:
        ast.parse(path.read_text(), filename=str(path))
    hooks = {p.stem for p in (PACKAGING / "hooks").glob("hook-*.py")}
    assert {"hook-mmstudio", "hook-tokenizers", "hook-safetensors", "hook-umap", "hook-pynndescent",
            "hook-soxr"} <= hooks
    spec = (PACKAGING / "mmstudio.spec").read_text()
    assert "hookspath=" in spec and "copy_metadata" in spec and "collect_data_files" in spec


def test_bundle_is_not_part_of_make_test():
    makefile = (ROOT / "Makefile").read_text()
    test_rule = next(line for line in makefile.splitlines() if line.startswith("test:"))
    assert "bundle" not in test_rule
    assert "\nbundle:" in makefile and "packaging/mmstudio.spec" in makefile
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "dist/" in ignored and "build/" in ignored


# --- the freedesktop files --------------------------------------------------------------------------

def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",),
                                       comment_prefixes=("#",), empty_lines_in_values=False)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(PACKAGING / "linux" / f"{APP_ID}.desktop", encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_has_the_required_keys():
    entry = desktop_entry()
    for key in ("Type", "Name", "Exec", "Icon", "MimeType", "Categories"):
        assert entry.get(key), key
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == "mmstudio" and "%F" in entry["Exec"].split()
    assert entry["Icon"] == APP_ID
    assert MIME in entry["MimeType"].rstrip(";").split(";")
    assert entry["MimeType"].endswith(";") and entry["Categories"].endswith(";")
    assert "Science" in entry["Categories"].split(";")
    assert entry["Terminal"] == "false"
    assert f'setDesktopFileName("{APP_ID}")' in (ROOT / "mmstudio" / "ui" / "app.py").read_text()  # Wayland app id


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])


def test_icons_exist_at_every_size():
    svg = ET.parse(PACKAGING / "icons" / "mmstudio.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    for size in ICON_SIZES:
        path = PACKAGING / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert png_size(path) == (size, size)


def test_metainfo_and_mime_type_agree():
    from mmstudio.core.project import SUFFIX

    meta = ET.parse(PACKAGING / "linux" / f"{APP_ID}.metainfo.xml").getroot()
    assert meta.tag == "component" and meta.get("type") == "desktop-application"
    assert meta.findtext("id") == APP_ID
    assert meta.findtext("launchable") == f"{APP_ID}.desktop"
    assert meta.find("launchable").get("type") == "desktop-id"
    for tag in ("name", "summary", "metadata_license", "project_license"):
        assert meta.findtext(tag), tag
    assert meta.find("description/p") is not None
    assert [m.text for m in meta.findall("provides/mediatype")] == [MIME]
    assert meta.findtext("provides/binary") == "mmstudio"
    assert meta.find("releases/release").get("version")

    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    mime = ET.parse(PACKAGING / "linux" / f"{APP_ID}.mime.xml").getroot()
    assert mime.tag == "{%s}mime-info" % ns["m"]
    types = mime.findall("m:mime-type", ns)
    assert [t.get("type") for t in types] == [MIME]
    assert [g.get("pattern") for g in types[0].findall("m:glob", ns)] == [f"*{SUFFIX}"]


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstreamcli is not installed")
def test_appstreamcli_validates_the_metainfo():
    out = subprocess.run(["appstreamcli", "validate", "--no-net", str(PACKAGING / "linux" / f"{APP_ID}.metainfo.xml")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils is not installed")
def test_desktop_file_validate_accepts_the_entry():
    out = subprocess.run(["desktop-file-validate", str(PACKAGING / "linux" / f"{APP_ID}.desktop")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "error" not in out.stdout, out.stdout + out.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_install_desktop_into_a_data_dir_and_uninstall(tmp_path):
    data = tmp_path / "share"
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.update(HOME=str(tmp_path), XDG_DATA_HOME=str(data))
    run = subprocess.run(["make", "-s", "-C", str(ROOT), "install-desktop", "EXEC=/opt/mmstudio/mmstudio"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    expected = [data / "applications" / f"{APP_ID}.desktop", data / "mime" / "packages" / f"{APP_ID}.xml",
                data / "metainfo" / f"{APP_ID}.metainfo.xml", data / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg"]
    expected += [data / f"icons/hicolor/{s}x{s}/apps/{APP_ID}.png" for s in ICON_SIZES]
    assert [p for p in expected if not p.is_file()] == []
    installed = (data / "applications" / f"{APP_ID}.desktop").read_text()
    assert "Exec=/opt/mmstudio/mmstudio %F" in installed.splitlines()
    if shutil.which("update-mime-database"):
        assert MIME in (data / "mime" / "globs2").read_text()
    assert not (tmp_path / ".local").exists()  # nothing outside XDG_DATA_HOME

    run = subprocess.run(["make", "-s", "-C", str(ROOT), "uninstall-desktop"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert [p for p in expected if p.exists()] == []
