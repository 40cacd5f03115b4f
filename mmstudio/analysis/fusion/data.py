"""The fusion lab's data: one row per sample, one vector per modality, and a seeded split.

:func:`fusion_data` turns an :class:`~mmstudio.core.tables.table.EmbeddingTable` and a label column
into a :class:`FusionData`: ``vectors`` (samples × modalities × dim, float32; zeros where a
sample lacks a modality), ``present`` (samples × modalities, bool) and ``y`` (class indices);
``tokens``: the samples' token features, padded, when the table carries them
(:mod:`mmstudio.analysis.fusion.tokens`), else None and ``token_note`` says why.
Rows are paired by ``sample_id`` with the label rule of :mod:`mmstudio.analysis.common.pairing`
(the first row of a modality counts when a sample has several: its first caption, which
``caption_note`` then says); samples without a label are left out.
:func:`split_samples` makes a stratified, seeded train / validation / test split; above a size
:func:`sample_train` trains on a stated stratified sample of its training part.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from mmstudio.analysis.common.pairing import class_order, label_values, sample_labels, sample_rows
from mmstudio.analysis.fusion.tokens import TokenData, token_data


@dataclass
class FusionData:
    modalities: tuple[str, ...]
    classes: tuple[str, ...]
    sample_ids: np.ndarray   # (n,) object
    y: np.ndarray            # (n,) int64 class indices
    vectors: np.ndarray      # (n, M, D) float32, zeros where absent
    present: np.ndarray      # (n, M) bool
    tokens: TokenData | None = None   # per-sample token blocks, when the table has token features
    token_note: str = "the data carries no token features"   # why tokens is None
    caption_note: str = ""   # when samples have several captions: that each sample's first one is used

    def __len__(self) -> int:
        return len(self.y)

    @property
    def dim(self) -> int:
        return self.vectors.shape[2]

    def take(self, idx) -> "FusionData":
        return FusionData(self.modalities, self.classes, self.sample_ids[idx], self.y[idx], self.vectors[idx],
                          self.present[idx], None if self.tokens is None else self.tokens.take(idx), self.token_note,
                          self.caption_note)


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    train_of: int | None = None   # the training samples ``train`` was sampled from (None: it is all of them)
    seed: int | None = None       # the seed of that sample

    def to_dict(self) -> dict:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test),
                "train_of": self.train_of or len(self.train), "scope": self.sentence()}

    def sentence(self) -> str:
        """What the heads were trained and scored on, e.g. "trained on a random 50,000 of 350,000 training
        samples (stratified, seed 0); scored on all 150,000 test samples, in batches"."""
        scored = f"scored on all {len(self.test):,} test samples"
        if self.train_of is None or self.train_of <= len(self.train):
            return f"trained on all {len(self.train):,} training samples; {scored}"
        return (f"trained on a random {len(self.train):,} of {self.train_of:,} training samples (stratified, "
                f"seed {self.seed}); {scored}, in batches")


def fusion_data(table, label: str, modalities=None) -> FusionData:
    """Per-sample vectors of each modality (paired by sample id) and the class of each sample."""
    mods = tuple(table.modalities if modalities is None else modalities)
    unknown = [m for m in mods if m not in table.modalities]
    if unknown:
        raise ValueError(f"the table has no {', '.join(unknown)} rows (it has {', '.join(table.modalities)})")
    if not mods:
        raise ValueError("the table has no modalities")
    label_values(table, label)  # an unknown column is refused first
    rows = sample_rows(table, mods)
    labels = sample_labels(table, label, rows)
    keep = [sid for sid in rows if sid in labels]
    if not keep:
        raise ValueError(f"no sample has a value in column {label!r}")
    classes = class_order(labels[sid] for sid in keep)
    if len(classes) < 2:
        raise ValueError(f"column {label!r} has a single class ({classes[0]}); fusion needs two or more")
    class_index = {c: k for k, c in enumerate(classes)}
    vectors = np.zeros((len(keep), len(mods), table.dim), np.float32)
    present = np.zeros((len(keep), len(mods)), bool)
    for out, sid in enumerate(keep):
        for j, mod in enumerate(mods):
            row = rows[sid].get(mod)
            if row is not None:
                vectors[out, j] = table.vectors[row]
                present[out, j] = True
    ids = np.array(keep, dtype=object)
    y = np.array([class_index[labels[sid]] for sid in keep], dtype=np.int64)
    tokens, note = token_data(table, rows, keep, mods)
    return FusionData(mods, classes, ids, y, vectors, present, tokens, note, _caption_note(table, keep, mods))


def _caption_note(table, keep, mods) -> str:
    """Said when some kept sample has several text rows (captions): only the first is fused."""
    if "text" not in mods:
        return ""
    texts = table.sample_id[table.rows("text")].tolist()
    kept = set(keep)
    counts = Counter(sid for sid in texts if sid in kept)
    most = max(counts.values(), default=0)
    return f"text: each sample's first caption (of up to {most})" if most > 1 else ""


def split_samples(y: np.ndarray, seed: int = 0, test: float = 0.3, val: float = 0.15) -> Split:
    """A stratified split: each class is shuffled (seeded) and cut into test, validation and train
    parts in the given proportions (at least one training sample per class)."""
    if not (0 < test < 1 and 0 <= val < 1 and test + val < 1):
        raise ValueError("test and val fractions must be in (0, 1) and sum to less than 1")
    rng = np.random.default_rng(seed)
    parts = {"train": [], "val": [], "test": []}
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        n_test = int(round(test * len(idx)))
        n_val = int(round(val * len(idx)))
        n_test = min(n_test, max(len(idx) - 1, 0))
        n_val = min(n_val, max(len(idx) - 1 - n_test, 0))
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test:n_test + n_val])
        parts["train"].append(idx[n_test + n_val:])
    out = {name: np.sort(np.concatenate(p)).astype(np.int64) for name, p in parts.items()}
    if len(out["test"]) == 0:
        raise ValueError(f"too few samples ({len(y)}) for a held-out split")
    return Split(out["train"], out["val"], out["test"])


def sample_train(split: Split, y: np.ndarray, limit: int | None, seed: int = 0) -> Split:
    """``split`` with its training part cut to a stratified random sample of ``limit`` samples (each class
    in its share, at least one each; seeded) when it holds more; validation and test stay whole."""
    train = split.train
    if not limit or len(train) <= limit:
        return split
    rng = np.random.default_rng([seed, 5])
    classes, counts = np.unique(y[train], return_counts=True)
    share = np.maximum(1, np.floor(limit * counts / len(train)).astype(np.int64))
    share[np.argsort(-counts)[:max(0, limit - int(share.sum()))]] += 1   # the rest to the largest classes
    picked = [rng.permutation(train[y[train] == k])[:n] for k, n in zip(classes, share)]
    return Split(np.sort(np.concatenate(picked)), split.val, split.test, len(train), seed)
