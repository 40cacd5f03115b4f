"""`mmstudio embed` when the cache's disk is full: a warning, the output written, the cache kept.

The cache folder is a small tmpfs mounted in a user namespace (``unshare -rm``), filled to the last
byte between two runs, as a real full disk is; the test is skipped where user namespaces are not
allowed (tests/core/test_cache.py covers the cache itself under RLIMIT_FSIZE everywhere).
"""

import json
import subprocess
import sys
import textwrap

import pytest

DRIVER = textwrap.dedent("""
    import json, os, sqlite3, subprocess, sys
    cache, work = sys.argv[1], sys.argv[2]
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "none", cache], check=True)
    env = dict(os.environ, MMSTUDIO_CACHE_DIR=cache)

    def embed(*args):
        done = subprocess.run([sys.executable, "-m", "mmstudio", "embed", *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=600)
        return {"rc": done.returncode, "stderr": done.stderr}

    first = embed("a", "--out", "first.parquet")
    with open(os.path.join(cache, "filler"), "wb", buffering=0) as fh:   # the disk is full now
        try:
            while True:
                fh.write(b"x" * 4096)
        except OSError:
            pass
    second = embed("a", "b", "--out", "second.parquet")
    os.remove(os.path.join(cache, "filler"))
    db = sqlite3.connect(os.path.join(cache, "embeddings.sqlite3"))
    count = db.execute("SELECT count(*) FROM vectors").fetchone()[0]
    print(json.dumps({"first": first, "second": second, "count": count, "files": sorted(os.listdir(cache))}))
""")


def _unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.skipif(not _unshare_works(), reason="needs unshare -rm (user namespaces) to mount a small tmpfs")
def test_a_full_cache_disk_still_gives_the_table_and_keeps_the_cache(tmp_path):
    from mmstudio.core.tables.table import EmbeddingTable

    for folder, count in (("a", 3), ("b", 30)):
        (tmp_path / folder).mkdir()
        for i in range(count):
            (tmp_path / folder / f"{folder}{i}.txt").write_text(f"caption {folder} number {i}")
    (tmp_path / "cache").mkdir()
    done = subprocess.run(["unshare", "-rm", sys.executable, "-c", DRIVER, str(tmp_path / "cache"), str(tmp_path)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["first"]["rc"] == 0 and "embedding cache" not in report["first"]["stderr"]
    second = report["second"]
    assert second["rc"] == 0 and "Traceback" not in second["stderr"], second["stderr"]
    assert second["stderr"].count("embedding cache") == 1 and "carrying on without" in second["stderr"]
    assert "the disk is full (" in second["stderr"]
    assert len(EmbeddingTable.read(tmp_path / "second.parquet")) == 33
    assert report["count"] == 3                                 # what was cached before is still there
    assert not [name for name in report["files"] if ".corrupt-" in name]
