"""The retrieval browser's numbers: for one query, the most similar items of each modality, with
their cosine and rank, and where the query's true partner ranks (the window's Retrieval tab draws them).

A **row query** (an item of the table) is compared with each *other* modality; a **vector query**
(a typed text, embedded by the model) with every modality.

The ranks are those ``mmstudio align`` counts (:mod:`.retrieval`, :mod:`.report`): a query whose sample
also has the other modality is ranked among that modality's rows of the samples that have both
modalities (each sample's first row: :func:`~mmstudio.analysis.common.pairing.pair_rows`), its true
partner is its sample's row there, and the partner's rank follows the same rule
(:func:`~.retrieval.partner_ranks`: an equally similar item ranks ahead of the partner; the items within
``TIE_WINDOW`` of the partner are compared in float64, so a query alone ranks exactly as it does among
all of them in ``mmstudio align``'s blocks). The top-k lists keep that rule: ordered by those scores,
the partner last among equals, then the table's order, so a partner of rank r ≤ k is the r-th item of
the list; the cosines shown are the float64 ones. A query whose sample lacks the other modality has
no partner and is compared with all of that modality's rows; so is a vector query.

One query costs one pass over the table's vectors, in chunks of rows (a vector of scores, never an
n × n matrix); :class:`TableCache` keeps what does not change between queries (the rows' norms, the
modality pairs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.alignment.retrieval import TIE_WINDOW, exact_scores, normalise, partner_ranks
from mmstudio.analysis.common.pairing import Pairs, pair_rows
from mmstudio.core.jobs import Job

K = 10
CHUNK_ROWS = 1 << 16   # rows scored between two job.check() calls


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



class TableCache:
    """What every query of one table shares: its rows' inverse norms, each modality's rows and
    ``pair_rows`` per modality pair (each walks every row)."""

    def __init__(self, table):
        self.table = table
        self.modalities = table.modalities
        self._pairs: dict[tuple[str, str], tuple[Pairs, dict]] = {}
        self._rows: dict[str, np.ndarray] = {}
        self._inverse = None

    def rows(self, modality: str) -> np.ndarray:
        if modality not in self._rows:
            self._rows[modality] = self.table.rows(modality)
        return self._rows[modality]

    def pairs(self, a: str, b: str) -> tuple[Pairs, dict]:
        """The pairs of ``a`` and ``b`` and sample id → its index among them."""
        if (a, b) not in self._pairs:
            pairs = pair_rows(self.table, a, b)
            self._pairs[(a, b)] = pairs, {sid: i for i, sid in enumerate(pairs.sample_ids.tolist())}
        return self._pairs[(a, b)]

    def inverse_norms(self) -> np.ndarray:
        if self._inverse is None:
            norms = np.linalg.norm(self.table.vectors, axis=1)
            self._inverse = np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 0.0).astype(np.float32)
        return self._inverse


class _Unit:
    """Rows of the table as :func:`~.retrieval.normalise` makes them (the bits ``mmstudio align`` scores),
    made when indexed: ``_Unit(vectors, gallery)[i]`` is the unit vector of table row ``gallery[i]``."""

    def __init__(self, vectors: np.ndarray, rows: np.ndarray):
        self.vectors, self.rows = vectors, rows

    def __getitem__(self, index) -> np.ndarray:
        return normalise(self.vectors[self.rows[index]])


def cosines(table, vector, cache: TableCache | None = None, job=None) -> tuple[np.ndarray, np.ndarray]:
    """``vector``'s cosine with every row of ``table`` (float32, to about 1e-7), in chunks of rows, and
    the unit query vector."""
    job = job or Job()
    cache = cache or TableCache(table)
    q = normalise(np.asarray(vector, np.float32).reshape(1, -1))[0]
    scores = np.empty(len(table), np.float32)
    for start in range(0, len(table), CHUNK_ROWS):
        scores[start:start + CHUNK_ROWS] = table.vectors[start:start + CHUNK_ROWS] @ q
        job.check()
    return scores * cache.inverse_norms(), q


def gallery_hits(table, modality: str, gallery: np.ndarray, scores: np.ndarray, q: np.ndarray, k: int,
                 partner: int | None = None, total: int | None = None) -> Hits:
    """The top ``k`` of ``gallery`` (table rows of ``modality``, ``total`` of them in the table) by
    ``scores`` (every row's cosine with the unit query ``q``), and the rank of ``gallery[partner]`` when
    ``partner`` (a position in it) is given."""
    unit = _Unit(table.vectors, gallery)
    block = scores[gallery]
    positions, values = ordered_top(block, k, partner, lambda at: exact_scores(q, unit[at]))
    total = len(table.rows(modality)) if total is None else total
    hits = Hits(modality, gallery, gallery[positions], values, total)
    if partner is not None:
        hits.partner = int(gallery[partner])
        hits.partner_rank = int(partner_ranks(block[None, :], [partner], q[None, :], unit)[0])
        hits.partner_score = float(exact_scores(q, unit[partner:partner + 1])[0])
    return hits


def browse_row(table, row: int, k: int = K, *, cache: TableCache | None = None, job=None) -> Browse:
    """Row ``row`` of ``table`` as the query: the top ``k`` of every other modality and its partner's rank
    (see the module's rule for the gallery and the rank)."""
    row = int(row)
    cache = cache or TableCache(table)
    a, sid = str(table.modality[row]), table.sample_id[row]
    result = Browse(row, a, None if sid is None else str(sid))
    scores, q = cosines(table, table.vectors[row], cache, job)
    for b in cache.modalities:
        if b == a:
            continue
        paired, index = cache.pairs(a, b)
        where = index.get(sid) if sid is not None else None
        gallery = paired.rows_b if where is not None else cache.rows(b)
        result.hits[b] = hits = gallery_hits(table, b, gallery, scores, q, k, where, len(cache.rows(b)))
        hits.paired_with = a if where is not None else None
    return result


def browse_vector(table, vector, k: int = K, *, cache: TableCache | None = None, job=None) -> Browse:
    """A vector (a typed text, embedded) as the query: the top ``k`` of every modality of ``table``."""
    cache = cache or TableCache(table)
    result = Browse(None, None, None)
    scores, q = cosines(table, vector, cache, job)
    for b in cache.modalities:
        result.hits[b] = gallery_hits(table, b, cache.rows(b), scores, q, k)
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
