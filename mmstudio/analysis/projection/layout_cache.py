"""Layouts on disk, keyed by (embedding digest, parameters): ``cache_dir()/"layouts"/KEY.npz``.

Writes are atomic (a temporary file renamed into place); a file that cannot be read back,
or holds the wrong shape, counts as missing and is recomputed (and overwritten).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from mmstudio.core.paths import cache_dir

LAYOUT_VERSION = 1  # bump when a change in mmstudio changes the layouts it computes


BLOCK_ROWS = 65_536


def layouts_dir() -> Path:
    return cache_dir() / "layouts"


def vectors_digest(vectors, order=None) -> str:
    """A digest of the vectors' values and shape (blake2b, ~1 GB/s); with ``order``, of the rows in that
    order (taken a block at a time: no copy of the whole array)."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    h = hashlib.blake2b(digest_size=16)
    h.update(repr(x.shape).encode())
    if order is None:
        h.update(memoryview(x).cast("B"))
    else:
        for start in range(0, len(order), BLOCK_ROWS):
            h.update(memoryview(np.ascontiguousarray(x[order[start:start + BLOCK_ROWS]])).cast("B"))
    return h.hexdigest()


def canonical_order(vectors) -> np.ndarray:
    """The rows in an order that does not depend on the order they came in (by a seeded random direction, in
    float64; equal rows keep theirs): the same rows opened again, their items embedded in another order (some
    found in the embedding cache first), find their layout. A layout is stored in this order."""
    x = np.asarray(vectors)
    direction = np.random.default_rng(0).standard_normal(x.shape[1] if x.ndim == 2 else 0)
    keys = np.empty(len(x), np.float64)
    for start in range(0, len(x), BLOCK_ROWS):
        keys[start:start + BLOCK_ROWS] = x[start:start + BLOCK_ROWS].astype(np.float64) @ direction
    return np.argsort(keys, kind="stable")


def layout_key(digest: str, params: dict) -> str:
    text = json.dumps({"v": LAYOUT_VERSION, "digest": digest, "params": params}, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def load_layout(key: str, n: int) -> np.ndarray | None:
    """The cached n × 2 layout for ``key``, or None when missing or unreadable."""
    path = layouts_dir() / f"{key}.npz"
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            xy = np.asarray(data["xy"], dtype=np.float32)
    except Exception:  # truncated, corrupted or foreign file: recompute
        return None
    if xy.shape != (n, 2):
        return None
    return xy


def save_layout(key: str, xy: np.ndarray, meta: dict | None = None) -> Path | None:
    """Write the layout atomically; returns the path, or None when the cache cannot be written."""
    from mmstudio.core.atomic import atomic_write

    folder = layouts_dir()

    def write(tmp):
        with open(tmp, "wb") as f:  # a file object: np.savez would add ".npz" to a name
            np.savez(f, xy=np.asarray(xy, dtype=np.float32), meta=json.dumps(meta or {}, default=str))

    try:
        folder.mkdir(parents=True, exist_ok=True)
        return atomic_write(folder / f"{key}.npz", write)
    except OSError:
        return None
