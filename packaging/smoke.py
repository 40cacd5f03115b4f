"""Smoke test of the PyInstaller bundle (`make bundle` runs it after the build; `make smoke-bundle` alone).

    .venv/bin/python packaging/smoke.py [dist/mmstudio/mmstudio] [--installed .venv/bin/mmstudio]

1. the bundle holds the Qt plugins and resources/ files it needs (packaging/hidden_imports.py);
2. ``BUNDLE --info`` prints the same versions as the installed package's ``mmstudio --info``
   (mmstudio, python, torch, transformers, umap-learn, Qt/PySide6/pyqtgraph; the executable path differs);
3. ``BUNDLE embed`` encodes a few demo files with the built-in model and with tiny random CLIP, SigLIP,
   CLAP and BLIP checkpoints (tests/tiny_models.py, built offline), giving the same vectors as the
   installed package: transformers' lazily imported model, tokenizer and processor modules are there;
4. ``BUNDLE screenshot OUT.png`` (QT_QPA_PLATFORM=offscreen) writes a window picture that is not blank.

Both commands run with a fresh, empty cache (MMSTUDIO_CACHE_DIR), so the screenshot includes writing
the demo world, encoding it with the built-in model and fitting UMAP: a true first start. Prints the
bundle's size and the wall time of each command. Exit status 0 when everything holds.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import hidden_imports as H  # noqa: E402

# --info keys whose values must match; for "python" only the version (the executable differs)
SAME_KEYS = ("mmstudio", "python", "torch", "transformers", "umap-learn", "qt", "platform")


def info(executable: str, env) -> dict[str, str]:
    out = subprocess.run([executable, "--info"], capture_output=True, text=True, env=env, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"smoke: {executable} --info failed ({out.returncode}):\n{out.stderr[-3000:]}")
    lines = {}
    for line in out.stdout.splitlines():
        key, _, value = line.partition(" ")
        lines[key] = value.strip()
    if "python" in lines:
        lines["python"] = lines["python"].split(" (")[0]
    return lines


def embed_same(bundle: str, installed: str, tmp: Path, env) -> list[str]:
    """Encode the first demo scene's picture, sound and caption with each model, bundle and installed."""
    import numpy as np

    sys.path.insert(0, str(ROOT / "tests"))
    import tiny_models

    models = {"builtin": "builtin", **{k: str(v) for k, v in tiny_models.build_all(tmp / "checkpoints").items()}}
    files = [str(ROOT / "mmstudio" / "resources" / "demo" / f"scene_00000.{ext}") for ext in ("png", "wav", "txt")]
    failures = []
    for name, model in models.items():
        tables = []
        for who, exe in (("bundle", bundle), ("installed", installed)):
            out = tmp / f"{name}-{who}.npz"
            start = time.perf_counter()
            run = subprocess.run([exe, "embed", *files, "--model", model, "--no-cache", "--out", str(out)],
                                 capture_output=True, text=True, env=env, timeout=600)
            if run.returncode != 0:
                failures.append(f"embed --model {name} ({who}) failed ({run.returncode}): {run.stderr[-2000:]}")
                break
            tables.append(np.load(out, allow_pickle=False))
            if who == "bundle":
                print(f"embed         {time.perf_counter() - start:.1f} s (bundle, --model {name}): "
                      f"{tables[0]['embedding'].shape[0]} rows, {tables[0]['embedding'].shape[1]}-d")
        if len(tables) == 2:
            a, b = tables
            if list(a["modality"]) != list(b["modality"]) or not np.allclose(a["embedding"], b["embedding"],
                                                                              atol=1e-5):
                failures.append(f"embed --model {name}: the bundle's vectors differ from the installed package's")
    return failures


def non_blank(png: Path) -> tuple[bool, str]:
    from PIL import Image, ImageStat

    image = Image.open(png).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    n_colours = len(colours) if colours is not None else 1 << 20
    spread = max(ImageStat.Stat(image).stddev)
    return n_colours > 50 and spread > 5, f"{image.size[0]}x{image.size[1]}, {n_colours} colours, stddev {spread:.1f}"


def du(path: Path) -> str:
    try:
        return subprocess.run(["du", "-sh", str(path)], capture_output=True, text=True).stdout.split()[0]
    except Exception:
        return "?"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bundle", nargs="?", default=str(ROOT / "dist" / "mmstudio" / "mmstudio"))
    parser.add_argument("--installed", default=str(ROOT / ".venv" / "bin" / "mmstudio"),
                        help="the installed package's mmstudio script to compare with")
    parser.add_argument("--size", default="1000x640", help="screenshot size")
    parser.add_argument("--no-models", action="store_true", help="skip the embed comparison")
    args = parser.parse_args(argv)
    bundle = Path(args.bundle).resolve()
    if not bundle.is_file():
        print(f"smoke: no bundle at {bundle}; build it with `make bundle`", file=sys.stderr)
        return 2
    failures = []
    folder = bundle.parent
    internal = folder / "_internal"

    plugins = internal / "PySide6" / "Qt" / "plugins"
    missing = [p for p in H.QT_PLUGINS if not (plugins / p).is_file()]
    missing += [g for g in H.BUNDLE_GLOBS if not list(internal.glob(g))]
    missing += [dest + "/" + Path(src).name for src, dest in H.resource_datas(ROOT)
                if not (internal / dest / Path(src).name).is_file()]
    if missing:
        failures.append(f"missing from the bundle: {', '.join(missing)}")
    print(f"bundle        {folder} ({du(folder)})")

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MMSTUDIO_CACHE_DIR=str(Path(tmp) / "cache"),
                   HF_HUB_OFFLINE="1")
        start = time.perf_counter()
        bundled = info(str(bundle), env)
        t_info = time.perf_counter() - start
        print(f"--info        {t_info:.1f} s (bundle)")
        if Path(args.installed).is_file():
            start = time.perf_counter()
            installed = info(args.installed, env)
            print(f"--info        {time.perf_counter() - start:.1f} s (installed package)")
            for key in SAME_KEYS:
                if bundled.get(key) != installed.get(key):
                    failures.append(f"--info {key}: bundle {bundled.get(key)!r} != installed {installed.get(key)!r}")
        else:
            print(f"smoke: {args.installed} not found; not comparing --info", file=sys.stderr)
        for key in SAME_KEYS:
            print(f"  {key:<12} {bundled.get(key)}")

        if Path(args.installed).is_file() and not args.no_models:
            failures += embed_same(str(bundle), args.installed, Path(tmp), env)

        png = Path(tmp) / "window.png"
        start = time.perf_counter()
        shot = subprocess.run([str(bundle), "screenshot", str(png), "--size", args.size], capture_output=True,
                              text=True, env=env, timeout=900)
        t_shot = time.perf_counter() - start
        if shot.returncode != 0 or not png.is_file():
            failures.append(f"screenshot failed ({shot.returncode}): {shot.stderr[-3000:]}")
        else:
            ok, detail = non_blank(png)
            print(f"screenshot    {t_shot:.1f} s (bundle, empty cache: demo world, encoding, UMAP): {detail}")
            if not ok:
                failures.append(f"the screenshot looks blank ({detail})")
            keep = ROOT / "build" / "smoke-window.png"
            keep.parent.mkdir(exist_ok=True)
            keep.write_bytes(png.read_bytes())
            print(f"              kept as {keep.relative_to(ROOT)}")
        errors = [line for line in shot.stderr.splitlines() if re.search(r"Traceback|Error|could not", line)]
        if errors:
            print("screenshot stderr (errors):\n  " + "\n  ".join(errors[:20]))

    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    print("smoke: ok" if not failures else f"smoke: {len(failures)} failure(s)")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
