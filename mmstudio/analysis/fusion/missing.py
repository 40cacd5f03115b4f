"""Test-time conditions (missing modalities, noise, mismatch) and the imputation of what is missing.

All randomness is drawn once per seed and kept (:class:`Draws`), and a knob only rescales or
thresholds it, so moving a slider costs no new random numbers and the conditions are *nested*:
the samples missing at rate 0.3 are among those missing at rate 0.5, the noise at σ = 0.4 is
twice the noise at σ = 0.2, the samples mismatched at 10% are among those at 20%.

- **missing** at rate r: sample i loses modality m when ``u[i, m] < r``.
- **noise** at level σ: ``normalise(x + σ·ε/√D)`` with ε standard normal, so σ is the norm of
  the noise relative to the unit-norm embedding (σ = 1: as much noise as signal).
- **mismatch** at fraction f: sample i's vector of modality m is replaced by another (fixed,
  random) sample's vector when ``u'[i, m] < f``, as when files get paired with the wrong item.

Imputation (:class:`Imputer`) fills absent vectors for the methods that need a full input:
``zero``; ``mean`` (the training mean of the modality); ``cross-modal`` (a ridge map from the
modalities the sample has to the one it lacks, one map per (target, set of sources), fitted on
the training split, the prediction L2-normalised like an embedding; the mean when nothing is
present). All maps fitted on the same rows come from one set of moments of the concatenated
modalities, and maps with the same sources share one eigen-decomposition. Modality dropout (the ``dropout`` strategy) uses zero-filled input for heads trained
with dropout (:mod:`mmstudio.analysis.fusion.heads`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from mmstudio.analysis.fusion.ridge import RidgeMap, eigh, one_blas_thread, ridge_from_moments

IMPUTATIONS = ("zero", "mean", "cross-modal", "dropout")


@dataclass
class Draws:
    """Random numbers for the held-out rows, drawn once per seed."""

    u_missing: np.ndarray   # (n, M) uniform
    u_mismatch: np.ndarray  # (n, M) uniform
    partner: np.ndarray     # (n, M) index of the row whose vector a mismatch borrows
    seed: int
    dim: int
    _noise: np.ndarray | None = None

    def noise(self) -> np.ndarray:
        if self._noise is None:
            rng = np.random.default_rng([self.seed, 2])
            self._noise = rng.standard_normal((*self.u_missing.shape, self.dim), dtype=np.float32)
            self._noise /= np.sqrt(self.dim)
        return self._noise


def make_draws(present: np.ndarray, dim: int, seed: int) -> Draws:
    n, m = present.shape
    rng = np.random.default_rng([seed, 1])
    u_missing = rng.random((n, m))
    u_mismatch = rng.random((n, m))
    partner = np.zeros((n, m), np.int64)
    for j in range(m):
        pool = np.flatnonzero(present[:, j])
        if len(pool) < 2:
            partner[:, j] = np.arange(n)
            continue
        # another sample, uniformly: draw among the pool less oneself, stepping over one's own place
        own = present[:, j]
        idx = np.where(own, rng.integers(0, len(pool) - 1, n), rng.integers(0, len(pool), n))
        idx = np.where(own & (idx >= np.searchsorted(pool, np.arange(n))), idx + 1, idx)
        pick = pool[idx]
        partner[:, j] = pick
    return Draws(u_missing, u_mismatch, partner, seed, dim)


def rates(values: dict | None, modalities) -> np.ndarray:
    """A per-modality level array from ``{"audio": 0.5}`` (``"all"`` sets every modality)."""
    out = np.zeros(len(modalities))
    for name, value in (values or {}).items():
        value = float(value)
        if name == "all":
            out[:] = value
        elif name in modalities:
            out[modalities.index(name)] = value
        else:
            raise ValueError(f"unknown modality {name!r} (the lab has {', '.join(modalities)})")
    return out


def apply_conditions(vectors: np.ndarray, present: np.ndarray, draws: Draws, missing: np.ndarray,
                     noise: np.ndarray, mismatch: np.ndarray, rows: np.ndarray | None = None):
    """Vectors and presence of held-out rows under the conditions: mismatch, then noise, then missing.

    ``vectors``/``present`` are all held-out rows (the mismatch partners come from them); ``rows``
    picks the rows to return (default all). Returns (vectors, present, mismatched)."""
    rows = np.arange(len(vectors)) if rows is None else rows
    v = vectors[rows]
    p = present[rows].copy()
    mismatched = np.zeros(p.shape, bool)
    if np.any(mismatch > 0) or np.any(noise > 0):
        v = v.copy()
    for j in np.flatnonzero(mismatch > 0):
        swap = (draws.u_mismatch[rows, j] < mismatch[j]) & p[:, j]
        v[swap, j] = vectors[draws.partner[rows[swap], j], j]
        mismatched[:, j] = swap
    if np.any(noise > 0):
        eps = draws.noise()
        for j in np.flatnonzero(noise > 0):
            x = v[:, j] + noise[j] * eps[rows, j]
            x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
            v[:, j] = np.where(p[:, j:j + 1], x, 0.0)
    if np.any(missing > 0):
        p &= ~(draws.u_missing[rows] < missing[None, :])
    return v, p, mismatched


class Imputer:
    """Fills absent modality vectors: zero, training mean or cross-modal ridge maps."""

    def __init__(self, means: np.ndarray, maps: dict[tuple[int, tuple[int, ...]], RidgeMap]):
        self.means = means      # (M, D)
        self.maps = maps        # (target, sources) → ridge map from the concatenated sources

    @classmethod
    def fit(cls, vectors: np.ndarray, present: np.ndarray, cross_modal: bool = True) -> "Imputer":
        """``vectors``/``present``: the training rows. One ridge map per target and set of sources,
        fitted on the rows that have the target and every source."""
        n, m, dim = vectors.shape
        means = np.stack([vectors[present[:, j], j].mean(axis=0) if present[:, j].any() else np.zeros(dim)
                          for j in range(m)]).astype(np.float32)
        maps = {}
        if not (cross_modal and m >= 2):
            return cls(means, maps)
        moments: dict[bytes, tuple] = {}   # row set → (count, mean, centred Gram) of all modalities
        eigs: dict[tuple, tuple] = {}      # (row set, sources) → eigen-decomposition of the sources' Gram
        with one_blas_thread():
            for target in range(m):
                others = [j for j in range(m) if j != target]
                for size in range(1, len(others) + 1):
                    for sources in combinations(others, size):
                        rows = present[:, [target, *sources]].all(axis=1)
                        count = int(rows.sum())
                        if count < 2:
                            continue
                        key = np.packbits(rows).tobytes()
                        if key not in moments:
                            x = vectors[rows].reshape(count, m * dim)
                            mu = x.mean(axis=0, dtype=np.float64)
                            xc = x - mu.astype(np.float32)
                            moments[key] = (count, mu, (xc.T @ xc).astype(np.float64))
                        count, mu, gram = moments[key]
                        src = np.concatenate([np.arange(j * dim, (j + 1) * dim) for j in sources])
                        tgt = np.arange(target * dim, (target + 1) * dim)
                        if (key, sources) not in eigs:
                            eigs[(key, sources)] = eigh(gram[np.ix_(src, src)])
                        maps[(target, sources)] = ridge_from_moments(
                            gram[np.ix_(src, src)], gram[np.ix_(src, tgt)], float(np.trace(gram[np.ix_(tgt, tgt)])),
                            mu[src], mu[tgt], count, eig=eigs[(key, sources)])
        return cls(means, maps)

    def fill(self, vectors: np.ndarray, present: np.ndarray, strategy: str) -> np.ndarray:
        """A copy of ``vectors`` (n × M × D) with every absent entry filled by ``strategy``."""
        if strategy not in IMPUTATIONS:
            raise ValueError(f"impute must be one of {', '.join(IMPUTATIONS)}, not {strategy!r}")
        absent = ~present
        out = vectors.copy()
        if strategy in ("zero", "dropout"):
            out[absent] = 0.0
            return out
        out[absent] = np.broadcast_to(self.means[None], out.shape)[absent]
        if strategy == "mean" or not absent.any():
            return out
        patterns, inverse = np.unique(present, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for k, pattern in enumerate(patterns):
            sources = tuple(int(j) for j in np.flatnonzero(pattern))
            if not sources or len(sources) == len(pattern):
                continue
            rows = np.flatnonzero(inverse == k)
            x = vectors[rows][:, list(sources)].reshape(len(rows), -1)
            for target in np.flatnonzero(~pattern):
                ridge = self.maps.get((int(target), sources))
                if ridge is None:
                    continue
                guess = ridge.predict(x)
                guess /= np.maximum(np.linalg.norm(guess, axis=1, keepdims=True), 1e-12)
                out[rows, target] = guess
        return out
