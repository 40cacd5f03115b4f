"""The bad-input matrix: every command under bad input, run as a user runs it.

A :class:`Case` builds its bad input in a fresh folder and names the command line to run
there. The test (test_matrix.py) runs ``python -m mmstudio ARGS`` in a subprocess with its own
cache folder and asserts what a user must see: an exit code in ``codes``; no Python traceback
and no "internal error" on stderr; every string of ``says`` (the file, row or option named,
and the reason) on stderr; the files of ``keeps`` not created, or byte-identical to before;
and the run ends within ``timeout`` seconds (a hang fails).

Cases live in ``cases_*.py`` modules of this folder, each exporting ``CASES``; shared inputs
(a small valid table, a tiny model folder) come from the builders below, made once per
session and copied into each case's folder.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

_BUILT: dict[str, Path] = {}
SESSION_DIR: list[Path] = []   # set by conftest.py: where shared inputs are built once


@dataclass(frozen=True)
class Case:
    id: str
    argv: Callable[[Path], list[str]]          # build the bad input in this folder; return the args after `mmstudio`
    codes: tuple[int, ...] = (2,)
    says: tuple[str, ...] = ()                 # each must appear on stderr
    keeps: tuple[str, ...] = ()                # paths (relative to the folder) not created, or left byte-identical
    env: dict = field(default_factory=dict)    # extra environment ({"DIR"} in a value is the case's folder)
    timeout: float = 120.0
    stdin: str = ""                            # what the command reads on stdin (never the terminal's)


def shared(name: str, build: Callable[[Path], Path]) -> Path:
    """A shared input built once per session by ``build(folder) -> path`` (do not modify it: copy it)."""
    if name not in _BUILT:
        folder = SESSION_DIR[0] / name
        folder.mkdir(parents=True, exist_ok=True)
        _BUILT[name] = build(folder)
    return _BUILT[name]


def copy_into(src: Path, folder: Path, name: str | None = None) -> Path:
    target = folder / (name or src.name)
    if src.is_dir():
        shutil.copytree(src, target)
    else:
        shutil.copy2(src, target)
    return target


def small_table(folder: Path, n: int = 24, dim: int = 8, seed: int = 0) -> Path:
    """A valid Parquet embedding table: n samples × (image, text), labels a/b/c, unit vectors."""
    import numpy as np

    from mmstudio.core.tables.table import EmbeddingTable

    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, dim)).astype(np.float32)
    rows = []
    for modality, noise in (("image", 0.1), ("text", 0.2)):
        v = base + noise * rng.normal(size=base.shape).astype(np.float32)
        rows.append(v / np.linalg.norm(v, axis=1, keepdims=True))
    vectors = np.concatenate(rows)
    ids = np.array([f"s{i:03d}" for i in range(n)] * 2, dtype=object)
    table = EmbeddingTable(sample_id=ids, modality=np.array(["image"] * n + ["text"] * n, dtype=object),
                           path=np.array([None] * (2 * n), dtype=object),
                           label=np.array(["abc"[i % 3] for i in range(n)] * 2, dtype=object),
                           vectors=vectors, model="test-model")
    path = folder / "table.parquet"
    table.write(path)
    return path


def tiny_world(folder: Path, n: int = 4) -> Path:
    """A demo world of ``n`` scenes (PNG, WAV, TXT and manifest.csv)."""
    from mmstudio.demo.make import make_world

    make_world(folder / "world", n=n, seed=1)
    return folder / "world"


def tiny_clip(folder: Path) -> Path:
    """A tiny random CLIP checkpoint folder (tests/tiny_models.py)."""
    import sys

    tests = str(Path(__file__).resolve().parent.parent)
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from tiny_models import build_tiny_clip

    return build_tiny_clip(folder / "tiny-clip")


def write_json(path: Path, data) -> Path:
    import json

    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def project_file(folder: Path, name: str = "p.mmstudio", **values) -> Path:
    """A project file with the given top-level values (format and version filled in)."""
    return write_json(folder / name, {"format": "mmstudio-project", "version": 1, **values})
