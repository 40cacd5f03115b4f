"""Small embedding tables for the selection panel's tests: samples with an image, a sound and a caption
whose vectors lie near a per-sample direction (so the partners are found, imperfectly)."""

import numpy as np

from mmstudio.core.tables.table import EmbeddingTable

LABELS = ("circle", "square", "star")


def paired_table(n: int = 40, seed: int = 0, dim: int = 16, modalities=("image", "audio", "text"), first: int = 0,
                 noise: float = 0.8):
    """``n`` samples ``s{first}``… with one row per modality (modality by modality), labels cycling
    through ``LABELS``, an inline ``caption`` for the text rows."""
    rng = np.random.default_rng(seed)
    ids = [f"s{first + i:03d}" for i in range(n)]
    base = rng.standard_normal((n, dim))
    blocks = []
    for modality in modalities:
        v = base + noise * rng.standard_normal((n, dim)) + rng.standard_normal(dim)  # a gap between modalities
        blocks.append(v / np.linalg.norm(v, axis=1, keepdims=True))
    k = len(modalities)
    labels = [LABELS[(first + i) % len(LABELS)] for i in range(n)]
    captions = [f"a {label} number {sid}" if m == "text" else None
                for m in modalities for sid, label in zip(ids, labels)]
    return EmbeddingTable(np.array(ids * k, object), np.repeat(np.array(modalities, object), n),
                          np.array([""] * (n * k), object), np.array(labels * k, object), np.vstack(blocks),
                          {"caption": np.array(captions, object)}, model="test")


def rows_of(table, samples, modalities=("image", "audio", "text")) -> np.ndarray:
    """The rows of these samples' items of these modalities."""
    keep = np.isin(table.sample_id, list(samples)) & np.isin(table.modality, list(modalities))
    return np.flatnonzero(keep)
