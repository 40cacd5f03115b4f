"""Two embedding tables of the same items (two models, or one before and after an aligner), side by side:
everything ``mmstudio compare`` prints.

Rows are matched by (sample id, modality, caption index): a sample's several captions (text rows with a
``caption_index``) are matched caption by caption; rows only one table has are left out. Both matched
tables keep A's row order, so every measure below sees the same items in the same places.

- per modality: linear CKA of A against B with its permutation baseline, the held-out maps A → B and
  their residuals, and the neighbourhood Jaccard (k = 10, cosine) with the rows that changed most
  (:mod:`mmstudio.analysis.alignment.compare_stats`);
- per pair of modalities: retrieval both ways on each table, counted as ``mmstudio align`` counts it
  (:func:`mmstudio.analysis.alignment.report.pair_retrieval`), and the paired bootstrap interval of
  the difference B − A of R@1, R@5 and mAP@10, overall and per label of the query (labels with at least
  ``min_label_queries`` queries; the query's label in A, else in B); and the modality gap of each table,
  with the interval of its change over resampled pairs.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from mmstudio.analysis.alignment import scope
from mmstudio.analysis.alignment.compare_stats import (
    PERMUTATIONS,
    RESAMPLES,
    K,
    Resamples,
    cka_with_baseline,
    held_out_maps,
    neighbour_jaccard,
)
from mmstudio.analysis.alignment.gap import modality_gap
from mmstudio.analysis.alignment.report import pair_retrieval
from mmstudio.analysis.common.pairing import label_values, pair_rows
from mmstudio.analysis.fusion.ridge import one_blas_thread
from mmstudio.core.jobs import Job
from mmstudio.core.tables.captions import caption_indices, row_keys
from mmstudio.core.values import plain

MIN_SAMPLES = 10
MIN_LABEL_QUERIES = 10
CHANGED = 10  # rows listed as most changed, per modality
METRICS = ("R@1", "R@5", "mAP@10")


class TooFewMatches(ValueError):
    """Fewer samples than asked for are in both tables."""


def match_rows(a, b, min_samples: int = MIN_SAMPLES) -> tuple[np.ndarray, np.ndarray, dict]:
    """Rows of ``a`` and ``b`` with the same (sample id, modality, caption index), in ``a``'s order, and
    the counts; raises :class:`TooFewMatches` when fewer than ``min_samples`` samples match."""
    where = {key: row for row, key in enumerate(row_keys(b)) if key[0] is not None}
    rows_a, rows_b = [], []
    for row, key in enumerate(row_keys(a)):
        if key in where:
            rows_a.append(row)
            rows_b.append(where[key])
    rows_a, rows_b = np.array(rows_a, np.int64), np.array(rows_b, np.int64)
    counts = {"samples_a": len(set(a.sample_id.tolist()) - {None}), "samples_b": len(set(b.sample_id.tolist()) - {None}),
              "rows_a": len(a), "rows_b": len(b), "samples": len(set(a.sample_id[rows_a].tolist())),
              "rows": len(rows_a)}
    if counts["samples"] < min_samples:
        raise TooFewMatches(f"{counts['samples']} sample{'s' if counts['samples'] != 1 else ''} match by sample id "
                            f"and modality (A has {counts['samples_a']}, B has {counts['samples_b']}); "
                            f"comparing needs at least {min_samples}")
    return rows_a, rows_b, counts


def _side(table, counts: dict, which: str) -> dict:
    return {"model": table.model, "rows": counts[f"rows_{which}"], "samples": counts[f"samples_{which}"],
            "dim": table.dim}


def _modality(ta, tb, modality: str, seed: int) -> dict:
    rows = ta.rows(modality)
    xa, xb = ta.vectors[rows], tb.vectors[rows]
    out = {"modality": modality, "rows": len(rows), "dim_a": ta.dim, "dim_b": tb.dim}
    if len(rows) < 4:
        out["note"] = f"{len(rows)} matched rows: too few to compare"
        return out
    with one_blas_thread():  # small factorisations, many of them: a second BLAS thread only waits
        out["cka"] = cka_with_baseline(xa, xb, seed=seed)
        out["maps"] = held_out_maps(xa, xb, seed=seed)
    jaccard, chance = neighbour_jaccard(xa, xb)
    captions = caption_indices(ta)[rows]
    several = modality == "text" and "caption_index" in ta.columns
    changed = [i for i in np.lexsort((np.arange(len(rows)), jaccard))[:CHANGED] if jaccard[i] < 1]  # unchanged: none
    out["neighbours"] = {
        "k": min(K, len(rows) - 1), "mean_jaccard": float(jaccard.mean()), "chance": chance,
        "most_changed": [{"sample_id": str(ta.sample_id[rows[i]]), "jaccard": float(jaccard[i]),
                          **({"caption_index": int(captions[i])} if several else {})} for i in changed]}
    return out


def _query_labels(ta, tb, query_rows) -> np.ndarray | None:
    la, lb = label_values(ta, "label")[query_rows], label_values(tb, "label")[query_rows]
    labels = np.array([x if x is not None else y for x, y in zip(la, lb)], dtype=object)
    return labels if any(v is not None for v in labels) else None


def _per_query(ranks) -> dict:
    ranks = np.asarray(ranks)
    return {"R@1": ranks <= 1, "R@5": ranks <= 5, "mAP@10": np.where(ranks <= 10, 1.0 / ranks, 0.0)}


def _direction(ra, rb, query_rows, labels, min_label_queries: int, resamples: int, seed: int) -> dict:
    va, vb = _per_query(ra.ranks), _per_query(rb.ranks)
    boot = Resamples(len(ra.ranks), resamples, seed)
    out = {"query": ra.query, "gallery": ra.gallery, "n": len(ra.ranks), "A": ra.summary(), "B": rb.summary(),
           "difference": {m: boot.difference(va[m], vb[m]) for m in METRICS}}
    if labels is None:
        return out
    per_label = []
    names, counts = np.unique(np.array([str(v) for v in labels if v is not None], dtype=object), return_counts=True)
    for name, count in zip(names.tolist(), counts.tolist()):
        if count < min_label_queries:
            continue
        mask = np.array([v is not None and str(v) == name for v in labels])
        sub = Resamples(int(mask.sum()), resamples, seed)
        per_label.append({"label": name, "queries": int(count), "R@1_A": float(va["R@1"][mask].mean()),
                          "R@1_B": float(vb["R@1"][mask].mean()),
                          "difference": sub.difference(va["R@1"][mask], vb["R@1"][mask])})
    per_label.sort(key=lambda e: (-e["difference"]["value"], e["label"]))
    out["labels"] = per_label
    out["labels_left_out"] = int(sum(c < min_label_queries for c in counts.tolist()))
    return out


def _pair(ta, tb, a: str, b: str, *, min_label_queries: int, resamples: int, seed: int, job) -> dict:
    pairs = pair_rows(ta, a, b)  # the same rows in tb: both tables hold the matched rows in one order
    out = {"modalities": [a, b], "n_pairs": len(pairs)}
    if len(pairs) < 2:
        out["note"] = f"{len(pairs)} paired sample{'s' if len(pairs) != 1 else ''}: nothing to compare"
        return out
    # the same queries in A and B (the bootstrap pairs them): all, or one seeded sample sized for the wider table
    n = len(pairs)
    m = scope.sample_size(n, n, max(ta.dim, tb.dim))
    queries = 0 if m >= n else m
    found_a = pair_retrieval(ta, pairs, queries=queries, seed=seed, job=job)
    found_b = pair_retrieval(tb, pairs, queries=queries, seed=seed, job=job)
    if found_a.captions is not None:
        out["captions"] = found_a.captions
    out["retrieval"] = [
        _direction(ra, rb, rows, _query_labels(ta, tb, rows), min_label_queries, resamples, seed)
        for (ra, rows), (rb, _) in zip(found_a.results, found_b.results)]
    xa1, xa2 = ta.vectors[pairs.rows_a], ta.vectors[pairs.rows_b]
    xb1, xb2 = tb.vectors[pairs.rows_a], tb.vectors[pairs.rows_b]
    out["gap"] = {"A": modality_gap(xa1, xa2)[0], "B": modality_gap(xb1, xb2)[0],
                  "difference": Resamples(len(pairs), resamples, seed).gap_difference(xa1, xa2, xb1, xb2)}
    return out


def compare_tables(a, b, *, min_samples: int = MIN_SAMPLES, min_label_queries: int = MIN_LABEL_QUERIES,
                   resamples: int = RESAMPLES, seed: int = 0, job=None) -> dict:
    """Everything ``mmstudio compare`` reports on tables ``a`` and ``b`` (a JSON-ready dict).

    Raises :class:`TooFewMatches` when fewer than ``min_samples`` samples are in both."""
    job = job or Job()
    rows_a, rows_b, counts = match_rows(a, b, min_samples)
    ta, tb = a.take(rows_a), b.take(rows_b)
    modalities = list(ta.modalities)
    todo = list(combinations(modalities, 2))
    steps = len(modalities) + len(todo)
    out = {"A": _side(a, counts, "a"), "B": _side(b, counts, "b"),
           "matched": {"samples": counts["samples"], "rows": counts["rows"],
                       "by": "sample id, modality and caption index"},
           "settings": {"seed": seed, "resamples": resamples, "permutations": PERMUTATIONS, "k": K,
                        "min_label_queries": min_label_queries, "interval": "95 % paired bootstrap over queries",
                        "ties": "against the query (an equally similar item ranks ahead of the partner)"},
           "modalities": [], "pairs": []}
    for i, modality in enumerate(modalities):
        job.status(modality)
        job.progress(i, steps)
        out["modalities"].append(_modality(ta, tb, modality, seed))
        job.check()
    for i, (m1, m2) in enumerate(todo):
        job.status(f"{m1} ↔ {m2}")
        job.progress(len(modalities) + i, steps)
        out["pairs"].append(_pair(ta, tb, m1, m2, min_label_queries=min_label_queries, resamples=resamples,
                                  seed=seed, job=job))
    job.progress(steps, steps)
    return plain(out)
