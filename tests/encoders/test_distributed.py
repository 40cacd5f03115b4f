"""Encoding on Ray (`mmstudio embed --engine ray`): the shards hold the local engine's table row for row.

One local Ray instance (2 CPUs) serves the module. Its workers get their own cache folder and a
fault marker: the first encoder actor to run dies on purpose, so every run here also proves that
a lost worker's batch is redone, not dropped.
"""

import os
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
import ray
from corpus import write_corpus

from mmstudio.__main__ import main
from mmstudio.core.cache import EmbeddingCache, digest_file
from mmstudio.core.tables.files import TableFormatError
from mmstudio.core.tables.table import EmbeddingTable
from mmstudio.demo.make import make_world
from mmstudio.encoders.distributed.engine import DistributedError, embed_with_ray
from mmstudio.encoders.embed import cache_key


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A local Ray instance; fails (never skips) when Ray cannot start here."""
    import builtins

    folder = tmp_path_factory.mktemp("ray")
    fault = folder / "actor-killed"
    printer = builtins.print  # Ray replaces print in the driver and leaves it replaced after shutdown:
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=300 * 2**20, logging_level="WARNING",
             runtime_env={"env_vars": {"MMSTUDIO_RAY_FAULT": str(fault),
                                       "MMSTUDIO_CACHE_DIR": str(folder / "worker-cache")}})
    yield fault
    ray.shutdown()
    builtins.print = printer  # numba (umap-learn's layout in later tests) cannot compile a call to Ray's


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """100 demo scenes (300 items, a manifest) with two files that crash their decoders, and the bad-input
    corpus with two file names that are not UTF-8."""
    root = tmp_path_factory.mktemp("inputs")
    world = root / "world"
    make_world(world, n=100, seed=7)
    png = world / "scene_00003.png"
    png.write_bytes(png.read_bytes()[: png.stat().st_size // 2])
    (world / "scene_00005.wav").write_bytes(b"RIFF" + np.random.default_rng(0).bytes(3000))
    write_corpus(root / "corpus")
    (root / "corpus" / "texts" / os.fsdecode(b"caf\xe9.txt")).write_text("a small cafe")   # a name that is not UTF-8
    (root / "corpus" / "images" / os.fsdecode(b"bad\xff.png")).write_bytes(b"not a picture")
    return [str(world), str(root / "corpus")]


@pytest.fixture(scope="module")
def local_file(inputs, tmp_path_factory):
    """The single-machine reference: `mmstudio embed` into one Parquet file."""
    out = tmp_path_factory.mktemp("local") / "local.parquet"
    assert main(["embed", *inputs, "--out", str(out), "--no-cache"]) == 0
    return out


@pytest.fixture(scope="module")
def local(local_file):
    return EmbeddingTable.read(local_file)


@pytest.fixture(scope="module")
def sharded(cluster, inputs, tmp_path_factory):
    """`mmstudio embed --engine ray` into a folder."""
    out = tmp_path_factory.mktemp("ray-out") / "shards"
    assert main(["embed", *inputs, "--engine", "ray", "--out", str(out)]) == 0
    return out


def by_key(table):
    return {(s, m): i for i, (s, m) in enumerate(zip(table.sample_id, table.modality))}


def errors_of(table):
    return sorted((e.sample_id or "", e.modality or "", e.path or "", e.reason) for e in table.errors)


def assert_same_rows(got, want, skip=()):
    g, w = by_key(got), by_key(want)
    assert len(got) == len(want) == len(g) == len(w) and set(g) == set(w)
    rows_g = np.array([g[k] for k in w if k not in skip])
    rows_w = np.array([w[k] for k in w if k not in skip])
    np.testing.assert_allclose(got.vectors[rows_g], want.vectors[rows_w], atol=1e-5)
    for name in ("path", "label"):
        assert getattr(got, name)[rows_g].tolist() == getattr(want, name)[rows_w].tolist(), name
    assert list(got.columns) == list(want.columns)
    for name, values in want.columns.items():
        if values.dtype.kind == "f":
            np.testing.assert_array_equal(got.columns[name][rows_g], values[rows_w])
        else:
            assert got.columns[name][rows_g].tolist() == values[rows_w].tolist(), name
    assert errors_of(got) == errors_of(want)
    assert (got.model, got.dim, got.info["identity"]) == (want.model, want.dim, want.info["identity"])


def test_ray_shards_equal_the_local_table_row_for_row_even_when_a_worker_dies(sharded, local, cluster, capsys):
    folder = sharded
    assert cluster.exists(), "the fault hook did not kill an encoder actor"
    got = EmbeddingTable.read(folder)
    assert len(got) >= 300 and len(got.errors) >= 10
    assert_same_rows(got, local)
    files = sorted(p.name for p in folder.iterdir())
    assert files[0] == "part-00000.parquet" and all(f.startswith("part-") for f in files)


def test_files_that_crash_their_decoder_are_error_rows_with_the_local_reason(sharded, local, local_file):
    folder = sharded
    rows = pq.read_table(folder).to_pylist()
    error_rows = [r for r in rows if r["error"] is not None]
    errors = {(r["sample_id"], r["modality"]): r for r in error_rows}
    local_reasons = {(e.sample_id, e.modality): e.reason for e in local.errors}
    for key, word in ((("scene_00003", "image"), "truncated"), (("scene_00005", "audio"), "")):
        row = errors[key]
        assert row["embedding"] is None and row["error"] == local_reasons[key] and word in row["error"]
    assert ("scene_00003", "text") not in errors  # the rest of that sample is embedded
    assert len(error_rows) == len(local.errors) and all(r["embedding"] is None for r in error_rows)
    schema, reference = pq.read_schema(folder / "part-00000.parquet"), pq.read_schema(local_file)
    assert schema.remove_metadata() == reference.remove_metadata()  # Step 1's schema, column for column
    assert schema.metadata.keys() == reference.metadata.keys() == {b"mmstudio"}


def test_a_cached_vector_is_used_and_new_ones_are_cached_per_worker(cluster, inputs, local, tmp_path):
    cache_folder = tmp_path / "cache"
    identity = local.info["identity"]
    text = f"{inputs[0]}/scene_00001.txt"
    sentinel = np.zeros(local.dim, np.float32)
    sentinel[0] = 1
    EmbeddingCache(cache_folder).put_many(identity, {cache_key("text", digest_file(text)): sentinel})
    result = embed_with_ray(inputs, tmp_path / "out", cache=cache_folder, rows_per_shard=64)
    assert len(result.files) >= 5 and result.rows == len(local)
    got = EmbeddingTable.read(tmp_path / "out")
    np.testing.assert_array_equal(got.vectors[by_key(got)[("scene_00001", "text")]], sentinel)
    assert_same_rows(got, local, skip={("scene_00001", "text")})
    assert EmbeddingCache(cache_folder).count(identity) == len(local)


def test_every_command_reads_the_shard_folder_as_one_table(sharded, local, tmp_path, capsys):
    folder = sharded
    assert main(["align", str(folder), "--json"]) == 0
    assert '"image"' in capsys.readouterr().out
    out = tmp_path / "xy.parquet"
    assert main(["project", str(folder), "--method", "pca", "--out", str(out)]) == 0
    assert len(EmbeddingTable.read(out)) == len(local)
    assert main(["export", str(folder), "--out", str(tmp_path / "rows.csv")]) == 0
    assert len((tmp_path / "rows.csv").read_text().splitlines()) > len(local)


def test_without_ray_the_engine_says_what_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)
    (tmp_path / "a.txt").write_text("a caption")
    assert main(["embed", str(tmp_path / "a.txt"), "--engine", "ray", "--out", str(tmp_path / "out")]) == 2
    assert "install mmstudio[distributed]" in capsys.readouterr().err


def test_shards_of_another_model_are_refused(tmp_path, local):
    folder = tmp_path / "mixed"
    local.take(np.arange(10)).write(folder / "part-00000.parquet")
    other = local.take(np.arange(10, 20))
    other.info = {**other.info, "identity": "someone-else"}
    other.write(folder / "part-00001.parquet")
    with pytest.raises(TableFormatError, match="different models"):
        EmbeddingTable.read(folder)
    with pytest.raises(TableFormatError, match="without Parquet shards"):
        EmbeddingTable.read(tmp_path)


def test_more_encoder_actors_than_the_cpus_allow_is_refused_not_a_hang(cluster, tmp_path):
    (tmp_path / "a.txt").write_text("a caption")
    with pytest.raises(DistributedError, match="allow at most 1"):
        embed_with_ray([tmp_path / "a.txt"], tmp_path / "out", workers=2, cache=False)
