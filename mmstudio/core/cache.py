"""The embedding cache: vectors keyed by content hash + model identity, in one SQLite file.

Reopening an encoded set asks the cache, not the model. Every entry carries a checksum: an
entry that fails it (a torn write, a flipped bit) is dropped and recomputed, never returned.
A cache file that SQLite cannot open at all is moved aside and started afresh. File
digests are remembered by (path, size, mtime, inode), the way git's index does, so an
unchanged file is not read again to be recognised.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
import zlib
from pathlib import Path

import numpy as np

from mmstudio.core.paths import cache_dir

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL, key TEXT NOT NULL, dim INTEGER NOT NULL, vec BLOB NOT NULL, crc INTEGER NOT NULL,
    PRIMARY KEY (model, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS digests (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ino INTEGER NOT NULL,
    digest TEXT NOT NULL);
"""
CHUNK = 1 << 20


def digest_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def digest_file(path) -> str:
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


class EmbeddingCache:
    """Thread-safe; one connection guarded by a lock (the work it does is tiny)."""

    FILENAME = "embeddings.sqlite3"

    def __init__(self, folder=None):
        self.folder = Path(folder) if folder is not None else cache_dir()
        self.path = self.folder / self.FILENAME
        self._lock = threading.Lock()
        self._db = self._open()

    # ------------------------------------------------------------------ set-up
    def _open(self) -> sqlite3.Connection:
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            return self._start_afresh(exc)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            db.execute("SELECT count(*) FROM vectors LIMIT 1").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _start_afresh(self, exc: Exception) -> sqlite3.Connection:
        aside = self.path.with_name(f"{self.FILENAME}.corrupt-{int(time.time())}")
        log.warning("embedding cache %s is unreadable (%s); moved to %s and started afresh", self.path, exc, aside)
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                os.replace(src, Path(str(aside) + suffix))
        return self._connect()

    def _run(self, fn):
        """Run ``fn(db)`` under the lock; a corrupt database is replaced and the call retried once."""
        with self._lock:
            try:
                return fn(self._db)
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                    raise
                self._db.close()
                self._db = self._start_afresh(exc)
                return fn(self._db)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ vectors
    def get_many(self, model: str, keys: list[str]) -> dict[str, np.ndarray]:
        """The cached vectors for ``keys`` (missing and corrupt entries are simply absent)."""
        found: dict[str, np.ndarray] = {}
        bad: list[str] = []

        def query(db):
            found.clear()
            bad.clear()
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(f"SELECT key, dim, vec, crc FROM vectors WHERE model=? AND key IN ({marks})",
                                  [model, *chunk])
                for key, dim, blob, crc in rows:
                    if len(blob) != 4 * dim or zlib.crc32(blob) != crc:
                        bad.append(key)
                        continue
                    found[key] = np.frombuffer(blob, dtype=np.float32, count=dim)
            if bad:
                log.warning("dropping %d corrupt cache entries of %s", len(bad), model)
                db.executemany("DELETE FROM vectors WHERE model=? AND key=?", [(model, k) for k in bad])

        self._run(query)
        return found

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        rows = []
        for key, vector in items.items():
            blob = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
            rows.append((model, key, len(blob) // 4, blob, zlib.crc32(blob)))

        def insert(db):
            with db:  # one transaction: all or nothing
                db.execute("BEGIN")
                db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?)", rows)

        self._run(insert)

    def count(self, model: str | None = None) -> int:
        if model is None:
            return self._run(lambda db: db.execute("SELECT count(*) FROM vectors").fetchone()[0])
        return self._run(lambda db: db.execute("SELECT count(*) FROM vectors WHERE model=?", (model,)).fetchone()[0])

    def clear(self) -> None:
        self._run(lambda db: db.executescript("DELETE FROM vectors; DELETE FROM digests;"))

    # ------------------------------------------------------------------ file digests
    def file_digest(self, path) -> str:
        """Content digest of one file (see :meth:`file_digests`); raises OSError when unreadable."""
        result = self.file_digests([path])[os.path.abspath(path)]
        if isinstance(result, OSError):
            raise result
        return result

    def file_digests(self, paths, map_fn=map) -> dict[str, "str | OSError"]:
        """Content digests of many files, keyed by absolute path (an OSError for an unreadable one).

        A digest is remembered while the file's size, mtime and inode stay the same, so an
        unchanged file is not read again: one ``stat`` and one batched lookup per file.
        ``map_fn`` (e.g. a thread pool's ``map``) reads the files that do need hashing.
        """
        stamps: dict[str, tuple] = {}
        results: dict[str, str | OSError] = {}
        for path in dict.fromkeys(os.path.abspath(p) for p in paths):
            try:
                st = os.stat(path)
            except OSError as exc:
                results[path] = exc
                continue
            stamps[path] = (st.st_size, st.st_mtime_ns, st.st_ino)
        known = self._known_digests(list(stamps))
        todo = [p for p, stamp in stamps.items() if known.get(p, (None,))[:3] != stamp]
        stale = set(todo)
        results.update({p: known[p][3] for p in stamps if p not in stale})

        def hash_one(path):
            try:
                return path, digest_file(path)
            except OSError as exc:
                return path, exc

        fresh = []
        for path, digest in map_fn(hash_one, todo):
            results[path] = digest
            if not isinstance(digest, OSError):
                fresh.append((path, *stamps[path], digest))
        if fresh:
            def insert(db):
                with db:
                    db.execute("BEGIN")
                    db.executemany("INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?, ?)", fresh)

            self._run(insert)
        return results

    def _known_digests(self, paths: list[str]) -> dict[str, tuple]:
        found = {}

        def query(db):
            found.clear()
            for start in range(0, len(paths), 500):
                chunk = paths[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for path, *row in db.execute(
                        f"SELECT path, size, mtime_ns, ino, digest FROM digests WHERE path IN ({marks})", chunk):
                    found[path] = tuple(row)

        self._run(query)
        return found
