"""How well the modalities of an embedding table line up: everything ``mmstudio align`` prints.

Rows of two modalities are paired by ``sample_id`` (only samples that have both; when a sample
has several rows of one modality, its first row is used; of several captions, the first). When the
text side holds several captions per sample, retrieval follows the any-caption protocol of
:mod:`mmstudio.analysis.alignment.captions` and the pair's ``captions`` entry says so. For every pair
of modalities present, :func:`align_report` gathers

- retrieval both ways (:mod:`mmstudio.analysis.alignment.retrieval`): R@1/5/10, median and mean rank,
  mAP@10, label-level R@1 and mAP@10 where labels exist, the worst-aligned samples, and the
  similarity matrix for small sets;
- the modality gap and the shift experiment (:mod:`mmstudio.analysis.alignment.gap`);
- orthogonal and similarity Procrustes, linear CKA (:mod:`mmstudio.analysis.alignment.procrustes`) and
  the linear-vs-MLP diagnosis (:mod:`mmstudio.analysis.alignment.maps`);
- symmetric InfoNCE and triplet losses (:mod:`mmstudio.analysis.alignment.losses`).

Every measure says what it was computed on (a ``scope`` entry): retrieval and the losses score every
query up to a measured amount of work and above it a seeded random sample of queries, each ranked among
all items, with 95 % intervals (:mod:`mmstudio.analysis.alignment.scope`); the gap shift and the maps
use a seeded subsample of pairs; Procrustes and CKA use every pair.

The projection-head trainer lives in :mod:`mmstudio.analysis.alignment.aligner`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from mmstudio.analysis.alignment.aligner import AlignerHistory, train_aligner
from mmstudio.analysis.alignment.captions import caption_retrieval, protocol, worst_rows
from mmstudio.analysis.alignment.gap import GapShift, gap_shift, modality_gap
from mmstudio.analysis.alignment.losses import (
    MARGIN,
    TEMPERATURE,
    contrastive_losses,
    info_nce,
    losses_from_terms,
    triplet_loss,
)
from mmstudio.analysis.alignment.maps import MapDiagnosis, diagnose_maps
from mmstudio.analysis.alignment.procrustes import linear_cka, orthogonal_procrustes, similarity_procrustes
from mmstudio.analysis.alignment.retrieval import Retrieval, retrieval_from_similarity, retrieve, similarity_matrix
from mmstudio.analysis.alignment.scope import plan
from mmstudio.analysis.common.pairing import Pairs, caption_rows, pair_rows
from mmstudio.core.jobs import Job
from mmstudio.core.values import plain

__all__ = [
    "AlignerHistory", "GapShift", "MapDiagnosis", "Pairs", "Retrieval", "align_report", "diagnose_maps",
    "gap_shift", "info_nce", "linear_cka", "modality_gap", "orthogonal_procrustes", "pair_rows", "retrieve",
    "retrieval_from_similarity", "similarity_procrustes", "train_aligner", "triplet_loss",
]

WORST = 10
SIMILARITY_LIMIT = 100  # the report carries the similarity matrix up to this many pairs
MIN_MAP_PAIRS = 10


def _retrieval_dict(result: Retrieval, worst: int) -> dict:
    out = result.summary()
    out["worst"] = [{"sample_id": sid, "rank": rank} for sid, rank in result.worst(worst)]
    return out


@dataclass
class PairRetrieval:
    """Retrieval both ways for one pair of modalities, as ``mmstudio align`` scores it."""

    results: list[tuple[Retrieval, np.ndarray]]  # (a → b, its query rows), (b → a, its query rows)
    partner_rows: list[np.ndarray]  # per direction: the row each query is scored by
    captions: dict | None  # the any-caption protocol's counts and sentences, when it was used


def pair_retrieval(table, pairs: Pairs, *, similarity_limit: int = SIMILARITY_LIMIT, queries: int | None = None,
                   seed: int = 0, temperature: float | None = None, job=None) -> PairRetrieval:
    """Retrieval ``pairs.a → pairs.b`` and back; with several captions per sample, the any-caption
    protocol (:mod:`mmstudio.analysis.alignment.captions`). The a → b result keeps its similarity
    matrix up to ``similarity_limit`` pairs (one caption each). Each direction scores every query, or
    above a size a seeded random sample of them (``queries``: how many; 0: all; :func:`.scope.plan`);
    the query and partner rows are those of the scored queries. ``temperature``: with one caption each, the
    passes also gather the contrastive-loss terms where they run chunked (``terms`` on the results)."""
    a, b = pairs.a, pairs.b
    captions = caption_rows(table, pairs)
    if captions is not None:
        both = caption_retrieval(table, pairs, captions, queries=queries, seed=seed, job=job)
        return PairRetrieval([(r, q) for r, q, _ in both], [p for _, _, p in both], protocol(pairs, captions))
    xa, xb = table.vectors[pairs.rows_a], table.vectors[pairs.rows_b]
    la, lb = table.label[pairs.rows_a], table.label[pairs.rows_b]
    scope = plan(len(pairs), len(pairs), table.dim, queries=queries, seed=seed)  # the same queries both ways
    ab = retrieve(xa, xb, query_labels=la, gallery_labels=lb, sample_ids=pairs.sample_ids, names=(a, b),
                  keep_similarity=similarity_limit, scope=scope, temperature=temperature, job=job)
    ba = retrieve(xb, xa, query_labels=lb, gallery_labels=la, sample_ids=pairs.sample_ids, names=(b, a),
                  keep_similarity=0, scope=scope, temperature=temperature, job=job)
    rows_a, rows_b = scope.take(pairs.rows_a), scope.take(pairs.rows_b)
    return PairRetrieval([(ab, rows_a), (ba, rows_b)], [rows_b, rows_a], None)


def pair_report(table, pairs: Pairs, *, temperature: float = TEMPERATURE, margin: float = MARGIN,
                worst: int = WORST, similarity_limit: int = SIMILARITY_LIMIT, queries: int | None = None,
                seed: int = 0, job=None) -> dict:
    """Every alignment measure for one pair of modalities, as a JSON-ready dict. Each measure says what
    it was computed on (a ``scope`` entry: every pair or query, or a stated seeded sample)."""
    a, b = pairs.a, pairs.b
    xa, xb = table.vectors[pairs.rows_a], table.vectors[pairs.rows_b]
    out = {"modalities": [a, b], "n_pairs": len(pairs)}
    if len(pairs) < 2:
        out["note"] = f"{len(pairs)} paired sample{'s' if len(pairs) != 1 else ''}: nothing to compare"
        return out
    found = pair_retrieval(table, pairs, similarity_limit=similarity_limit, queries=queries, seed=seed,
                           temperature=temperature, job=job)
    if found.captions is None:
        out["retrieval"] = [_retrieval_dict(result, worst) for result, _ in found.results]
        out["similarity"] = found.results[0][0].similarity  # rows a, columns b (cosine); None above similarity_limit pairs
    else:  # several captions per sample: any of them is a hit, every caption queries
        out["captions"] = found.captions
        out["retrieval"] = []
        for (result, query_rows), partner_rows in zip(found.results, found.partner_rows):
            entry = result.summary()
            entry["worst"] = worst_rows(result, query_rows, partner_rows, table, worst)
            out["retrieval"].append(entry)
        out["similarity"] = similarity_matrix(xa, xb) if len(pairs) <= similarity_limit else None  # first captions
    n = len(pairs)
    shift = gap_shift(xa, xb, seed=seed, job=job)
    out["gap"] = {"distance": shift.gap, "shift": shift.to_dict(), "best_delta": float(shift.deltas[shift.best]),
                  "best_R@1_ab": float(shift.r1_ab[shift.best]), "best_R@1_ba": float(shift.r1_ba[shift.best]),
                  "scope": f"the gap on all {n:,} pairs; the shift re-scored on "
                           + (f"all {n:,}" if shift.n >= n else f"a random {shift.n:,} of {n:,} (seed {seed})")}
    orth = orthogonal_procrustes(xa, xb)
    out["procrustes"] = {"orthogonal_residual": orth.residual, "orthogonal_relative": orth.relative,
                         "similarity_disparity": similarity_procrustes(xa, xb), "linear_cka": linear_cka(xa, xb),
                         "scope": f"exact, all {n:,} pairs"}
    job = job or Job()
    job.check()
    if n >= MIN_MAP_PAIRS:
        out["maps"] = diagnose_maps(xa, xb, seed=seed, job=job).to_dict()
        used = out["maps"]["n_train"] + out["maps"]["n_test"]
        out["maps"]["scope"] = (f"all {n:,} pairs" if used >= n else f"a random {used:,} of {n:,} pairs (seed {seed})"
                                ) + f": {out['maps']['n_train']:,} to fit, {out['maps']['n_test']:,} held out"
    else:
        out["maps"] = {"verdict": None, "sentence": f"too few pairs ({n}) to fit and hold out maps"}
    (ab, _), (ba, _) = found.results
    if found.captions is None and ab.terms is not None and ba.terms is not None:  # gathered by the same passes
        losses = losses_from_terms(ab.terms, ba.terms, temperature, margin, ab.scope, ab.block)
    else:
        losses = contrastive_losses(xa, xb, temperature, margin, job=job,
                                    scope=plan(n, n, table.dim, queries=queries, seed=seed))
    out["losses"] = {"temperature": temperature, "margin": margin, **losses}
    return out


def align_report(table, *, temperature: float = TEMPERATURE, margin: float = MARGIN, worst: int = WORST,
                 similarity_limit: int = SIMILARITY_LIMIT, queries: int | None = None, seed: int = 0,
                 job=None) -> dict:
    """All alignment measures for every pair of modalities in ``table`` (a JSON-serialisable dict).
    ``queries``: score a seeded random sample of this many queries per retrieval direction (0: all of
    them; None: all up to a size, :func:`.scope.plan`).

    Raises ValueError when the table has fewer than two modalities."""
    job = job or Job()
    modalities = list(table.modalities)
    if len(modalities) < 2:
        raise ValueError(f"the table has {len(modalities)} modalit{'y' if len(modalities) == 1 else 'ies'} "
                         f"({', '.join(modalities) or 'none'}); alignment needs at least two")
    todo = list(combinations(modalities, 2))
    pairs_out = []
    for i, (a, b) in enumerate(todo):
        job.status(f"{a} ↔ {b}")
        job.progress(i, len(todo))
        pairs_out.append(pair_report(table, pair_rows(table, a, b), temperature=temperature, margin=margin,
                                     worst=worst, similarity_limit=similarity_limit, queries=queries, seed=seed,
                                     job=job))
    job.progress(len(todo), len(todo))
    return plain({"model": table.model, "rows": len(table), "dim": table.dim, "modalities": modalities,
                   "settings": {"temperature": temperature, "margin": margin, "seed": seed,
                                "ties": "against the query (an equally similar item ranks ahead of the partner)"},
                   "pairs": pairs_out})
