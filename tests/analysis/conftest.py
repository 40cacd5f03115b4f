"""Fixtures the analysis tests share: the demo world the principles learn from, built once per session."""

import pytest

DEMO_SCENES, DEMO_SEED = 400, 7


@pytest.fixture(scope="session")
def demo_world_folder(tmp_path_factory):
    """A folder holding the demo world's table of 400 scenes (seed 7), rendered and embedded once per test
    session in a cache of its own (never the user's); ``demo_table(n=400, seed=7, folder=it)`` reads it back."""
    from mmstudio.demo.table import demo_table

    folder = tmp_path_factory.mktemp("principles")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MMSTUDIO_CACHE_DIR", str(folder / "cache"))
        demo_table(n=DEMO_SCENES, seed=DEMO_SEED, folder=folder)
    return folder


@pytest.fixture(scope="session")
def demo_world_file(demo_world_folder):
    """The table file of :func:`demo_world_folder` (what ``--table`` takes)."""
    return demo_world_folder / f"demo-{DEMO_SCENES}-{DEMO_SEED}.parquet"


@pytest.fixture(scope="session")
def demo_world(demo_world_folder):
    """The demo world's table (read back from :func:`demo_world_folder`)."""
    from mmstudio.demo.table import demo_table

    return demo_table(n=DEMO_SCENES, seed=DEMO_SEED, folder=demo_world_folder)
