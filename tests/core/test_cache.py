"""The embedding cache: hits, checksums, torn entries, a corrupt database file, file digests."""

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest

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


# --------------------------------------------------------------------------- a cache that cannot be used
def test_an_unusable_cache_folder_is_skipped_with_one_warning(tmp_path, caplog):
    (tmp_path / "a-file").write_text("not a folder")
    cache = EmbeddingCache(tmp_path / "a-file" / "cache")       # like MMSTUDIO_CACHE_DIR=/dev/null/x
    assert not cache.available and "Not a directory" in cache.problem
    cache.put_many("m", {"x": np.ones(3, np.float32)})
    assert cache.get_many("m", ["x"]) == {} and cache.count() == 0
    (tmp_path / "f.bin").write_bytes(b"data")
    assert cache.file_digest(tmp_path / "f.bin")                # digests are still computed
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "carrying on without it" in warnings[0].getMessage()


FULL_DISK_CHILD = textwrap.dedent("""
    import json, resource, signal, sys
    import numpy as np
    from mmstudio.core.cache import EmbeddingCache

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)      # writes past the limit fail with EFBIG instead of killing us
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    cache = EmbeddingCache(sys.argv[1])
    rng = np.random.default_rng(1)
    cache.put_many("m", {f"new{i}": rng.standard_normal(512).astype(np.float32) for i in range(200)})
    old = cache.get_many("m", [f"old{i}" for i in range(20)])
    print(json.dumps({"available": cache.available, "writable": cache.writable, "problem": cache.problem,
                      "old": len(old)}))
""")


def test_a_full_disk_is_not_a_corrupt_cache(tmp_path):
    """ENOSPC/EFBIG while storing: the healthy cache is kept (not moved aside), read on, and the caller goes on."""
    rng = np.random.default_rng(0)
    old = {f"old{i}": rng.standard_normal(512).astype(np.float32) for i in range(20)}
    cache = EmbeddingCache(tmp_path)
    cache.put_many("m", old)
    cache._run(lambda db: db.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
    cache.close()
    size = max(p.stat().st_size for p in tmp_path.iterdir())
    done = subprocess.run([sys.executable, "-c", FULL_DISK_CHILD, str(tmp_path), str(size + 8192)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["available"] and not report["writable"] and report["old"] == 20
    assert "disk" in report["problem"] or "full" in report["problem"], report
    assert "cannot be written" in done.stderr and done.stderr.count("embedding cache") == 1
    assert not [p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    again = EmbeddingCache(tmp_path)                            # nothing was lost
    got = again.get_many("m", list(old))
    assert set(got) == set(old)
    for key, vector in old.items():
        np.testing.assert_array_equal(got[key], vector)


def _unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.skipif(not _unshare_works(), reason="needs unshare -rm (user namespaces) to mount a read-only tmpfs")
def test_a_read_only_cache_folder_is_skipped(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    script = (f"mount -t tmpfs -o size=64k,ro none {folder} && {sys.executable} -c "
              f"\"from mmstudio.core.cache import EmbeddingCache; import numpy as np; "
              f"c = EmbeddingCache('{folder}'); c.put_many('m', {{'x': np.ones(3, np.float32)}}); "
              f"print(c.available, c.get_many('m', ['x']))\"")
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "{}"]
    assert "cannot be used" in done.stderr and "Traceback" not in done.stderr


def test_a_damaged_file_is_still_moved_aside_but_a_locked_or_full_one_is_not(tmp_path):
    from mmstudio.core.cache import is_damaged

    garbage = tmp_path / "g.sqlite3"
    garbage.write_bytes(b"x" * 4096)
    with pytest.raises(sqlite3.DatabaseError) as damaged:
        sqlite3.connect(garbage).execute("PRAGMA journal_mode=WAL")
    assert is_damaged(damaged.value)
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = 13
    assert not is_damaged(full)
    (tmp_path / "c").mkdir()
    with sqlite3.connect(tmp_path / "c" / EmbeddingCache.FILENAME) as db:   # a foreign table of the same name
        db.execute("CREATE TABLE vectors (a, b)")
    cache = EmbeddingCache(tmp_path / "c")
    assert cache.available
    assert any(".corrupt-" in p.name for p in (tmp_path / "c").iterdir())


def test_non_finite_vectors_are_never_stored_or_returned(tmp_path):
    cache = EmbeddingCache(tmp_path)
    cache.put_many("m", {"nan": np.array([np.nan, 1, 0], np.float32), "ok": np.ones(3, np.float32)})
    assert cache.count("m") == 1
    with sqlite3.connect(cache.path) as db:                     # one written by an older version
        blob = np.array([np.inf, 0, 0], np.float32).tobytes()
        db.execute("INSERT INTO vectors VALUES ('m', 'inf', 3, ?, ?)", (blob, zlib.crc32(blob)))
    assert set(cache.get_many("m", ["nan", "ok", "inf"])) == {"ok"}


# --------------------------------------------------------------------------- what a remembered digest rests on
@pytest.fixture
def settled(monkeypatch):
    """Digests of files written a moment ago are remembered (the racy-write window is the tests' own business)."""
    from mmstudio.core import cache as module

    monkeypatch.setattr(module, "RACY_NS", -10**18)
    reads = []
    real = module.digest_file
    monkeypatch.setattr(module, "digest_file", lambda p: reads.append(p) or real(p))
    return reads


def test_an_unchanged_file_is_not_read_again(tmp_path, settled):
    cache = EmbeddingCache(tmp_path / "cache")
    f = tmp_path / "a.bin"
    f.write_bytes(b"aaaa")
    first = cache.file_digest(f)
    assert cache.file_digest(f) == first and len(settled) == 1


def test_a_same_size_edit_with_the_mtime_restored_is_read_again(tmp_path, settled):
    cache = EmbeddingCache(tmp_path / "cache")
    f = tmp_path / "a.bin"
    f.write_bytes(b"aaaa")
    before = os.stat(f)
    first = cache.file_digest(f)
    with open(f, "r+b") as fh:                                  # in place: same inode, same size
        fh.write(b"bbbb")
    os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns))    # as rsync -t or tar put the mtime back
    after = os.stat(f)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    assert cache.file_digest(f) != first
    assert cache.file_digest(f) == EmbeddingCache(tmp_path / "other").file_digest(f)


def test_a_digest_taken_right_after_a_write_is_not_remembered(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache")
    f = tmp_path / "fresh.bin"
    f.write_bytes(b"just written")
    cache.file_digest(f)
    with sqlite3.connect(cache.path) as db:
        assert db.execute("SELECT count(*) FROM file_digests").fetchone()[0] == 0


def test_file_names_that_are_not_utf8_are_remembered_exactly(tmp_path, settled):
    cache = EmbeddingCache(tmp_path / "cache")
    names = [os.fsdecode(b"caf\xe9.bin"), os.fsdecode(b"caf\xe8.bin"), "café.bin"]
    for i, name in enumerate(names):
        (tmp_path / name).write_bytes(bytes([i]) * 10)
    first = cache.file_digests([tmp_path / n for n in names])
    assert len(set(first.values())) == 3
    again = EmbeddingCache(tmp_path / "cache").file_digests([tmp_path / n for n in names])
    assert again == first and len(settled) == 3                 # found again by their exact names
