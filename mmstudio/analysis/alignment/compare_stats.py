"""The statistics ``mmstudio compare`` gives two embeddings of the same items (rows paired: ``a[i]`` and
``b[i]`` are the same item under two models; the widths may differ).

- **Linear CKA** (:func:`mmstudio.analysis.alignment.procrustes.linear_cka`) with a **permutation
  baseline**: the CKA of ``a`` against ``b`` with its rows shuffled (``PERMUTATIONS`` seeded shuffles),
  their mean and 95 % quantile: what CKA reads on these shapes when the pairing means nothing.
- **Held-out maps** ``a → b``: fitted on a seeded train split (70 %), scored on the held-out rest as the
  residual Σ‖ŷ − y‖² / Σ‖y − ȳ‖² (ȳ the train mean: 1 − R²), on L2-normalised rows. The linear map is
  the ridge least squares of :func:`mmstudio.analysis.alignment.maps.fit_linear`; when the widths are
  equal, the orthogonal Procrustes map (both sides centred on the train means, a rotation and one scale)
  too. Each with the same score under shuffled pairs (fitted and scored on shuffled ``b``).
- **Neighbourhood Jaccard**: each row's k nearest rows (cosine, itself left out) in ``a`` and in ``b``;
  |N_a ∩ N_b| / |N_a ∪ N_b| per row, and the chance level of two random k-sets among n − 1 rows,
  E|∩| = k² / (n − 1), J ≈ E|∩| / (2k − E|∩|).
- **Paired bootstrap**: the queries (or pairs) resampled with replacement, the same resamples for both
  models, the difference of the means B − A on each; the 95 % interval is the 2.5 and 97.5 percentiles.
"""

from __future__ import annotations

import numpy as np

from mmstudio.analysis.alignment.maps import fit_linear
from mmstudio.analysis.alignment.procrustes import linear_cka
from mmstudio.analysis.alignment.retrieval import normalise, similarity_blocks

PERMUTATIONS = 20
RESAMPLES = 1000
TRAIN_FRACTION = 0.7
K = 10
CHUNK_ELEMENTS = 1 << 22  # resamples × rows held at once


def cka_with_baseline(a, b, *, permutations: int = PERMUTATIONS, seed: int = 0) -> dict:
    """Linear CKA of the paired rows and of ``permutations`` row shuffles of ``b``."""
    rng = np.random.default_rng(seed)
    shuffled = np.array([linear_cka(a, b[rng.permutation(len(b))]) for _ in range(permutations)])
    return {"value": linear_cka(a, b), "permuted_mean": float(shuffled.mean()),
            "permuted_q95": float(np.quantile(shuffled, 0.95)), "permutations": permutations}


def _split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    n_train = int(round(TRAIN_FRACTION * n))
    return np.sort(order[:n_train]), np.sort(order[n_train:])


def _residual(pred, y, y_mean) -> float:
    total = float(np.sum((y - y_mean) ** 2))
    return float(np.sum((pred - y) ** 2) / total) if total > 0 else float("nan")


def _orthogonal(x_train, y_train):
    """A rotation and one scale of the centred train rows of x onto y's: ``x ↦ (x − mx) s R + my``."""
    mx, my = x_train.mean(axis=0), y_train.mean(axis=0)
    xc, yc = x_train - mx, y_train - my
    u, s, vt = np.linalg.svd(xc.T @ yc)
    norm = float(np.sum(xc * xc))
    scale = float(s.sum() / norm) if norm > 0 else 0.0
    rotation = u @ vt
    return lambda x: (x - mx) @ rotation * scale + my


def _held_out(x, y, train, test, orthogonal: bool) -> dict:
    linear = fit_linear(x[train], y[train])
    y_mean = y[train].mean(axis=0)
    out = {"linear": _residual(linear(x[test]), y[test], y_mean)}
    if orthogonal:
        out["orthogonal"] = _residual(_orthogonal(x[train], y[train])(x[test]), y[test], y_mean)
    return out


def held_out_maps(a, b, *, permutations: int = PERMUTATIONS, seed: int = 0) -> dict:
    """Held-out residuals of the maps ``a → b`` (see the module's note), with their shuffled baselines."""
    x = normalise(a).astype(np.float64)
    y = normalise(b).astype(np.float64)
    train, test = _split(len(x), seed)
    orthogonal = x.shape[1] == y.shape[1]
    out = {"train": len(train), "held_out": len(test), **_held_out(x, y, train, test, orthogonal)}
    rng = np.random.default_rng(seed + 1)
    shuffled = [_held_out(x, y[rng.permutation(len(y))], train, test, orthogonal) for _ in range(permutations)]
    for name in ("linear", "orthogonal") if orthogonal else ("linear",):
        values = np.array([s[name] for s in shuffled])
        out[f"{name}_permuted_mean"] = float(values.mean())
        out[f"{name}_permuted_q05"] = float(np.quantile(values, 0.05))
    return out


def nearest(x, k: int = K) -> np.ndarray:
    """Each row's ``k`` nearest other rows by cosine (n × k indices, in no order), in row blocks."""
    x = normalise(x)
    kk = min(k, len(x) - 1)
    out = np.empty((len(x), kk), np.int64)
    for start, block in similarity_blocks(x, x, normalised=True):
        block[np.arange(len(block)), np.arange(start, start + len(block))] = -np.inf
        out[start:start + len(block)] = np.argpartition(-block, kk - 1, axis=1)[:, :kk]
    return out


def neighbour_jaccard(a, b, k: int = K) -> tuple[np.ndarray, float]:
    """Per row: the Jaccard index of its k nearest rows in ``a`` and in ``b``; and its chance level."""
    na, nb = nearest(a, k), nearest(b, k)
    kk = na.shape[1]
    n = len(na)
    both = np.sort(np.hstack([na, nb]), axis=1)  # each side's k items are distinct: a repeat is a shared one
    inter = (both[:, 1:] == both[:, :-1]).sum(axis=1)
    jaccard = inter / (2 * kk - inter) if kk else np.ones(n)
    expected = kk * kk / max(n - 1, 1)
    return jaccard.astype(np.float64), float(expected / (2 * kk - expected)) if kk else float("nan")


class Resamples:
    """Seeded bootstrap resamples of ``n`` items, drawn once and used for every statistic of a comparison."""

    def __init__(self, n: int, resamples: int = RESAMPLES, seed: int = 0):
        self.n, self.resamples, self.seed = n, resamples, seed

    def counts(self):
        """Yield count matrices (chunk × n): how often each item is drawn in each resample."""
        rng = np.random.default_rng(self.seed)
        chunk = max(1, CHUNK_ELEMENTS // max(self.n, 1))
        for start in range(0, self.resamples, chunk):
            m = min(chunk, self.resamples - start)
            idx = rng.integers(0, self.n, (m, self.n))
            counts = np.zeros((m, self.n))
            np.add.at(counts, (np.repeat(np.arange(m), self.n), idx.ravel()), 1.0)
            yield counts

    def difference(self, value_a, value_b) -> dict:
        """Mean of ``value_b`` − mean of ``value_a`` (per-item values) and its 95 % paired interval."""
        value_a, value_b = np.asarray(value_a, np.float64), np.asarray(value_b, np.float64)
        diff = value_b - value_a
        draws = np.concatenate([c @ diff / self.n for c in self.counts()])
        return interval(float(diff.mean()), draws)

    def gap_difference(self, a1, a2, b1, b2) -> dict:
        """The change B − A of the modality gap ‖mean(n(x1)) − mean(n(x2))‖ over resampled pairs."""
        da = normalise(a1).astype(np.float64) - normalise(a2).astype(np.float64)
        db = normalise(b1).astype(np.float64) - normalise(b2).astype(np.float64)
        draws = np.concatenate([np.linalg.norm(c @ db / self.n, axis=1) - np.linalg.norm(c @ da / self.n, axis=1)
                                for c in self.counts()])
        observed = float(np.linalg.norm(db.mean(axis=0)) - np.linalg.norm(da.mean(axis=0)))
        return interval(observed, draws)


def interval(observed: float, draws) -> dict:
    """An observed value with the 2.5 and 97.5 percentiles of its bootstrap draws."""
    low, high = np.quantile(np.asarray(draws), [0.025, 0.975]) if len(draws) else (np.nan, np.nan)
    return {"value": observed, "low": float(low), "high": float(high),
            "excludes_0": bool(low > 0 or high < 0)}
