"""Is one modality's embedding a linear function of the other's? A linear map against a small MLP.

Both maps are fitted on a train split of the pairs and scored on the held-out rest:

- **linear**: least squares with a bias, ridge-regularised, the ridge α picked by generalised
  cross-validation on the train split from a grid that includes α = 0 (plain least squares
  wins whenever it generalises; with fewer pairs than dimensions some α > 0 is needed);
- **MLP**: ``ŷ = (the linear map)(x) + V·GELU(U x + c)``, one hidden layer (256 units) trained
  in torch with Adam on what the linear map leaves (squared error, mini-batches), V started at
  0; the step with the lowest error on an inner validation slice of the train split is kept.
  So the MLP is the linear map plus whatever bend the data supports, and departs from it only
  where that helps.

Scores on the held-out split: R² = 1 − Σ‖y − ŷ‖² / Σ‖y − ȳ‖² (sklearn's ``r2_score`` with
``multioutput="variance_weighted"``), the normalised residual 1 − R², and R@1 of retrieving each
held-out y from its mapped x (cosine, ties against the query).

The diagnosis: **near-linear** when the MLP's held-out R² is within ``margin`` (0.05) of the
linear map's, **non-linear (twisted)** when it is better by more than that, and **unrelated**
when neither reaches R² = 0.1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmstudio.analysis.alignment.retrieval import ranks_from_similarity, similarity_matrix
from mmstudio.analysis.common.torch_threads import threads_for
from mmstudio.core.jobs import Job

MARGIN = 0.05
MIN_R2 = 0.1
ALPHAS = (0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)  # × the mean squared singular value of the centred X
MAX_PAIRS = 4000


@dataclass
class LinearMap:
    weight: np.ndarray  # d_in × d_out
    bias: np.ndarray
    alpha: float

    def __call__(self, x) -> np.ndarray:
        return np.asarray(x, dtype=np.float64) @ self.weight + self.bias


def fit_linear(x, y, alphas=ALPHAS) -> LinearMap:
    """Ridge least squares with an intercept, α by generalised cross-validation (GCV).

    Works from the eigen-decomposition of the smaller Gram matrix (d × d, or n × n when there
    are fewer pairs than dimensions), which is several times faster than an SVD of X here."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n = len(x)
    mx, my = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - mx, y - my
    wide = n < x.shape[1]
    lam, vec = np.linalg.eigh(xc @ xc.T if wide else xc.T @ xc)
    keep = lam > max(lam.max(initial=0.0), 0.0) * 1e-12
    lam = np.where(keep, lam, 0.0)
    # coefficients of Y on the left singular vectors U: Uᵀ Y = diag(1/s) Vᵀ Xᵀ Y, or directly Uᵀ Y when wide
    uty = vec.T @ yc if wide else (vec.T @ (xc.T @ yc)) / np.sqrt(np.where(keep, lam, 1.0))[:, None]
    uty[~keep] = 0.0
    power = np.sum(uty ** 2, axis=1)
    total = float(np.sum(yc ** 2))
    scale = float(lam[keep].mean()) if keep.any() else 1.0
    shrink = lambda alpha: np.where(keep, lam / np.where(keep, lam + alpha, 1.0), 0.0)  # noqa: E731
    best = None
    for rel in alphas:
        f = shrink(rel * scale)
        dof = float(f.sum()) + 1
        if dof >= n:
            continue
        rss = max(total - float(np.sum((2 * f - f ** 2) * power)), 0.0)
        gcv = rss / (1 - dof / n) ** 2
        if best is None or gcv < best[0] - 1e-12 * max(1.0, abs(best[0])):
            best = (gcv, rel * scale)
    alpha = best[1] if best is not None else alphas[-1] * scale  # too few pairs for GCV: the strongest
    f = shrink(alpha)
    root = np.sqrt(np.where(keep, lam, 1.0))
    if wide:  # W = Xᵀ U diag(f / λ) Uᵀ Y
        weight = xc.T @ (vec @ (np.where(keep, f / (root ** 2), 0.0)[:, None] * uty))
    else:  # W = V diag(f / s) Uᵀ Y
        weight = vec @ (np.where(keep, f / root, 0.0)[:, None] * uty)
    return LinearMap(weight, my - mx @ weight, float(alpha))


def r2_score(y, pred) -> float:
    """Variance-weighted R² (sklearn ``r2_score(..., multioutput="variance_weighted")``)."""
    y, pred = np.asarray(y, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    total = float(np.sum((y - y.mean(axis=0)) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / total if total > 0 else float("nan")


def fit_mlp(x, y, init: LinearMap, *, hidden: int = 256, steps: int = 200, lr: float = 1e-2, batch: int = 512,
            val_fraction: float = 0.15, seed: int = 0, job=None):
    """The linear map ``init`` plus a hidden layer trained on what it leaves; returns a function x → ŷ (numpy).

    Inputs and the residual are scaled to unit mean coordinate variance; Adam on mini-batches of
    ``batch`` rows (all of them when fewer); the hidden layer's output starts at zero, and the
    step with the lowest error on a ``val_fraction`` slice of the rows is kept (step 0 included,
    so the result is never worse than ``init`` there)."""
    job = job or Job()
    import torch

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    mx = x.mean(axis=0)
    sx = float(np.sqrt(np.mean((x - mx) ** 2))) or 1.0
    residual = y - init(x)
    sr = float(np.sqrt(np.mean(residual ** 2))) or 1.0
    gen = torch.Generator().manual_seed(seed)
    t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
    xs, rs = t((x - mx) / sx), t(residual / sr)
    order = torch.randperm(len(xs), generator=gen)
    n_val = max(1, int(round(len(xs) * val_fraction))) if len(xs) >= 10 else 0
    val, train = order[:n_val], order[n_val:]
    watch = val if n_val else train
    params = {"u": torch.randn(x.shape[1], hidden, generator=gen) / np.sqrt(x.shape[1]),
              "c": torch.zeros(hidden), "v": torch.zeros(hidden, y.shape[1])}
    for p in params.values():
        p.requires_grad_(True)

    def forward(inp, w=params):
        return torch.nn.functional.gelu(inp @ w["u"] + w["c"]) @ w["v"]

    opt = torch.optim.Adam(params.values(), lr=lr)
    best = (float(torch.mean(rs[watch] ** 2)), {k: p.detach().clone() for k, p in params.items()})
    with threads_for(min(batch, len(train)) * hidden * (x.shape[1] + y.shape[1])):
        for step in range(1, steps + 1):
            rows = train if len(train) <= batch else train[torch.randint(len(train), (batch,), generator=gen)]
            loss = torch.mean((forward(xs[rows]) - rs[rows]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 10 == 0 or step == steps:
                with torch.no_grad():
                    err = float(torch.mean((forward(xs[watch]) - rs[watch]) ** 2))
                if err < best[0]:
                    best = (err, {k: p.detach().clone() for k, p in params.items()})
                job.check()
    weights = best[1]

    def predict(inp) -> np.ndarray:
        inp = np.asarray(inp, dtype=np.float64)
        with torch.no_grad():
            bend = forward(t((inp - mx) / sx), weights).double().numpy()
        return init(inp) + sr * bend

    return predict


@dataclass
class MapScore:
    r2: float  # held-out, variance-weighted
    r1: float  # held-out retrieval R@1 through the map

    @property
    def residual(self) -> float:
        """Normalised held-out residual Σ‖y − ŷ‖² / Σ‖y − ȳ‖² (= 1 − R²)."""
        return 1.0 - self.r2


@dataclass
class MapDiagnosis:
    linear: MapScore
    mlp: MapScore
    verdict: str  # "near-linear", "non-linear (twisted)" or "unrelated"
    sentence: str
    margin: float
    alpha: float  # the ridge α the linear map used
    n_train: int
    n_test: int
    unmapped_r1: float | None = None  # R@1 of X against Y on the same held-out pairs, no map (same width only)

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "sentence": self.sentence, "margin": self.margin,
                "linear": {"R2": self.linear.r2, "residual": self.linear.residual, "R@1": self.linear.r1,
                           "alpha": self.alpha},
                "mlp": {"R2": self.mlp.r2, "residual": self.mlp.residual, "R@1": self.mlp.r1},
                "unmapped": {"R@1": self.unmapped_r1},
                "n_train": self.n_train, "n_test": self.n_test}


def _score(y, pred) -> MapScore:
    ranks = ranks_from_similarity(similarity_matrix(pred, y))
    return MapScore(r2_score(y, pred), float(np.mean(ranks == 1)))


def describe(linear: MapScore, mlp: MapScore, margin: float = MARGIN, unmapped_r1: float | None = None,
             n_test: int | None = None) -> tuple[str, str]:
    """The verdict and a sentence stating the numbers it rests on. R@1 values are on one gallery (the
    held-out pairs), with the unmapped embeddings' R@1 there as the baseline a map must beat."""
    gain = mlp.r2 - linear.r2
    gallery = f" on the same {n_test} held-out pairs" if n_test else ""
    baseline = f"unmapped {unmapped_r1:.3f}, " if unmapped_r1 is not None else ""
    numbers = (f"held-out R² linear {linear.r2:.3f}, MLP {mlp.r2:.3f}; "
               f"R@1{gallery}: {baseline}through the map linear {linear.r1:.3f}, MLP {mlp.r1:.3f}")
    if not max(linear.r2, mlp.r2) >= MIN_R2:
        return "unrelated", f"unrelated: neither map explains much ({numbers}; both R² below {MIN_R2})"
    if gain > margin:
        return "non-linear (twisted)", (f"non-linear (twisted): the MLP beats the linear map by {gain:+.3f} R² "
                                        f"({numbers}; margin {margin})")
    return "near-linear", f"near-linear: the linear map is within {margin} R² of the MLP ({numbers})"


def diagnose_maps(x, y, *, test_fraction: float = 0.25, margin: float = MARGIN, hidden: int = 256,
                  steps: int = 200, max_pairs: int = MAX_PAIRS, seed: int = 0, job=None) -> MapDiagnosis:
    """Fit both maps X → Y on a seeded train split and diagnose the relationship on the held-out pairs."""
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"need paired rows, not {len(x)} and {len(y)}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))[:max_pairs]
    x, y = np.asarray(x[order], dtype=np.float64), np.asarray(y[order], dtype=np.float64)  # only the pairs used
    order = np.arange(len(order))
    n_test = int(round(len(order) * test_fraction))
    if n_test < 2 or len(order) - n_test < 4:
        raise ValueError(f"{len(x)} pairs are too few to fit and hold out maps (need about 10)")
    test, train = order[:n_test], order[n_test:]
    linear = fit_linear(x[train], y[train])
    mlp = fit_mlp(x[train], y[train], linear, hidden=hidden, steps=steps, seed=seed, job=job)
    lin_score, mlp_score = _score(y[test], linear(x[test])), _score(y[test], mlp(x[test]))
    unmapped = _score(y[test], x[test]).r1 if x.shape[1] == y.shape[1] else None
    verdict, sentence = describe(lin_score, mlp_score, margin, unmapped, len(test))
    return MapDiagnosis(lin_score, mlp_score, verdict, sentence, margin, linear.alpha, len(train), len(test),
                        unmapped)
