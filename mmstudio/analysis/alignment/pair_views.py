"""The alignment report with, per modality pair, the rows, vectors and similarity matrix a view draws
(the window's Alignment panel computes it as a job)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HEATMAP_LIMIT = 300  # pairs drawn in the similarity matrix (a seeded random sample above)


@dataclass
class PairData:
    """What the panel keeps of one modality pair: its rows, vectors and the matrix it draws."""

    a: str
    b: str
    report: dict
    sample_ids: np.ndarray
    rows_a: np.ndarray
    rows_b: np.ndarray
    labels: np.ndarray           # the samples' labels (from modality a), for sorting the matrix
    xa: np.ndarray
    xb: np.ndarray
    shown: np.ndarray            # pair indices drawn in the matrix (sorted)
    similarity: np.ndarray       # len(shown) × len(shown) cosine, rows a, columns b
    seed: int | None = None      # the seed of the random sample ``shown`` (None: every pair is drawn)

    @property
    def shown_note(self) -> str:
        """What the matrix draws when it is a sample: "300 of 500,000 pairs, random, seed 0" ("" for all)."""
        if len(self.shown) == len(self.sample_ids):
            return ""
        return f"{len(self.shown):,} of {len(self.sample_ids):,} pairs, random, seed {self.seed}"


def alignment_views(table, job=None, heatmap_limit: int = HEATMAP_LIMIT, rows=None, seed: int = 0) -> dict:
    """``{"report": align_report(table), "pairs": {(a, b): PairData}}``: the report and, per modality
    pair, what a view of it draws (the similarity matrix of all pairs, or above ``heatmap_limit`` pairs of
    a random sample of that many, drawn with ``seed``, in the pairs' order). ``rows``: compute on these
    rows of ``table`` only (a filter); the pairs' ``rows_a``/``rows_b`` are still indices into ``table``."""
    from mmstudio.analysis.alignment.report import align_report, pair_rows

    if rows is not None:
        rows = np.asarray(rows, np.int64)
        result = alignment_views(table.take(rows), job, heatmap_limit, seed=seed)
        for data in result["pairs"].values():
            data.rows_a, data.rows_b = rows[data.rows_a], rows[data.rows_b]
        return result
    from mmstudio.analysis.alignment.retrieval import similarity_matrix

    report = align_report(table, seed=seed, job=job)
    pairs = {}
    for entry in report["pairs"]:
        a, b = entry["modalities"]
        p = pair_rows(table, a, b)
        shown = np.arange(len(p))
        if len(p) > heatmap_limit:
            shown = np.sort(np.random.default_rng(seed).choice(len(p), heatmap_limit, replace=False))
        xa, xb = table.vectors[p.rows_a], table.vectors[p.rows_b]
        labels = np.array(["" if v is None else str(v) for v in table.label[p.rows_a]], dtype=object)
        pairs[(a, b)] = PairData(a, b, entry, p.sample_ids, p.rows_a, p.rows_b, labels, xa, xb, shown,
                                 similarity_matrix(xa[shown], xb[shown]), seed)
    return {"report": report, "pairs": pairs}
