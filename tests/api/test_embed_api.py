"""`mmstudio.embed` and `EmbeddingTable.to_pandas`: the table `mmstudio embed` writes, as a notebook gets
it, and one clear exception for each wrong argument."""

import sys

import numpy as np
import pytest

import mmstudio
from mmstudio.__main__ import main
from mmstudio.core.tables.table import EmbeddingTable


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A demo world of 6 scenes (its manifest), with one picture broken."""
    from mmstudio.demo.make import make_world

    manifest = make_world(tmp_path_factory.mktemp("api") / "world", n=6, seed=4)
    (manifest.parent / "scene_00003.png").write_bytes(b"not a picture")
    return manifest


@pytest.fixture(scope="module")
def table(world):
    return mmstudio.embed(world, cache=False, progress=False)


def test_embed_gives_the_table_the_command_writes(world, table, tmp_path, capsys):
    assert main(["embed", str(world), "--no-cache", "--out", str(tmp_path / "cli.parquet")]) == 0
    cli = EmbeddingTable.read(tmp_path / "cli.parquet")
    assert len(table) == 17 and table.model == "builtin" and table.dim == 128
    for name in ("sample_id", "modality", "path", "label"):
        assert getattr(table, name).tolist() == getattr(cli, name).tolist(), name
    assert table.columns.keys() == cli.columns.keys()
    np.testing.assert_allclose(table.vectors, cli.vectors, atol=1e-6)
    # the broken picture is skipped, named with its reason, as the command lists it
    assert [(e.path, e.modality) for e in table.errors] == [(str(world.parent / "scene_00003.png"), "image")]
    assert "scene_00003.png" in capsys.readouterr().err


def test_a_dataset_object_embeds_as_its_paths_do(world, table):
    from mmstudio.core.sources.inputs import load_paths

    from_dataset = mmstudio.embed(load_paths([world]), progress=False)
    assert from_dataset.sample_id.tolist() == table.sample_id.tolist()
    np.testing.assert_allclose(from_dataset.vectors, table.vectors, atol=1e-6)


def test_to_pandas_holds_every_column_and_the_vectors(table):
    df = table.to_pandas()
    assert list(df.columns) == ["sample_id", "modality", "label", "path", *table.columns, "embedding"]
    assert len(df) == len(table) and df["modality"].tolist() == table.modality.tolist()
    assert df["path"].tolist() == table.path.tolist() and df["label"].tolist() == table.label.tolist()
    np.testing.assert_array_equal(np.stack(df["embedding"]), table.vectors)
    assert df["embedding"][0].dtype == np.float32
    for name, values in table.columns.items():
        got = df[name].to_numpy()
        if values.dtype.kind == "f":
            np.testing.assert_array_equal(got.astype(float), values)
        else:
            assert [None if v is None or v != v else v for v in got] == values.tolist(), name
    wide = table.to_pandas(vectors="columns")
    assert list(wide.columns[-table.dim:]) == [f"dim_{i}" for i in range(table.dim)]
    np.testing.assert_array_equal(wide[[f"dim_{i}" for i in range(table.dim)]].to_numpy(), table.vectors)
    assert "embedding" not in table.to_pandas(vectors="none").columns
    with pytest.raises(ValueError, match="vectors='rows': choose one of 'column', 'columns', 'none'"):
        table.to_pandas(vectors="rows")


def test_to_pandas_without_pandas_says_how_to_get_it(table, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)   # `import pandas` now fails as if it were not installed
    with pytest.raises(ImportError, match=r"needs pandas, which mmstudio does not install: pip install pandas"):
        table.to_pandas()


@pytest.mark.parametrize("args, kwargs, error, message", [
    (["{tmp}/nope.jpg"], {}, FileNotFoundError, "nope.jpg: no such file or folder"),
    ([["{world}", "{tmp}/gone"]], {}, FileNotFoundError, "gone: no such file or folder"),
    ([42], {}, TypeError, "data: expected a path, a list of paths or a mmstudio Dataset, not int"),
    ([[]], {}, ValueError, "data: no paths given"),
    (["{world}"], {"model": "{tmp}/no-model"}, ValueError, "model folder '.*no-model' does not exist"),
    (["{world}"], {"model": ""}, ValueError, "model='': give 'builtin', a Hugging Face hub id or a model folder"),
    (["{world}"], {"device": "gpu"}, ValueError, "device='gpu': choose one of 'auto', 'cpu', 'cuda', 'mps'"),
    (["{world}"], {"batch_size": 0}, ValueError, "batch_size=0: 0 is too small: give 1 or more"),
    (["{world}"], {"batch_size": 2.5}, ValueError, "batch_size=2.5: '2.5' is not an integer"),
    (["{world}"], {"captions": "every"}, ValueError, "captions='every': choose one of 'first', 'all'"),
    (["{broken}"], {}, ValueError, "nothing could be embedded: .*bad.png \\[image\\]: not an image file"),
])
def test_a_wrong_argument_is_one_clear_exception(args, kwargs, error, message, world, tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "bad.png").write_bytes(b"not a picture")

    def fill(value):
        if isinstance(value, list):
            return [fill(v) for v in value]
        names = {"tmp": tmp_path, "world": world, "broken": tmp_path / "broken"}
        return value.format(**names) if isinstance(value, str) else value

    with pytest.raises(error, match=message):
        mmstudio.embed(*fill(args), **{k: fill(v) for k, v in kwargs.items()}, progress=False)
