"""What a comparison compares, and the job bodies that fetch the second side (B), match it to the open
table (A), lay out B's map and measure each item's neighbourhood change. Plain functions of a job
(:mod:`mmstudio.ui.workers` runs them off the GUI thread); the window's part is in ``window.py``.

B is a table read from disk, or the open items embedded again by a second model through the same path
the window embeds with (:func:`mmstudio.encoders.embed.embed_dataset` with the window's cache: a second
run of the same model is found in the cache, not recomputed). Rows are matched as ``mmstudio compare``
matches them (:func:`mmstudio.analysis.alignment.compare.match_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmstudio.core.tables.table import EmbeddingTable

UMAP_MIN_ROWS = 20   # as the window's map: fewer rows are laid out by PCA


@dataclass
class Refused:
    """Why there is nothing to compare (one line for the Log)."""

    reason: str


@dataclass
class Comparison:
    """A (the window's table when the comparison opened) and B, their rows matched: ``rows_a[i]`` of A
    and ``rows_b[i]`` of B are the same item."""

    title: str                 # B in a few words: its file's name, or its model
    source: str                # B in full: "the table PATH", "model NAME on the 24 open samples"
    table_a: EmbeddingTable
    table_b: EmbeddingTable
    rows_a: np.ndarray
    rows_b: np.ndarray
    counts: dict
    path: str | None = None    # B's file, when it came from one
    model: str | None = None   # B's model, when it was embedded here
    matched_a: EmbeddingTable = field(init=False)
    matched_b: EmbeddingTable = field(init=False)

    def __post_init__(self):
        self.matched_a, self.matched_b = self.table_a.take(self.rows_a), self.table_b.take(self.rows_b)

    def describe(self) -> str:
        c = self.counts
        return (f"{c['samples']:,} samples ({c['rows']:,} rows) of {c['samples_a']:,} in A are in B "
                f"({self.source}, {self.table_b.dim}-d)")

    def still_fits(self, table) -> bool:
        """Whether ``table`` (the window's, now) still holds A's matched rows where they were (rows may have
        joined after them; a new model or a new table replaces them)."""
        if table is None or len(table) < len(self.table_a):
            return False
        rows = self.rows_a
        return bool(np.array_equal(table.sample_id[rows], self.matched_a.sample_id)
                    and np.array_equal(table.modality[rows], self.matched_a.modality))


def matched(table_a, table_b, *, title: str, source: str, min_samples: int, **where) -> Comparison | Refused:
    from mmstudio.analysis.alignment.compare import TooFewMatches, match_rows

    try:
        rows_a, rows_b, counts = match_rows(table_a, table_b, min_samples)
    except TooFewMatches as exc:
        return Refused(f"{source}: {exc}")
    return Comparison(title, source, table_a, table_b, rows_a, rows_b, counts, **where)


def read_side(path: str, table_a, min_samples: int, job) -> Comparison | Refused:
    """B read from ``path`` (Parquet, NPZ, a folder of shards) and matched to ``table_a``."""
    from mmstudio.core.tables.files import TableFormatError

    job.status(f"reading {path}")
    try:
        table_b = EmbeddingTable.read(path)
    except (OSError, TableFormatError) as exc:
        return Refused(f"cannot compare with {path}: {exc}")
    job.check()
    return matched(table_a, table_b, title=Path(path).name, source=f"the table {path}", min_samples=min_samples,
                   path=str(path))


class Encoders:
    """The second model, kept loaded between comparisons (loading it again would cost what the cache saves)."""

    def __init__(self):
        self.key, self.encoder = None, None

    def get(self, name: str, device: str, cache):
        from mmstudio.encoders.registry import load_encoder

        if self.key != (name, device):
            self.key, self.encoder = None, None
            self.encoder = load_encoder(name, device=device, cache=cache)
            self.key = (name, device)
        return self.encoder


def embed_side(name: str, device: str, dataset, cache, encoders: Encoders, table_a, min_samples: int,
               job) -> Comparison | Refused:
    """B: the open samples embedded by the model ``name`` (loaded once, the window's cache), matched to A."""
    from mmstudio.encoders.base import ModelError
    from mmstudio.encoders.embed import embed_dataset

    job.status(f"loading {name}")
    try:
        encoder = encoders.get(name, device, cache)
    except ModelError as exc:
        return Refused(f"cannot compare with the model {name}: {exc.reason}")
    job.check()
    job.status(f"embedding {len(dataset):,} samples with {encoder.name}")
    table_b = embed_dataset(dataset, encoder, cache=cache, job=job)
    return matched(table_a, table_b, title=Path(name).name if Path(name).is_dir() else encoder.name,
                   source=f"model {encoder.name} on the {len(dataset):,} open samples", min_samples=min_samples,
                   model=name)


@dataclass
class SideLayout:
    xy: np.ndarray     # B's map of the matched rows, turned to face A's
    how: str           # "UMAP", "PCA"


def lay_out(comparison: Comparison, projection: dict, xy_a: np.ndarray | None, job) -> SideLayout:
    """B's map of the matched rows, fitted on B's vectors alone with the window's projection settings, then
    turned (rotated or reflected, scaled, shifted: its shape kept) to face A's map of the same items."""
    from mmstudio.analysis.projection.facing import face
    from mmstudio.analysis.projection.project import pca_2d, project

    vectors = comparison.matched_b.vectors
    n = len(vectors)
    if projection.get("method") != "pca" and n >= UMAP_MIN_ROWS:
        options = {k: v for k, v in projection.items() if k != "method"}
        xy, how = project(vectors, "umap", preview=False, snapshots=0, job=job, **options).xy, "UMAP"
    else:
        job.status("PCA")
        xy, how = (pca_2d(vectors) if n > 2 else np.zeros((n, 2), np.float32)), "PCA"
    if xy_a is not None and len(xy_a) == len(comparison.table_a):
        xy = face(xy, xy_a[comparison.rows_a])
    return SideLayout(np.asarray(xy, np.float32), how)


def change_of(comparison: Comparison, job) -> np.ndarray:
    """Each matched row's neighbourhood change, 1 − Jaccard of its 10 nearest in A and in B."""
    from mmstudio.analysis.alignment.neighbour_change import neighbour_change

    job.status("neighbourhoods")
    return neighbour_change(comparison.matched_a, comparison.matched_b)
