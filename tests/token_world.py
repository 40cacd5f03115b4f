"""A world for token-level fusion: the class of a sample lives in one audio frame only."""

import numpy as np

from mmstudio.core.tables.table import EmbeddingTable
from mmstudio.core.tables.tokens import TokenFeatures

N, DIM, CLASSES, PATCHES = 480, 8, 3, 4
FRAMES = (3, 8)   # each clip has 3 to 8 frames


def _unit(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def token_world(n=N, seed=0) -> tuple[EmbeddingTable, np.ndarray]:
    """Image and audio rows whose embeddings are noise; one frame of each clip, at a random place,
    is its class's prototype and the other frames are noise, so only the frames tell the class.
    Returns the table and where each sample's telling frame is."""
    rng = np.random.default_rng(seed)
    protos = _unit(rng.standard_normal((CLASSES, DIM)))
    y = rng.integers(0, CLASSES, n)
    ids = [f"s{i:04d}" for i in range(n)]
    tokens, where = [], np.zeros(n, np.int64)
    for i in range(n):
        tokens.append(TokenFeatures("image", _unit(rng.standard_normal((PATCHES, DIM))), grid=(2, 2)))
    for i in range(n):
        frames = _unit(rng.standard_normal((rng.integers(*FRAMES, endpoint=True), DIM)))
        where[i] = rng.integers(0, len(frames))
        frames[where[i]] = protos[y[i]]
        tokens.append(TokenFeatures("audio", frames, times=0.1 * np.arange(len(frames)) + 0.05))
    table = EmbeddingTable(ids + ids, ["image"] * n + ["audio"] * n, [None] * 2 * n,
                           [str(c) for c in y] * 2, _unit(rng.standard_normal((2 * n, DIM))), model="synthetic",
                           tokens=tokens)
    return table, where
