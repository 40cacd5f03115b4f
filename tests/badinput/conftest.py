import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _shared_inputs(tmp_path_factory):
    harness.SESSION_DIR[:] = [tmp_path_factory.mktemp("badinput-shared")]
