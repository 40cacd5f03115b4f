"""Shared fixtures: an isolated cache per test session and tiny real checkpoints built offline."""

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"  # tests never reach for the hub


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Each test gets its own embedding cache folder (never the user's)."""
    folder = tmp_path / "mmstudio-cache"
    monkeypatch.setenv("MMSTUDIO_CACHE_DIR", str(folder))
    monkeypatch.setenv("MMSTUDIO_LOG_DIR", str(tmp_path / "mmstudio-log"))  # nor the user's log file
    return folder


@pytest.fixture(autouse=True)
def isolated_log(tmp_path_factory, monkeypatch):
    """The log file (tracebacks) goes to a folder of the test session, never the user's."""
    folder = tmp_path_factory.getbasetemp() / "mmstudio-log"
    monkeypatch.setenv("MMSTUDIO_LOG_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Tiny random CLIP, SigLIP, CLAP and BLIP-ITM folders, saved like a user's checkpoint."""
    import tiny_models

    return tiny_models.build_all(tmp_path_factory.mktemp("checkpoints"))


@pytest.fixture(scope="session")
def family_checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Tiny random SigLIP 2, ALIGN, AltCLIP, Chinese-CLIP, MetaCLIP 2 and fused CLAP folders (tests/tiny_families.py)."""
    import tiny_families

    return tiny_families.build_families(tmp_path_factory.mktemp("families"))
