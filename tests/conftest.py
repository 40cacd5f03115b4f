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


def _threads_per_worker() -> None:
    """Under pytest-xdist (``make test`` runs two workers) each worker, and the commands it starts,
    gets its share of the CPUs as OpenMP/BLAS threads (torch, numpy): two workers with two spinning
    OpenMP threads each on a 2-core machine made a training step ~10× slower in CPU time. Must run
    before torch is imported; a value set by the user wins."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, cpus // workers)))


_threads_per_worker()


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
