"""Rows of an embedding table paired by sample id, with one label rule, for every analysis that
needs a sample's modalities side by side (alignment, the fusion lab, the principles).

- A sample's row of a modality is its **first** row of that modality (in table order); of the text
  rows of a sample with several captions (:mod:`mmstudio.core.tables.captions`), the one with the
  lowest ``caption_index`` (its first caption). Paired measures use that row;
  :func:`caption_rows` gives every caption, for retrieval's any-caption protocol.
- A sample's label is the first non-blank value of the label column among its rows (table order);
  blank is None, NaN or an empty string. Numbers are written with ``:g`` (``3.0`` → ``"3"``).
- Classes are ordered numerically when they read as numbers, then alphabetically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmstudio.core.tables.captions import caption_indices


@dataclass
class Pairs:
    """Rows of modality ``a`` and ``b`` that belong to the same samples, in the same order."""

    a: str
    b: str
    sample_ids: np.ndarray
    rows_a: np.ndarray
    rows_b: np.ndarray

    def __len__(self) -> int:
        return len(self.sample_ids)


def sample_rows(table, modalities=None) -> dict:
    """sample id → {modality: its first row (the first caption for text)}, samples in the order they
    first appear."""
    wanted = set(table.modalities if modalities is None else modalities)
    caption = caption_indices(table).tolist()
    out: dict = {}
    for row, (sid, mod) in enumerate(zip(table.sample_id, table.modality)):
        if sid is None or mod not in wanted:
            continue
        rows = out.setdefault(sid, {})
        if mod not in rows or caption[row] < caption[rows[mod]]:
            rows[mod] = row
    return out


def pair_rows(table, a: str, b: str) -> Pairs:
    """Pair modality ``a``'s rows with ``b``'s by sample id (in the order of ``a``'s first rows)."""
    rows = sample_rows(table, (a, b))
    firsts = sorted((r[a], r[b]) for r in rows.values() if a in r and b in r)
    rows_a = np.array([p[0] for p in firsts], dtype=np.int64)
    rows_b = np.array([p[1] for p in firsts], dtype=np.int64)
    return Pairs(a, b, table.sample_id[rows_a], rows_a, rows_b)


@dataclass
class CaptionRows:
    """Every text row of the samples of a :class:`Pairs` whose text side has several captions."""

    side: str              # "a" or "b": which side of the pairs is text
    rows: np.ndarray       # text rows, sample by sample in the pairs' order, by caption_index within one
    owner: np.ndarray      # per text row: the index of its sample in the pairs
    counts: np.ndarray     # per paired sample: how many captions it has

    def __len__(self) -> int:
        return len(self.rows)


def caption_rows(table, pairs: Pairs) -> CaptionRows | None:
    """The captions of the paired samples when one side of ``pairs`` is text and some paired sample
    has more than one text row; None otherwise (one caption each: the pairs say everything)."""
    if "text" not in (pairs.a, pairs.b) or pairs.a == pairs.b:
        return None
    side = "a" if pairs.a == "text" else "b"
    where = {sid: i for i, sid in enumerate(pairs.sample_ids.tolist())}
    texts = table.rows("text")
    owner = np.array([where.get(sid, -1) for sid in table.sample_id[texts].tolist()], np.int64)
    keep = owner >= 0
    texts, owner = texts[keep], owner[keep]
    if len(texts) == len(pairs):
        return None
    order = np.lexsort((texts, caption_indices(table)[texts], owner))
    counts = np.bincount(owner, minlength=len(pairs))
    return CaptionRows(side, texts[order], owner[order], counts)


def label_values(table, label: str) -> np.ndarray:
    """The label column as strings (None where blank); ``label`` may be ``"label"`` or any column."""
    if label == "label":
        values = table.label
    elif label in table.columns:
        values = table.columns[label]
    else:
        names = ", ".join(["label", *table.columns]) or "none"
        raise ValueError(f"no column {label!r} in the table (columns: {names})")
    return np.array([_text(v) for v in values], dtype=object)


def _text(v):
    if v is None:
        return None
    if isinstance(v, (float, np.floating)):
        return None if np.isnan(v) else f"{float(v):g}"
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(int(v))
    text = str(v)
    return text if text.strip() else None


def sample_labels(table, label: str, rows: dict) -> dict:
    """sample id → its label (see the module's rule) for the samples of ``rows`` (from :func:`sample_rows`)."""
    values = label_values(table, label)
    first: dict = {}
    for row, sid in enumerate(table.sample_id):
        if sid in rows and values[row] is not None:
            first.setdefault(sid, values[row])
    return first


def class_order(values) -> tuple[str, ...]:
    """The distinct label values, numbers by value first, then text alphabetically."""
    def key(text: str):
        try:
            return (0, float(text), text)
        except ValueError:
            return (1, 0.0, text)

    return tuple(sorted(set(values), key=key))


@dataclass
class Paired:
    """One row per sample that has every modality asked for and a label."""

    sample_id: np.ndarray
    x: dict[str, np.ndarray]        # modality → (N, D) float32
    y: np.ndarray                   # (N,) int
    classes: list[str]
    task: str

    def __len__(self) -> int:
        return len(self.y)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def split(self, test_fraction: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """A seeded train/test split of row indices."""
        order = np.random.default_rng(seed).permutation(len(self))
        n_test = int(round(test_fraction * len(self)))
        return np.sort(order[n_test:]), np.sort(order[:n_test])


def paired(table, task: str, modalities=("image", "audio")) -> Paired:
    """The samples that have every one of ``modalities`` and a ``task`` label, sorted by sample id."""
    label_values(table, task)  # an unknown column is refused before anything else
    missing = [m for m in modalities if m not in table.modalities]
    if missing:
        raise ValueError(f"the table has no {', '.join(missing)} rows (it has {', '.join(table.modalities)})")
    rows = sample_rows(table, modalities)
    labels = sample_labels(table, task, rows)
    ids = sorted(sid for sid, r in rows.items() if len(r) == len(set(modalities)) and sid in labels)
    classes = list(class_order(labels[i] for i in ids))
    index = {c: k for k, c in enumerate(classes)}
    x = {m: table.vectors[[rows[i][m] for i in ids]] for m in modalities}
    y = np.array([index[labels[i]] for i in ids], np.int64)
    return Paired(np.asarray(ids, dtype=object), x, y, classes, task)
