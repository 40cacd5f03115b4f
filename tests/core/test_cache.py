"""The embedding cache: hits, checksums, torn entries, a corrupt database file, file digests."""

import sqlite3

import numpy as np

from mmstudio.core.cache import EmbeddingCache


def test_put_then_get_returns_the_same_vectors(tmp_path):
    cache = EmbeddingCache(tmp_path)
    vectors = {f"k{i}": np.random.default_rng(i).standard_normal(8).astype(np.float32) for i in range(3)}
    cache.put_many("model@1", vectors)
    got = cache.get_many("model@1", ["k0", "k1", "k2", "absent"])
    assert set(got) == {"k0", "k1", "k2"}
    for key, vec in vectors.items():
        np.testing.assert_array_equal(got[key], vec)
    assert cache.get_many("other-model", ["k0"]) == {}
    assert cache.count("model@1") == 3


def test_a_corrupt_entry_is_dropped_not_returned(tmp_path):
    cache = EmbeddingCache(tmp_path)
    cache.put_many("m", {"good": np.ones(4, np.float32), "bad": np.ones(4, np.float32)})
    cache.close()
    with sqlite3.connect(tmp_path / EmbeddingCache.FILENAME) as db:
        db.execute("UPDATE vectors SET vec = ? WHERE key = 'bad'", (np.zeros(4, np.float32).tobytes(),))
        db.execute("UPDATE vectors SET vec = ? WHERE key = 'good'", (np.ones(4, np.float32).tobytes(),))
    cache = EmbeddingCache(tmp_path)
    assert set(cache.get_many("m", ["good", "bad"])) == {"good"}
    assert cache.count("m") == 1  # the bad entry is gone, to be recomputed


def test_a_garbage_cache_file_is_moved_aside_and_started_afresh(tmp_path):
    (tmp_path / EmbeddingCache.FILENAME).write_bytes(b"this is not a database" * 100)
    cache = EmbeddingCache(tmp_path)
    assert cache.get_many("m", ["x"]) == {}
    cache.put_many("m", {"x": np.ones(3, np.float32)})
    assert set(cache.get_many("m", ["x"])) == {"x"}
    assert any(p.name.startswith(EmbeddingCache.FILENAME + ".corrupt-") for p in tmp_path.iterdir())


def test_file_digest_follows_content_not_name(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache")
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"same")
    b.write_bytes(b"same")
    assert cache.file_digest(a) == cache.file_digest(b)
    first = cache.file_digest(a)
    a.write_bytes(b"changed content")
    assert cache.file_digest(a) != first
