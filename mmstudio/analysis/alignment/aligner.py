"""Train a projection head that aligns one embedding space with another, with live snapshots.

Given paired rows X (n × d₁) and Y (n × d₂) of two modalities, or of two different models, a
head maps X **into Y's space** (Y stays as it is, L2-normalised): the target space keeps its
meaning (an existing map of Y can show the projected X points), there is one head to train
instead of two, and it works for any d₁, d₂.

- heads: ``"linear"`` (``W x + b``, W started semi-orthogonal) or ``"mlp"``
  (``W x + b + V·GELU(U x + c)``, a linear path plus one hidden layer, V started at 0);
  X is centred and scaled to unit mean coordinate variance first; outputs are L2-normalised.
- losses: ``"infonce"`` (symmetric, temperature τ, other pairs of the batch as negatives) or
  ``"triplet"`` (FaceNet margin loss on squared distances, ``"semihard"`` or ``"hardest"``
  negatives mined in the batch, both directions averaged), as in :mod:`mmstudio.analysis.alignment.losses`.
- a seeded train/held-out split; Adam on mini-batches drawn epoch by epoch.
- every ``eval_every`` steps (and before the first): held-out R@1 (projected X → Y, cosine,
  ties against the query) and a snapshot of up to ``snapshot_points`` held-out points in a fixed
  2-D basis (the first two principal axes of held-out Y, computed once), sent with
  ``job.partial`` for a live animation; ``job.check()`` every step (cancelling raises
  :class:`~mmstudio.core.jobs.Cancelled`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.alignment.retrieval import normalise, ranks_from_similarity
from mmstudio.analysis.common.torch_threads import threads_for

HEADS = ("linear", "mlp")
LOSSES = ("infonce", "triplet")


@dataclass
class AlignerSnapshot:
    step: int
    loss: float  # mean training loss since the previous snapshot (NaN before the first step)
    heldout_r1: float
    points: np.ndarray  # m × 2: projected held-out X in the fixed basis
    targets: np.ndarray  # m × 2: their partners in Y, same basis (the same every snapshot)


@dataclass
class AlignerHistory:
    head: str
    loss_name: str
    loss: np.ndarray  # training loss at every step (steps 1..n)
    eval_steps: np.ndarray  # steps where the held-out set was scored (0 = before training)
    heldout_r1: np.ndarray
    snapshots: list[AlignerSnapshot]
    identity_r1: float | None  # held-out R@1 of X against Y as they are (same width only)
    n_train: int
    n_test: int
    seconds: float
    weights: dict[str, np.ndarray] = field(repr=False)
    x_mean: np.ndarray = field(repr=False, default=None)
    x_scale: float = 1.0

    @property
    def final_r1(self) -> float:
        return float(self.heldout_r1[-1])

    def project(self, x) -> np.ndarray:
        """X mapped into Y's space with the trained head (L2-normalised rows)."""
        import torch

        with torch.no_grad():
            w = {k: torch.as_tensor(v) for k, v in self.weights.items()}
            out = _forward(w, torch.as_tensor(_standardise(x, self.x_mean, self.x_scale)))
        return normalise(out.numpy())


def _standardise(x, mean, scale) -> np.ndarray:
    return ((np.asarray(x, dtype=np.float32) - mean) / scale).astype(np.float32)


def _forward(w, x):
    import torch

    out = x @ w["w"] + w["b"]
    if "u" in w:
        out = out + torch.nn.functional.gelu(x @ w["u"] + w["c"]) @ w["v"]
    return out


def _init_weights(head: str, d_in: int, d_out: int, hidden: int, rng) -> dict[str, np.ndarray]:
    import torch

    q = torch.linalg.qr(torch.as_tensor(rng.normal(size=(max(d_in, d_out), min(d_in, d_out)))))[0].numpy()
    w = q[:d_in, :d_out] if d_in >= d_out else q[:d_out, :d_in].T
    weights = {"w": w, "b": np.zeros(d_out)}
    if head == "mlp":
        weights.update(u=rng.normal(size=(d_in, hidden)) / np.sqrt(d_in), c=np.zeros(hidden),
                       v=np.zeros((hidden, d_out)))
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}


def _infonce(p, y, temperature):
    import torch

    logits = p @ y.T / temperature
    target = torch.arange(len(p))
    return 0.5 * (torch.nn.functional.cross_entropy(logits, target) + torch.nn.functional.cross_entropy(logits.T, target))


def _triplet_one_way(sim, margin, negatives):
    import torch

    dist = 2 - 2 * sim
    d_ap = dist.diagonal()
    eye = torch.eye(len(dist), dtype=torch.bool)
    if negatives == "hardest":
        d_an = dist.masked_fill(eye, float("inf")).min(dim=1).values
    else:
        farther = dist.masked_fill(eye | (dist <= d_ap[:, None]), float("inf")).min(dim=1).values
        farthest = dist.masked_fill(eye, float("-inf")).max(dim=1).values
        d_an = torch.where(torch.isfinite(farther), farther, farthest)
    return torch.clamp(d_ap - d_an + margin, min=0).mean()


def _triplet(p, y, margin, negatives):
    sim = p @ y.T
    return 0.5 * (_triplet_one_way(sim, margin, negatives) + _triplet_one_way(sim.T, margin, negatives))


def _r1(projected, targets) -> float:
    """Held-out R@1 (the similarity in torch: numpy's BLAS threads and torch's fight when interleaved)."""
    import torch

    sim = torch.as_tensor(normalise(projected)) @ torch.as_tensor(targets).T
    return float(np.mean(ranks_from_similarity(sim.numpy()) == 1))


def heldout_split(n: int, test_fraction: float = 0.2, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """The (held-out, training) pair indices :func:`train_aligner` uses (``seed``: an int or the
    generator to draw from)."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    return order[:n_test], order[n_test:]


def heldout_indices(n: int, test_fraction: float = 0.2, seed: int = 0, limit: int = 500) -> np.ndarray:
    """The pair indices whose snapshots :func:`train_aligner` sends (its held-out pairs, first ``limit``)."""
    return heldout_split(n, test_fraction, seed)[0][:limit]


def train_aligner(x, y, *, head: str = "linear", loss: str = "infonce", steps: int = 200, batch_size: int = 512,
                  lr: float = 5e-3, temperature: float = 0.05, margin: float = 0.2, negatives: str = "semihard",
                  hidden: int = 256, test_fraction: float = 0.2, eval_every: int = 20, snapshot_points: int = 500,
                  seed: int = 0, job=None) -> AlignerHistory:
    """Train a head mapping X into Y's space; returns the history (loss, held-out R@1, snapshots)."""
    import torch

    from mmstudio.core.jobs import Job

    if head not in HEADS or loss not in LOSSES:
        raise ValueError(f"head must be one of {HEADS} and loss one of {LOSSES}, not {head!r}, {loss!r}")
    if negatives not in ("hardest", "semihard"):
        raise ValueError(f"negatives must be 'hardest' or 'semihard', not {negatives!r}")
    x, y = np.asarray(x, dtype=np.float32), normalise(y)
    n = len(x)
    if len(y) != n:
        raise ValueError(f"need paired rows, not {n} and {len(y)}")
    n_test = int(round(n * test_fraction))
    if n_test < 2 or n - n_test < 2:
        raise ValueError(f"{n} pairs are too few to train and hold out an aligner")
    job = job or Job()
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    test, train = heldout_split(n, test_fraction, rng)
    x_mean = x[train].mean(axis=0)
    x_scale = float(np.sqrt(np.mean((x[train] - x_mean) ** 2))) or 1.0
    x_train = torch.as_tensor(_standardise(x[train], x_mean, x_scale))
    y_train = torch.as_tensor(y[train])
    x_test = torch.as_tensor(_standardise(x[test], x_mean, x_scale))
    y_test = y[test]
    identity_r1 = _r1(x[test], y_test) if x.shape[1] == y.shape[1] else None

    shown = y_test[:snapshot_points]
    centre = shown.mean(axis=0)
    basis = torch.linalg.svd(torch.as_tensor(shown - centre), full_matrices=False)[2][:2].T.numpy()
    targets_2d = (shown - centre) @ basis

    weights = {k: torch.as_tensor(v).requires_grad_(True)
               for k, v in _init_weights(head, x.shape[1], y.shape[1], hidden, rng).items()}
    opt = torch.optim.Adam(weights.values(), lr=lr)
    batch = min(batch_size, len(train))
    losses, eval_steps, r1s, snapshots = [], [], [], []

    def evaluate(step: int) -> None:
        with torch.no_grad():
            projected = normalise(_forward(weights, x_test).numpy())
        r1 = _r1(projected, y_test)
        recent = losses[eval_steps[-1]:] if eval_steps else []  # the steps since the previous snapshot
        snap = AlignerSnapshot(step, float(np.mean(recent)) if recent else float("nan"), r1,
                               (projected[:snapshot_points] - centre) @ basis, targets_2d)
        eval_steps.append(step)
        r1s.append(r1)
        snapshots.append(snap)
        job.partial(snap)
        job.progress(step, steps)
        job.status(f"step {step}/{steps}: loss {snap.loss:.4f}, held-out R@1 {r1:.3f}")

    d_in, d_out = x.shape[1], y.shape[1]
    work = batch * (d_in * d_out + batch * d_out + (hidden * (d_in + d_out) if head == "mlp" else 0))
    with threads_for(work):
        evaluate(0)
        queue = np.empty(0, dtype=np.int64)
        for step in range(1, steps + 1):
            job.check()
            if len(queue) < batch:
                queue = np.concatenate([queue, rng.permutation(len(train))])
            idx, queue = torch.as_tensor(queue[:batch]), queue[batch:]
            p = torch.nn.functional.normalize(_forward(weights, x_train[idx]), dim=1)
            y_batch = y_train[idx]
            value = (_infonce(p, y_batch, temperature) if loss == "infonce"
                     else _triplet(p, y_batch, margin, negatives))
            opt.zero_grad()
            value.backward()
            opt.step()
            losses.append(float(value.detach()))
            if step % eval_every == 0 or step == steps:
                evaluate(step)
    return AlignerHistory(head, loss, np.array(losses), np.array(eval_steps), np.array(r1s), snapshots, identity_r1,
                          len(train), len(test), time.perf_counter() - started,
                          {k: v.detach().numpy().copy() for k, v in weights.items()}, x_mean, x_scale)
