"""The retrieval browser's numbers: for one query, the most similar items of each modality, with
their cosine and rank, and where the query's true partner ranks (the window's Retrieval tab draws them).

A **row query** (an item of the table) is compared with each *other* modality; a **vector query**
(a typed text, embedded by the model) with every modality.

The ranks are those ``mmstudio align`` counts (:mod:`.retrieval`, :mod:`.report`): a query whose sample
also has the other modality is ranked among that modality's rows of the samples that have both
modalities (each sample's first row: :func:`~mmstudio.analysis.common.pairing.pair_rows`), its true
partner is its sample's row there, the scores come from the same blocked product
(:func:`~.retrieval.similarity_blocks`) and the partner's rank from the same rule
(:func:`~.retrieval.partner_ranks`: an equally similar item ranks ahead of the partner; near ties are
scored again in float64, so one query alone ranks as it does among all). The top-k lists keep that
rule: they are ordered by those scores, the partner last among equals, then the table's order, so a
partner of rank r ≤ k is the r-th item of the list, and the cosines shown are the float64 ones. A query whose sample lacks the other modality has no
partner and is compared with all of that modality's rows; so is a vector query.

Queries are scored in blocks of rows against the gallery (never an n × n matrix): the top k of one
query among 100,000 rows is one pass over them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.alignment.retrieval import (
    BLOCK_ELEMENTS,
    TIE_WINDOW,
    exact_scores,
    normalise,
    partner_ranks,
    similarity_blocks,
)
from mmstudio.analysis.common.pairing import Pairs, pair_rows
from mmstudio.core.jobs import Job

K = 10


@dataclass
class Hits:
    """One modality's answer to a query."""

    modality: str
    gallery: np.ndarray                 # the table rows the query was compared with
    rows: np.ndarray                    # the top k of them (table rows), best first: item i has rank i + 1
    scores: np.ndarray                  # their cosine
    total: int                          # rows of this modality in the table
    paired_with: str | None = None      # the gallery is the rows of the samples that also have this modality
    partner: int | None = None          # the table row of the query's true partner
    partner_rank: int | None = None     # its 1-based rank in the gallery
    partner_score: float | None = None

    @property
    def size(self) -> int:
        return len(self.gallery)


@dataclass
class Browse:
    """A query and, per modality (the table's order), its :class:`Hits`."""

    row: int | None                     # the query's table row (None: a vector query)
    modality: str | None
    sample_id: str | None
    hits: dict[str, Hits] = field(default_factory=dict)


def ordered_top(scores: np.ndarray, k: int, partner: int | None = None, exact=None) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the ``k`` highest ``scores`` and their scores, best first; among equal scores
    ``partner`` comes last, then position order (see the module's rule). ``exact(positions)``: their
    scores again in float64 (:func:`~.retrieval.exact_scores`), which order the items within
    ``TIE_WINDOW`` of the cut or above it, as the partner's rank is counted."""
    scores = np.asarray(scores)
    n, kk = len(scores), min(int(k), len(scores))
    if kk <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    candidates = np.arange(n)
    if kk < n:  # everything at least as good as the k-th best (and near it): ties at the cut stay candidates
        kth = np.partition(scores, n - kk)[n - kk]
        candidates = np.flatnonzero(scores >= kth - (TIE_WINDOW if exact is not None else 0))
    values = scores[candidates] if exact is None else exact(candidates)
    last = candidates == partner if partner is not None else np.zeros(len(candidates), bool)
    order = np.lexsort((candidates, last, -values))[:kk]
    return candidates[order].astype(np.int64), values[order].astype(np.float32)


def top_k(queries, gallery, k: int = K, partners=None, *, block_elements: int = BLOCK_ELEMENTS, job=None):
    """For each query vector, its ``k`` best gallery positions (best first) and their cosine, and where
    ``partners[i]`` (a gallery position; −1: none) ranks and its cosine. Returns ``(positions (Q, k'),
    scores (Q, k'), ranks (Q,), partner scores (Q,))`` with ``k' = min(k, len(gallery))``; rank 0 and
    score NaN where a query has no partner. The queries are scored in row blocks against the gallery."""
    job = job or Job()
    q, g = normalise(queries), normalise(gallery)
    n_q, n_g = len(q), len(g)
    kk = min(int(k), n_g)
    partners = np.full(n_q, -1, np.int64) if partners is None else np.asarray(partners, np.int64)
    positions = np.zeros((n_q, kk), np.int64)
    scores = np.zeros((n_q, kk), np.float32)
    ranks = np.zeros(n_q, np.int64)
    partner_scores = np.full(n_q, np.nan)
    if n_q == 0 or n_g == 0:
        return positions, scores, ranks, partner_scores
    for start, block in similarity_blocks(q, g, block_elements, normalised=True):
        for i, row in enumerate(block):
            p, vector = int(partners[start + i]), q[start + i]
            positions[start + i], scores[start + i] = ordered_top(
                row, kk, p if p >= 0 else None, lambda at, v=vector: exact_scores(v, g[at]))
            if p >= 0:
                partner_scores[start + i] = exact_scores(vector, g[p:p + 1])[0]
        has = np.flatnonzero(partners[start:start + len(block)] >= 0)
        if len(has):
            ranks[start + has] = partner_ranks(block[has], partners[start + has], q[start + has], g)
        job.check()
    return positions, scores, ranks, partner_scores


class PairCache:
    """``pair_rows`` of a table, once per modality pair (each call walks every row)."""

    def __init__(self, table):
        self.table = table
        self._pairs: dict[tuple[str, str], tuple[Pairs, dict]] = {}

    def get(self, a: str, b: str) -> tuple[Pairs, dict]:
        """The pairs of ``a`` and ``b`` and sample id → its index among them."""
        if (a, b) not in self._pairs:
            pairs = pair_rows(self.table, a, b)
            self._pairs[(a, b)] = pairs, {sid: i for i, sid in enumerate(pairs.sample_ids.tolist())}
        return self._pairs[(a, b)]


def browse_row(table, row: int, k: int = K, *, pairs: PairCache | None = None,
               block_elements: int = BLOCK_ELEMENTS, job=None) -> Browse:
    """Row ``row`` of ``table`` as the query: the top ``k`` of every other modality and its partner's rank
    (see the module's rule for the gallery and the rank)."""
    row = int(row)
    pairs = pairs or PairCache(table)
    a, sid = str(table.modality[row]), table.sample_id[row]
    result = Browse(row, a, None if sid is None else str(sid))
    query = table.vectors[[row]]
    for b in table.modalities:
        if b == a:
            continue
        paired, index = pairs.get(a, b)
        where = index.get(sid) if sid is not None else None
        gallery = paired.rows_b if where is not None else table.rows(b)
        positions, scores, ranks, partner_scores = top_k(query, table.vectors[gallery], k,
                                                         [-1 if where is None else where],
                                                         block_elements=block_elements, job=job)
        hits = Hits(b, gallery, gallery[positions[0]], scores[0], len(table.rows(b)))
        if where is not None:
            hits.paired_with, hits.partner = a, int(gallery[where])
            hits.partner_rank, hits.partner_score = int(ranks[0]), float(partner_scores[0])
        result.hits[b] = hits
    return result


def browse_vector(table, vector, k: int = K, *, block_elements: int = BLOCK_ELEMENTS, job=None) -> Browse:
    """A vector (a typed text, embedded) as the query: the top ``k`` of every modality of ``table``."""
    result = Browse(None, None, None)
    query = np.asarray(vector, np.float32).reshape(1, -1)
    for b in table.modalities:
        gallery = table.rows(b)
        positions, scores, _, _ = top_k(query, table.vectors[gallery], k, block_elements=block_elements, job=job)
        result.hits[b] = Hits(b, gallery, gallery[positions[0]], scores[0], len(gallery))
    return result


def sample_rows(table, sample_id) -> dict[str, int]:
    """A sample's first row of each modality (the table's modality order)."""
    if sample_id is None:
        return {}
    rows = np.flatnonzero(table.sample_id == sample_id)
    out: dict[str, int] = {}
    for r in rows.tolist():
        out.setdefault(str(table.modality[r]), int(r))
    return {m: out[m] for m in table.modalities if m in out}
