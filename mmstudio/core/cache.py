"""The embedding cache: vectors keyed by content digest + model identity, in one SQLite file.

Reopening an encoded set asks the cache, not the model. Every entry carries a checksum: an
entry that fails it (a torn write, a flipped bit) is dropped and recomputed, never returned.
A cache file that fails SQLite's own checks (not a database, a malformed image, foreign
tables) is moved aside and started afresh. A cache that cannot be used for any other reason
— a full disk, a read-only or missing folder, an I/O error, another process holding a lock —
is left as it is: a warning is logged once and the work goes on without the cache (or
without storing into it, when it can still be read).

Keys are content digests (blake2b of the file's bytes). To recognise an unchanged file
without reading it again, its digest is remembered with its (size, mtime, ctime, inode)
stamp, as git's index does; ctime changes on every write and cannot be set back by tools
that restore mtimes (``rsync -t``, ``tar``, ``touch -d``), so a same-size edit whose mtime
was restored is re-read. A digest is not remembered while the file's times are within
:data:`RACY_NS` of the moment it was read (a write in the same clock tick would not change
the stamp); it is read again next time instead.
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

from mmstudio.core.names import is_utf8, path_bytes, path_text, shown
from mmstudio.core.paths import cache_dir

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL, key TEXT NOT NULL, dim INTEGER NOT NULL, vec BLOB NOT NULL, crc INTEGER NOT NULL,
    PRIMARY KEY (model, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS file_digests (
    path PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,
    ino INTEGER NOT NULL, digest TEXT NOT NULL);
DROP TABLE IF EXISTS digests;
"""
COLUMNS = {"vectors": ["model", "key", "dim", "vec", "crc"],
           "file_digests": ["path", "size", "mtime_ns", "ctime_ns", "ino", "digest"]}
CHUNK = 1 << 20
RACY_NS = 2_000_000_000  # coarser than any file system's timestamps (FAT: 2 s)
CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB: the file itself is damaged


class CacheDamaged(sqlite3.DatabaseError):
    """The cache file is a database, but not one this version wrote (its own checks failed)."""


def digest_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def digest_file(path) -> str:
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def is_damaged(exc: BaseException) -> bool:
    """Whether a database error means the cache file is damaged (rather than unwritable, full or busy)."""
    return isinstance(exc, CacheDamaged) or getattr(exc, "sqlite_errorcode", 0) & 0xFF in CORRUPT_CODES


def _db_text(text: str):
    """A key SQLite can store: the text, or its bytes when it is not valid UTF-8 (a file name)."""
    return text if is_utf8(text) else path_bytes(text)


def _from_db(value) -> str:
    return path_text(value) if isinstance(value, bytes) else value


class EmbeddingCache:
    """Thread-safe; one connection guarded by a lock (the work it does is tiny).

    ``problem`` says why the cache is off (or read-only), once it is; ``available`` whether it
    is read at all."""

    FILENAME = "embeddings.sqlite3"

    def __init__(self, folder=None):
        self.folder = Path(folder) if folder is not None else cache_dir()
        self.path = self.folder / self.FILENAME
        self._lock = threading.Lock()
        self.problem: str | None = None
        self.writable = True
        self._db = self._open()

    @property
    def available(self) -> bool:
        return self._db is not None

    # ------------------------------------------------------------------ set-up
    def _open(self) -> sqlite3.Connection | None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            return self._connect()
        except (OSError, sqlite3.DatabaseError) as exc:
            if not is_damaged(exc):
                return self._give_up(exc)
            try:
                return self._start_afresh(exc)
            except (OSError, sqlite3.DatabaseError) as again:
                return self._give_up(again)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._check_schema(db)
            db.execute("SELECT count(*) FROM vectors LIMIT 1").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _check_schema(db) -> None:
        for table, names in COLUMNS.items():
            have = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
            if have and have != names:
                raise CacheDamaged(f"table {table} has columns {have}, not {names}")
        if any(not [r for r in db.execute(f"PRAGMA table_info({t})")] for t in COLUMNS) \
                or db.execute("SELECT 1 FROM sqlite_master WHERE name='digests'").fetchone():
            db.executescript(SCHEMA)  # a new cache, or one from before file_digests: a write

    def _start_afresh(self, exc: Exception) -> sqlite3.Connection:
        aside = self.path.with_name(f"{self.FILENAME}.corrupt-{int(time.time())}")
        log.warning("embedding cache %s is damaged (%s); moved to %s and started afresh", self.path, exc, aside)
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                os.replace(src, Path(str(aside) + suffix))
        return self._connect()

    def _give_up(self, exc: BaseException) -> None:
        """Carry on without the cache (a full disk, a read-only folder…), saying so once."""
        if self.problem is None:
            self.problem = _reason(exc, self.folder)
            log.warning("embedding cache %s cannot be used (%s); carrying on without it", shown(str(self.path)),
                        self.problem)
        self.writable = False
        return None

    def _run(self, fn, default=None, *, write: bool = False):
        """Run ``fn(db)`` under the lock. A damaged database is replaced and the call retried once;
        any other failure turns the cache off (a failed write only turns writing off)."""
        with self._lock:
            if self._db is None or (write and not self.writable):
                return default
            try:
                return fn(self._db)
            except sqlite3.DatabaseError as exc:
                if not is_damaged(exc):
                    if write and _write_problem(exc):
                        self._stop_writing(exc)
                    else:
                        self._close_quietly()
                        self._db = self._give_up(exc)
                    return default
                self._close_quietly()
                try:
                    self._db = self._start_afresh(exc)
                    return fn(self._db)
                except (OSError, sqlite3.DatabaseError) as again:
                    self._close_quietly()
                    self._db = self._give_up(again)
                    return default

    def _stop_writing(self, exc: BaseException) -> None:
        if self.problem is None:
            self.problem = _reason(exc, self.folder)
            log.warning("embedding cache %s cannot be written (%s); carrying on without storing new embeddings",
                        shown(str(self.path)), self.problem)
        self.writable = False

    def _close_quietly(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
        self._db = None

    def close(self) -> None:
        with self._lock:
            self._close_quietly()

    # ------------------------------------------------------------------ vectors
    def get_many(self, model: str, keys: list[str]) -> dict[str, np.ndarray]:
        """The cached vectors for ``keys`` (missing and corrupt entries are simply absent)."""
        found: dict[str, np.ndarray] = {}
        bad: list[str] = []
        model_key = _db_text(model)

        def query(db):
            found.clear()
            bad.clear()
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(f"SELECT key, dim, vec, crc FROM vectors WHERE model=? AND key IN ({marks})",
                                  [model_key, *chunk])
                for key, dim, blob, crc in rows:
                    if not isinstance(blob, bytes) or len(blob) != 4 * dim or zlib.crc32(blob) != crc:
                        bad.append(key)
                        continue
                    found[key] = np.frombuffer(blob, dtype=np.float32, count=dim)

        self._run(query)
        if found and not np.isfinite(np.concatenate(list(found.values()))).all():  # never written so: damage
            for key in [k for k, v in found.items() if not np.isfinite(v).all()]:
                bad.append(key)
                del found[key]
        if bad:
            log.warning("dropping %d corrupt cache entries of %s", len(bad), shown(model))
            self._run(lambda db: db.executemany("DELETE FROM vectors WHERE model=? AND key=?",
                                                [(model_key, k) for k in bad]), write=True)
        return found

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        """Store vectors; non-finite ones are never stored (they are errors, not embeddings)."""
        rows = []
        model_key = _db_text(model)
        for key, vector in items.items():
            vector = np.ascontiguousarray(vector, dtype=np.float32)
            if not np.isfinite(vector).all():
                continue
            blob = vector.tobytes()
            rows.append((model_key, key, len(blob) // 4, blob, zlib.crc32(blob)))
        if not rows:
            return

        def insert(db):
            with db:  # one transaction: all or nothing
                db.execute("BEGIN")
                db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?)", rows)

        self._run(insert, write=True)

    def count(self, model: str | None = None) -> int:
        if model is None:
            return self._run(lambda db: db.execute("SELECT count(*) FROM vectors").fetchone()[0], 0)
        return self._run(lambda db: db.execute("SELECT count(*) FROM vectors WHERE model=?",
                                               (_db_text(model),)).fetchone()[0], 0)

    def clear(self) -> None:
        self._run(lambda db: db.executescript("DELETE FROM vectors; DELETE FROM file_digests;"), write=True)

    # ------------------------------------------------------------------ file digests
    def file_digest(self, path) -> str:
        """Content digest of one file (see :meth:`file_digests`); raises OSError when unreadable."""
        result = self.file_digests([path])[os.path.abspath(path)]
        if isinstance(result, OSError):
            raise result
        return result

    def content_digests(self, paths, map_fn=map) -> dict[str, "str | Exception"]:
        """Content digests of files and archive members alike, keyed by the path as given: the digest,
        or why it cannot be had (an OSError, or the member's MediaError)."""
        from mmstudio.core.archives.members import absolute_member, split_member

        members = {p: split_member(p) for p in dict.fromkeys(str(p) for p in paths) if "::" in p}
        members = {p: absolute_member(*parts) for p, parts in members.items() if parts is not None}
        files = [str(p) for p in paths if str(p) not in members]
        found = self.file_digests(files, map_fn=map_fn)
        if members:
            found.update(self.member_digests(list(members), map_fn=map_fn))
        return {str(p): found[members.get(str(p)) or os.path.abspath(p)] for p in paths}

    def file_digests(self, paths, map_fn=map) -> dict[str, "str | OSError"]:
        """Content digests of many files, keyed by absolute path (an OSError for an unreadable one).

        A digest is remembered with the file's (size, mtime, ctime, inode) stamp, so an unchanged
        file is not read again: one ``stat`` and one batched lookup per file. ``map_fn`` (e.g. a
        thread pool's ``map``) reads the files that do need hashing.
        """
        stamps: dict[str, tuple] = {}
        results: dict[str, str | OSError] = {}
        for path in dict.fromkeys(os.path.abspath(p) for p in paths):
            try:
                stamps[path] = (path, _stamp(os.stat(path)))
            except OSError as exc:
                results[path] = exc
        return self._remembered(stamps, digest_file, OSError, map_fn, results)

    def member_digests(self, paths, map_fn=map) -> dict[str, "str | Exception"]:
        """Content digests of archive members (``shard.tar::key.jpg``, ``train.parquet::row 17 image``:
        :mod:`mmstudio.core.archives.members`), keyed by :func:`~mmstudio.core.archives.members.absolute_member`
        (a path given that names no member, by itself): the digest of the member's bytes, which is the digest of a file holding the same bytes. Remembered with the
        archive's stamp; an unreadable member gets the :class:`~mmstudio.core.errors.MediaError`
        saying why (an OSError when the archive itself is gone)."""
        from mmstudio.core.archives.members import absolute_member, member_bytes, split_member
        from mmstudio.core.errors import MediaError

        stamps: dict[str, tuple] = {}
        results: dict[str, str | Exception] = {}
        archives: dict[str, tuple | OSError] = {}
        for given in dict.fromkeys(paths):
            parts = split_member(given)
            if parts is None:
                results[str(given)] = FileNotFoundError(2, "archive not found", str(given))
                continue
            path = absolute_member(*parts)
            if parts[0] not in archives:
                try:
                    archives[parts[0]] = _stamp(os.stat(parts[0]))
                except OSError as exc:
                    archives[parts[0]] = exc
            known = archives[parts[0]]
            if isinstance(known, OSError):
                results[path] = known
            else:
                stamps[path] = (parts[0], known)

        def digest_member(path):
            return digest_bytes(member_bytes(path))

        return self._remembered(stamps, digest_member, (OSError, MediaError), map_fn, results)

    def _remembered(self, stamps: dict, digest_fn, failures, map_fn, results: dict) -> dict:
        """Digests of ``stamps``' keys (each → (the file whose stamp vouches for it, that stamp)): the
        remembered one while the stamp holds, else ``digest_fn(key)``, remembered once its file settled
        (see :data:`RACY_NS`). ``failures``: the exceptions that are a key's result rather than a bug."""
        known = self._known_digests(list(stamps))
        todo = [p for p, (_, stamp) in stamps.items() if known.get(p, (None,))[:4] != stamp]
        stale = set(todo)
        results.update({p: known[p][4] for p in stamps if p not in stale})

        def hash_one(path):
            started = time.time_ns()
            source, stamp = stamps[path]
            try:
                digest = digest_fn(path)
                after = _stamp(os.stat(source))
            except failures as exc:
                return path, exc, False
            settled = after == stamp and started - max(after[1], after[2]) > RACY_NS
            return path, digest, settled

        fresh = []
        for path, digest, settled in map_fn(hash_one, todo):
            results[path] = digest
            if settled:
                fresh.append((_db_text(path), *stamps[path][1], digest))
        if fresh:
            def insert(db):
                with db:
                    db.execute("BEGIN")
                    db.executemany("INSERT OR REPLACE INTO file_digests VALUES (?, ?, ?, ?, ?, ?)", fresh)

            self._run(insert, write=True)
        return results

    def _known_digests(self, paths: list[str]) -> dict[str, tuple]:
        found = {}
        keys = [_db_text(p) for p in paths]

        def query(db):
            found.clear()
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for path, *row in db.execute(
                        f"SELECT path, size, mtime_ns, ctime_ns, ino, digest FROM file_digests WHERE path IN ({marks})",
                        chunk):
                    found[_from_db(path)] = tuple(row)

        self._run(query)
        return found


def _stamp(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _write_problem(exc: BaseException) -> bool:
    """A failure to write that leaves reading possible: read-only, full, or an I/O error on write."""
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF in (8, 10, 13)  # READONLY, IOERR, FULL


def _reason(exc: BaseException, folder: Path | None = None) -> str:
    """Why, in a few words; SQLite's "disk I/O error" gets the free space beside it when the disk is full."""
    reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else (str(exc) or type(exc).__name__)
    if folder is not None and getattr(exc, "sqlite_errorcode", 0) & 0xFF in (10, 13):
        import shutil

        try:
            free = shutil.disk_usage(folder).free
        except OSError:
            return reason
        if free < 1 << 20:
            reason += f"; the disk is full ({free // 1024} KB free)"
    return reason
