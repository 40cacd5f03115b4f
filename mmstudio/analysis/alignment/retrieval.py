"""Cross-modal retrieval: where each query's true partner lands among the gallery.

Every query (a row of one modality) has one true partner in the gallery (the other modality's
row of the same sample). Its **rank** is 1-based: 1 means the partner is the most similar
gallery item. Similarity is the cosine (dot product of L2-normalised vectors).

**Ties are broken against the query**: a gallery item whose similarity equals the partner's
counts as ranked ahead of it, so ``rank = 1 + #(s > s_partner) + #(s == s_partner, other)``.
A model that maps everything to one point therefore scores the worst rank, not the best, and
the result never depends on the order of the rows. Label-level lists follow the same rule:
among equally similar items, those without the query's label come first.

Metrics: R@k (fraction of queries with rank ≤ k), median and mean rank, mAP@10 (with one
relevant item this is the mean reciprocal rank cut at 10: 1/rank when rank ≤ 10, else 0), and,
where labels exist, label-level retrieval in which every gallery item with the query's label is
relevant: label R@1 (the first item has the query's label) and label mAP@10 with
AP@10 = Σ_{i≤10} P@i·rel_i / min(10, R), R the number of relevant items. Queries without a
label, or whose label no gallery item has, are left out of the label metrics.

Large sets are scored in blocks of the similarity matrix (``block_elements`` values at a time, 64 MiB
of float32 by default), so 20,000 × 20,000 never sits in memory at once: up to ``DENSE_ELEMENTS``
similarities in row blocks with numpy, above that in tiles (queries × a slice of the gallery) that a
compiled pass reduces to counts (:mod:`mmstudio.analysis.alignment.chunked`) — the same ranks and label
metrics, several times faster. Above a size :func:`retrieve` can score a seeded random sample of the
queries, each still ranked among the whole gallery (:mod:`mmstudio.analysis.alignment.scope`); the
result then says so and carries 95 % intervals (:meth:`Retrieval.summary`).

A float32 product rounds differently with the shape of the block and the BLAS routine (by about
1e-7), which would move a partner by a place where another item scores within that of it. So the
items that score within ``TIE_WINDOW`` of the partner are scored again in float64 and rounded to
float32 (:func:`partner_ranks`): the rank is then the same whether the queries come all at once
(``mmstudio align``) or one by one (the window's retrieval browser).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmstudio.analysis.alignment.scope import Scope, mean_interval, median_interval, share_interval
from mmstudio.core.jobs import Job

K_VALUES = (1, 5, 10)
TOP = 10
BLOCK_ELEMENTS = 1 << 24
TORCH_TOPK_ELEMENTS = 1 << 22  # blocks at least this large find their top 10 with torch
DENSE_ELEMENTS = 1 << 26  # scored queries × gallery items up to this: numpy row blocks; above: compiled tiles
KEEP_SIMILARITY = 2048  # keep the full matrix on the result up to this many queries × gallery rows
TIE_WINDOW = 1e-5  # scores this close to the partner's are compared again in float64 (float32 noise: ~1e-7)


def normalise(x) -> np.ndarray:
    """Rows scaled to unit L2 norm (float32); all-zero rows stay zero."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1).astype(np.float32)


def similarity_matrix(queries, gallery) -> np.ndarray:
    """Cosine similarity, queries × gallery (float32)."""
    return normalise(queries) @ normalise(gallery).T


def similarity_blocks(queries, gallery, block_elements: int = BLOCK_ELEMENTS, *, normalised: bool = False):
    """Yield ``(start, block)``: rows ``start:start+len(block)`` of the cosine similarity matrix
    (``normalised``: the rows are unit vectors already, as :func:`normalise` returns them)."""
    q, g = (queries, gallery) if normalised else (normalise(queries), normalise(gallery))
    rows = max(1, block_elements // max(1, len(g)))
    for start in range(0, len(q), rows):
        yield start, q[start:start + rows] @ g.T


def exact_scores(query: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """Cosines of unit float32 vectors summed in float64 and rounded to float32: the same bits whatever
    the order of the sum (but for a value within 1e-16 of a rounding boundary)."""
    return (np.asarray(gallery, np.float64) @ np.asarray(query, np.float64)).astype(np.float32)


def partner_ranks(block, targets, queries, gallery) -> np.ndarray:
    """:func:`ranks_from_similarity` for a block of the similarity of unit ``queries`` (the block's rows)
    and ``gallery``, with the items within ``TIE_WINDOW`` of the partner compared by :func:`exact_scores`."""
    block = np.asarray(block)
    targets = np.asarray(targets, dtype=np.int64)
    ranks = ranks_from_similarity(block, targets)
    rows = np.arange(len(block))
    true = block[rows, targets]
    near = (block >= (true - TIE_WINDOW)[:, None]) & (block <= (true + TIE_WINDOW)[:, None])
    near[rows, targets] = False
    for r in np.flatnonzero(near.any(axis=1) & np.isfinite(true)):
        cols = np.flatnonzero(near[r])
        scores = exact_scores(queries[r], gallery[cols])
        partner = exact_scores(queries[r], gallery[targets[r]:targets[r] + 1])[0]
        ranks[r] += int((scores >= partner).sum()) - int((block[r, cols] >= true[r]).sum())
    return ranks


def ranks_from_similarity(sim, targets=None) -> np.ndarray:
    """1-based rank of each row's target column (default: the diagonal), ties against the query."""
    sim = np.asarray(sim)
    n = sim.shape[0]
    targets = np.arange(n) if targets is None else np.asarray(targets, dtype=np.int64)
    true = sim[np.arange(n), targets][:, None]
    greater = (sim > true).sum(axis=1)
    tied = (sim == true).sum(axis=1) - 1
    ranks = 1 + greater + tied
    return np.where(np.isfinite(true[:, 0]), ranks, sim.shape[1]).astype(np.int64)


def label_codes(query_labels, gallery_labels) -> tuple[np.ndarray, np.ndarray] | None:
    """Integer codes shared by both sides; a missing label never matches (−1 query, −2 gallery).
    None when no query or no gallery item has a label."""
    if query_labels is None or gallery_labels is None:
        return None
    q = [None if _missing(v) else str(v) for v in query_labels]
    g = [None if _missing(v) else str(v) for v in gallery_labels]
    if all(v is None for v in q) or all(v is None for v in g):
        return None
    names = {v: i for i, v in enumerate(sorted({v for v in q + g if v is not None}))}
    return (np.array([names[v] if v is not None else -1 for v in q], dtype=np.int64),
            np.array([names[v] if v is not None else -2 for v in g], dtype=np.int64))


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip())


def _top_indices(sim: np.ndarray, kk: int) -> np.ndarray:
    """Indices of a set of ``kk`` largest values per row, in no order (ties at the cut: any of them).

    torch's top-k is ~6× faster than numpy's argpartition on large blocks; small ones stay in
    numpy (no torch import for them)."""
    if sim.size >= TORCH_TOPK_ELEMENTS and sim.dtype == np.float32:
        import torch

        return torch.topk(torch.from_numpy(np.ascontiguousarray(sim)), kk, dim=1, sorted=False).indices.numpy()
    return np.argpartition(sim, sim.shape[1] - kk, axis=1)[:, sim.shape[1] - kk:]


def label_scores(sim, query_codes, gallery_codes, k: int = TOP) -> tuple[np.ndarray, np.ndarray]:
    """Per query: label hit at 1 and label AP@k (NaN where the query has no label or no relevant item)."""
    sim = np.asarray(sim)
    rel = gallery_codes[None, :] == query_codes[:, None]
    n_rel = rel.sum(axis=1)
    kk = min(k, sim.shape[1])
    top = _top_indices(sim, kk)
    vals = np.take_along_axis(sim, top, axis=1)
    kth = vals.min(axis=1)
    boundary_ties = (sim >= kth[:, None]).sum(axis=1) > kk
    for r in np.flatnonzero(boundary_ties):  # ties at the cut: take the tied items without the label first
        above = np.flatnonzero(sim[r] > kth[r])
        tied = sim[r] == kth[r]
        need = kk - len(above)
        tied_other = np.flatnonzero(tied & ~rel[r])[:need]
        tied_same = np.flatnonzero(tied & rel[r])[:need - len(tied_other)]
        top[r] = np.concatenate([above, tied_other, tied_same])
    vals = np.take_along_axis(sim, top, axis=1)
    top_rel = np.take_along_axis(rel, top, axis=1)
    order = np.lexsort((top_rel, -vals), axis=1)  # by similarity, irrelevant first among equals
    hits = np.take_along_axis(top_rel, order, axis=1).astype(np.float64)
    precision = np.cumsum(hits, axis=1) / np.arange(1, kk + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = (precision * hits).sum(axis=1) / np.minimum(k, n_rel)
    valid = (query_codes >= 0) & (n_rel > 0)
    return np.where(valid, hits[:, 0], np.nan), np.where(valid, ap, np.nan)


@dataclass
class Retrieval:
    """One direction of cross-modal retrieval (``query`` modality → ``gallery`` modality)."""

    query: str
    gallery: str
    sample_ids: np.ndarray  # the query rows' samples, in the order of ``ranks``
    ranks: np.ndarray  # 1-based rank of each query's partner
    label_hit1: np.ndarray | None = None  # per query: 1/0, NaN where it has no label (or no match)
    label_ap10: np.ndarray | None = None
    similarity: np.ndarray | None = None  # queries × gallery, kept for small sets
    best: np.ndarray | None = None  # several relevant items per query: the gallery index of the best-placed one
    scope: Scope | None = None  # the queries scored (None: all of them)
    block: int | None = None  # queries per block of the similarity matrix
    label_total: int | None = None  # queries with a label some gallery item shares, sampled or not
    terms: dict | None = None  # per query, the contrastive-loss terms (:func:`.losses.losses_from_terms`)

    def __len__(self) -> int:
        return len(self.ranks)

    def recall(self, k: int) -> float:
        return float(np.mean(self.ranks <= k)) if len(self.ranks) else float("nan")

    @property
    def median_rank(self) -> float:
        return float(np.median(self.ranks)) if len(self.ranks) else float("nan")

    @property
    def mean_rank(self) -> float:
        return float(np.mean(self.ranks)) if len(self.ranks) else float("nan")

    @property
    def map10(self) -> float:
        """mAP@10 with one relevant item: the mean of 1/rank for ranks ≤ 10 (0 beyond)."""
        if not len(self.ranks):
            return float("nan")
        return float(np.mean(np.where(self.ranks <= TOP, 1.0 / self.ranks, 0.0)))

    @property
    def label_queries(self) -> int:
        return 0 if self.label_hit1 is None else int(np.isfinite(self.label_hit1).sum())

    @property
    def label_r1(self) -> float | None:
        return _nanmean(self.label_hit1) if self.label_queries else None

    @property
    def label_map10(self) -> float | None:
        return _nanmean(self.label_ap10) if self.label_queries else None

    def worst(self, n: int | None = None) -> list[tuple[str, int]]:
        """``(sample_id, rank)`` from the worst rank down (ties by sample id)."""
        return [(str(self.sample_ids[i]), int(self.ranks[i])) for i in self.worst_queries(n)]

    def worst_queries(self, n: int | None = None) -> list[int]:
        """Query indices from the worst rank down (ties by sample id, then query order)."""
        return sorted(range(len(self.ranks)), key=lambda i: (-int(self.ranks[i]), str(self.sample_ids[i]), i))[:n]

    def summary(self) -> dict:
        """The metrics, how the queries were scored (``scope``) and, for a sample, 95 % intervals for the
        values over all queries (``intervals``: metric → [low, high])."""
        out = {"query": self.query, "gallery": self.gallery, "n": len(self)}
        out.update({f"R@{k}": self.recall(k) for k in K_VALUES})
        out.update({"median_rank": self.median_rank, "mean_rank": self.mean_rank, "mAP@10": self.map10,
                    "label_R@1": self.label_r1, "label_mAP@10": self.label_map10,
                    "label_queries": self.label_queries})
        scope = self.scope or Scope(len(self))
        out["scope"] = scope.to_dict(self.block)
        if scope.sampled:
            out["intervals"] = self.intervals()
        return out

    def intervals(self) -> dict:
        """95 % intervals for the metrics over all the direction's queries (see :mod:`.scope`)."""
        total = (self.scope or Scope(len(self))).total
        ranks = self.ranks
        out = {f"R@{k}": share_interval(ranks <= k, total) for k in K_VALUES}
        out["median_rank"] = median_interval(ranks, total)
        out["mean_rank"] = mean_interval(ranks, total, low=1.0)
        out["mAP@10"] = mean_interval(np.where(ranks <= TOP, 1.0 / ranks, 0.0), total, low=0.0, high=1.0)
        if self.label_queries:
            valid = np.isfinite(self.label_hit1)
            label_total = self.label_total if self.label_total is not None else total
            out["label_R@1"] = share_interval(self.label_hit1[valid], label_total)
            out["label_mAP@10"] = mean_interval(self.label_ap10[valid], label_total, low=0.0, high=1.0)
        return out


def _nanmean(x) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(np.nanmean(x)) if np.isfinite(x).any() else float("nan")


def retrieval_from_similarity(sim, *, query_labels=None, gallery_labels=None, sample_ids=None,
                              targets=None, names=("query", "gallery")) -> Retrieval:
    """Score a given similarity matrix (row i's partner is column ``targets[i]``, default i)."""
    sim = np.asarray(sim)
    ranks = ranks_from_similarity(sim, targets)
    hit1 = ap = None
    codes = label_codes(query_labels, gallery_labels)
    if codes is not None:
        hit1, ap = label_scores(sim, *codes)
    ids = np.arange(len(sim)).astype(str).astype(object) if sample_ids is None else np.asarray(sample_ids)
    return Retrieval(names[0], names[1], ids, ranks, hit1, ap, sim)


def retrieve(queries, gallery, *, query_labels=None, gallery_labels=None, sample_ids=None,
             names=("query", "gallery"), keep_similarity: int = KEEP_SIMILARITY,
             block_elements: int = BLOCK_ELEMENTS, scope: Scope | None = None, method: str = "auto",
             temperature: float | None = None, job=None) -> Retrieval:
    """Paired retrieval: ``queries[i]``'s partner is ``gallery[i]``; cosine similarity, in blocks.

    ``scope``: score only these queries (:func:`.scope.plan`), each among the whole gallery; ``method``:
    ``"dense"`` (numpy row blocks), ``"chunked"`` (compiled tiles) or ``"auto"`` (dense up to
    ``DENSE_ELEMENTS`` similarities). The full similarity matrix is kept on the result when every query is
    scored and both sides have at most ``keep_similarity`` rows. ``temperature``: on the chunked path, also
    gather each query's contrastive-loss terms in the same pass (``terms`` on the result)."""
    job = job or Job()
    n = len(queries)
    if len(gallery) != n:
        raise ValueError(f"paired retrieval needs as many gallery rows as queries ({len(gallery)} vs {n})")
    scope = scope or Scope(n)
    rows = np.arange(n) if scope.rows is None else scope.rows
    codes = label_codes(query_labels, gallery_labels)
    q = normalise(np.asarray(queries)[rows] if scope.sampled else queries)
    g = normalise(gallery)
    keep = n <= keep_similarity and not scope.sampled
    terms = None
    dense = method == "dense" or (method == "auto" and len(q) * n <= DENSE_ELEMENTS)
    q_codes = codes[0][rows] if codes is not None else None
    if dense:
        ranks, hit1, ap, block, sim = _dense(q, g, rows, q_codes, codes, keep, block_elements, job)
    else:
        from mmstudio.analysis.alignment.chunked import scan

        found = scan(q, g, rows, np.arange(n), codes=None if codes is None else (q_codes, codes[1]),
                     temperature=temperature, tile_elements=block_elements, job=job)
        ranks, hit1, ap, block = found.ranks, found.label_hit1, found.label_ap10, found.rows
        sim = similarity_matrix(q, g) if keep else None
        if temperature is not None:
            terms = {name: getattr(found, name) for name in ("partner", "lse", "neg_max", "neg_min", "semi_max")}
    ids = np.arange(n).astype(str).astype(object) if sample_ids is None else np.asarray(sample_ids)
    return Retrieval(names[0], names[1], ids[rows], ranks, hit1, ap, sim, None, scope, block,
                     label_total(codes), terms)


def _dense(q, g, rows, q_codes, codes, keep: bool, block_elements: int, job):
    """Ranks (and label metrics) of unit queries ``q`` (their partners: ``g[rows]``), in numpy row blocks."""
    ranks = np.empty(len(q), dtype=np.int64)
    hit1 = np.empty(len(q)) if codes is not None else None
    ap = np.empty(len(q)) if codes is not None else None
    blocks, block = [], min(len(q), max(1, block_elements // max(1, len(g))))  # as similarity_blocks takes them
    for start, part in similarity_blocks(q, g, block_elements, normalised=True):
        stop = start + len(part)
        ranks[start:stop] = partner_ranks(part, rows[start:stop], q[start:stop], g)
        if codes is not None:
            hit1[start:stop], ap[start:stop] = label_scores(part, q_codes[start:stop], codes[1])
        if keep:
            blocks.append(part)
        job.check()
    sim = np.concatenate(blocks) if keep and blocks else (np.zeros((0, 0), np.float32) if keep else None)
    return ranks, hit1, ap, block, sim


def label_total(codes) -> int | None:
    """Queries with a label that some gallery item has (those the label metrics count), or None."""
    if codes is None:
        return None
    q, g = codes
    present = np.zeros(int(max(q.max(initial=-1), g.max(initial=-1))) + 1, bool)
    present[g[g >= 0]] = True
    return int(((q >= 0) & present[np.maximum(q, 0)]).sum())
