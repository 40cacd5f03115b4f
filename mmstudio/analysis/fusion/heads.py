"""The small heads the fusion lab trains, and their numpy forward passes.

Training runs in torch on one thread for small problems (:mod:`mmstudio.analysis.common.torch_threads`);
a trained head is plain numpy arrays, so scoring needs no torch and no autograd:

- :func:`fit_softmax_many`: several multinomial logistic regressions (L2-penalised) in one
  full-batch L-BFGS run with a strong-Wolfe line search (the per-modality experts and the early
  linear heads, all at once).
- :func:`fit_adam_heads`: the MLP heads (one hidden ReLU layer), the pooled cross-attention heads
  (the query modality's vector attends over the other modalities' vectors, used as a set of
  tokens, one per modality, then a linear classifier) and the token-level ones
  (:mod:`mmstudio.analysis.fusion.attention`: the query modality's tokens attend over the others'
  patches, frames or tokens), all trained in one loop of Adam steps on shared minibatches, with
  optional *modality dropout* (each modality's input zeroed with probability p, at least one kept,
  a fresh mask every step).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmstudio.analysis.common.torch_threads import threads_for

# One torch thread up to this many multiply-adds per step: every head here is below it. A full-batch
# L-BFGS step on 11,000 × 384 inputs (~8·10⁷) still ran 5–10× slower on two threads than on one while
# another process kept a core busy, and the machine is shared (see torch_threads).
SMALL = 1e9


@dataclass
class LinearHead:
    W: np.ndarray  # (D, K)
    b: np.ndarray  # (K,)

    def logits(self, x: np.ndarray) -> np.ndarray:
        return x @ self.W + self.b


@dataclass
class MLPHead:
    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray

    def logits(self, x: np.ndarray) -> np.ndarray:
        h = x @ self.W1
        h += self.b1
        np.maximum(h, 0, out=h)
        return h @ self.W2 + self.b2


@dataclass
class CrossAttentionHead:
    query: int            # index of the query modality
    W_in: np.ndarray      # (D, d) shared token projection
    E: np.ndarray         # (M, d) modality embeddings
    Wq: np.ndarray
    Wk: np.ndarray
    Wv: np.ndarray
    W_out: np.ndarray     # (d, K)
    b_out: np.ndarray

    def forward(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``v``: (n, M, D) → logits (n, K) and attention weights over the other modalities (n, M-1)."""
        n, m, dim = v.shape
        t = (v.reshape(n * m, dim) @ self.W_in).reshape(n, m, -1)
        t += self.E
        others = [j for j in range(m) if j != self.query]
        tq, to = t[:, self.query], t[:, others]
        q = tq @ self.Wq
        s = (q[:, None, :] * (to @ self.Wk)).sum(axis=2) / np.sqrt(q.shape[1])
        s -= s.max(axis=1, keepdims=True)
        a = np.exp(s)
        a /= a.sum(axis=1, keepdims=True)
        h = tq + (a[:, :, None] * (to @ self.Wv)).sum(axis=1)
        np.maximum(h, 0, out=h)
        return h @ self.W_out + self.b_out, a

    def logits(self, v: np.ndarray) -> np.ndarray:
        return self.forward(v)[0]


def _tensor(x, dtype=np.float32):
    import torch

    return torch.from_numpy(np.ascontiguousarray(x, dtype=dtype))


def fit_softmax_many(problems, n_classes: int, *, l2: float = 1e-4, max_iter: int = 20) -> list[LinearHead]:
    """Several multinomial logistic regressions at once: ``problems`` is a list of ``(x, y)``.

    The loss is the sum of each problem's mean cross-entropy + ``l2``/2·‖W‖²; the problems share no
    parameter, so the joint minimum is each one's minimum, approached by one full-batch L-BFGS run
    (strong-Wolfe line search) instead of one run per problem: one Python loop, one line search.
    ``max_iter`` 20: on 5,500 × 128–384-d embeddings the training accuracy stops moving by about
    20 iterations; the rest of the way to the optimum mostly sharpens the probabilities."""
    import torch

    data = [(_tensor(x), _tensor(y, np.int64)) for x, y in problems]
    params = [(torch.zeros(x.shape[1], n_classes, requires_grad=True), torch.zeros(n_classes, requires_grad=True))
              for x, _ in data]
    work = 3.0 * sum(x.shape[0] * x.shape[1] for x, _ in data) * n_classes
    with threads_for(work, SMALL), torch.enable_grad():
        opt = torch.optim.LBFGS([t for pair in params for t in pair], lr=1, max_iter=max_iter, history_size=10,
                                tolerance_grad=1e-6, tolerance_change=1e-9, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = 0.0
            for (x, y), (W, b) in zip(data, params):
                loss = loss + torch.nn.functional.cross_entropy(torch.addmm(b, x, W), y) + 0.5 * l2 * (W * W).sum()
            loss.backward()
            return loss

        opt.step(closure)
    return [LinearHead(W.detach().numpy().copy(), b.detach().numpy().copy()) for W, b in params]


def fit_softmax(x: np.ndarray, y: np.ndarray, n_classes: int, *, l2: float = 1e-4, max_iter: int = 20) -> LinearHead:
    """Multinomial logistic regression: mean cross-entropy + ``l2``/2·‖W‖² by L-BFGS (full batch)."""
    return fit_softmax_many([(x, y)], n_classes, l2=l2, max_iter=max_iter)[0]


def dropout_mask(gen, n: int, m: int, p: float):
    """(n, m) torch bool mask of kept modalities: each dropped with probability p, at least one kept."""
    import torch

    keep = torch.rand(n, m, generator=gen) >= p
    none = ~keep.any(dim=1)
    if none.any():
        pick = torch.randint(0, m, (int(none.sum()),), generator=gen)
        keep[none.nonzero().squeeze(1), pick] = True
    return keep


def _minibatches(n: int, batch: int, steps: int, gen):
    import torch

    order = torch.randperm(n, generator=gen)
    at = 0
    for _ in range(steps):
        if at + batch > n:
            order, at = torch.randperm(n, generator=gen), 0
        yield order[at:at + batch]
        at += batch


@dataclass(frozen=True)
class AdamSpec:
    """One head for :func:`fit_adam_heads`: ``kind`` "mlp", "cross-attention" or "token-attention",
    its input (n, M, D) — or, token-level, (n, T, D) tokens with their ``mask`` (n, T) and the
    modality ``owner`` (T,) of each slot — its modality-dropout probability and (attention) the
    query modality."""

    kind: str
    x: np.ndarray
    dropout: float = 0.0
    query: int = 0
    mask: np.ndarray | None = None
    owner: np.ndarray | None = None

    @property
    def modalities(self) -> int:
        return int(self.owner.max()) + 1 if self.owner is not None else self.x.shape[1]

    def work(self, batch: int, hidden: int, width: int) -> float:
        """Multiply-adds of one forward and backward step (about 3× the forward)."""
        if self.kind == "mlp":
            return 3.0 * batch * self.x.shape[1] * self.x.shape[2] * hidden
        if self.kind == "cross-attention":
            return 3.0 * batch * self.x.shape[1] * self.x.shape[2] * width
        t = self.x.shape[1]
        nq = int((self.owner == self.query).sum())
        return 3.0 * batch * (t * self.x.shape[2] * width + t * 2 * width * width + 2 * nq * (t - nq) * width)


def init_param(gen, shape, fan_in: int | None = None):
    """A trainable tensor drawn like ``torch.nn.Linear``'s default: uniform in ±1/√fan_in
    (``fan_in`` None: 0.02 · standard normal, for the modality embeddings)."""
    import torch

    if fan_in is None:
        t = 0.02 * torch.randn(shape, generator=gen)
    else:
        t = (torch.rand(shape, generator=gen) * 2 - 1) / float(np.sqrt(fan_in))
    return t.requires_grad_(True)


class _StackedMLP:
    """``s`` MLP heads of one shape, evaluated with batched matrix products (one op for all)."""

    def __init__(self, s, m, dim, hidden, k, gen):
        self.W1, self.b1 = init_param(gen, (s, m * dim, hidden), m * dim), init_param(gen, (s, 1, hidden), m * dim)
        self.W2, self.b2 = init_param(gen, (s, hidden, k), hidden), init_param(gen, (s, 1, k), hidden)
        self.params = [self.W1, self.b1, self.W2, self.b2]

    @staticmethod
    def drop(x, mask, keep):
        return x * keep.unsqueeze(2), mask

    def __call__(self, x, mask=None):  # (s, B, M, D) → (s, B, K)
        import torch

        h = torch.relu(torch.baddbmm(self.b1, x.reshape(x.shape[0], x.shape[1], -1), self.W1))
        return torch.baddbmm(self.b2, h, self.W2)

    def export(self, i: int) -> MLPHead:
        a = [t[i].detach().numpy().copy() for t in self.params]
        return MLPHead(a[0], a[1][0], a[2], a[3][0])


class _StackedAttention:
    """``s`` cross-attention heads of one shape (and query), evaluated with batched matrix products."""

    def __init__(self, s, m, dim, width, k, query, gen):
        if m < 2:
            raise ValueError("cross-attention needs at least two modalities")
        self.query, self.others = query, [j for j in range(m) if j != query]
        self.W_in, self.E = init_param(gen, (s, dim, width), dim), init_param(gen, (s, 1, m, width))
        self.Wq, self.Wk, self.Wv = (init_param(gen, (s, width, width), width) for _ in range(3))
        self.W_out, self.b_out = init_param(gen, (s, width, k), width), init_param(gen, (s, 1, k), width)
        self.params = [self.W_in, self.E, self.Wq, self.Wk, self.Wv, self.W_out, self.b_out]

    drop = staticmethod(_StackedMLP.drop)

    def __call__(self, x, mask=None):  # (s, B, M, D) → (s, B, K)
        import torch

        s, b, m, dim = x.shape
        t = torch.bmm(x.reshape(s, b * m, dim), self.W_in).reshape(s, b, m, -1) + self.E
        w = t.shape[3]
        tq, to = t[:, :, self.query], t[:, :, self.others].reshape(s, b * (m - 1), w)
        k = torch.bmm(to, self.Wk).reshape(s, b, m - 1, w)
        v = torch.bmm(to, self.Wv).reshape(s, b, m - 1, w)
        a = torch.softmax((torch.bmm(tq, self.Wq).unsqueeze(2) * k).sum(3) / float(np.sqrt(w)), dim=2)
        h = torch.relu(tq + (a.unsqueeze(3) * v).sum(2))
        return torch.baddbmm(self.b_out, h, self.W_out)

    def export(self, i: int) -> CrossAttentionHead:
        a = [t[i].detach().numpy().copy() for t in self.params]
        return CrossAttentionHead(self.query, a[0], a[1][0], a[2], a[3], a[4], a[5], a[6][0])


def fit_adam_heads(specs: list[AdamSpec], y: np.ndarray, n_classes: int, *, hidden: int = 64, width: int = 64,
                   steps: int = 200, batch: int = 256, lr: float = 3e-3, weight_decay: float = 1e-4,
                   seed: int = 0, heads: int | None = None, job=None) -> list:
    """Train every head of ``specs`` together: the heads of one kind are stacked and run as one batched
    matrix product, all see the same minibatches, and one backward pass through the sum of their
    losses and one Adam step serve them all. The heads share no parameter and Adam's update is per
    parameter, so each head ends as if trained alone on that minibatch sequence; the stacking saves
    the per-step overhead of one loop per head. MLP: one hidden ReLU layer on the concatenated
    vectors. With dropout > 0 each modality's input is zeroed with that probability (at least one
    kept, a fresh mask every step; token-level: a dropped modality's block becomes one zero token).
    ``job.check()`` every 25 steps (it raises when the job was cancelled). Returns
    :class:`MLPHead` / :class:`CrossAttentionHead` / :class:`~mmstudio.analysis.fusion.attention.TokenAttentionHead`
    in the order of ``specs``."""
    import torch

    from mmstudio.core.jobs import Job

    job = job or Job()

    from mmstudio.analysis.fusion.attention import HEADS, StackedTokenAttention

    heads = heads or HEADS

    n = len(y)
    batch = min(batch, n)
    gen = torch.Generator().manual_seed(seed)
    yt = _tensor(y, np.int64)
    inputs = {id(s.x): _tensor(s.x) for s in specs}
    masks = {id(s.mask): torch.from_numpy(np.ascontiguousarray(s.mask, bool)) for s in specs if s.mask is not None}
    groups = {}   # kind → indices into specs
    for i, s in enumerate(specs):
        groups.setdefault(s.kind, []).append(i)
    m = specs[0].modalities if specs else 0
    dim = specs[0].x.shape[2] if specs else 0
    nets = {}
    for kind, idx in groups.items():
        queries = {specs[i].query for i in idx}
        if kind != "mlp" and len(queries) > 1:
            raise ValueError("attention heads trained together must share their query modality")
        if kind == "mlp":
            nets[kind] = _StackedMLP(len(idx), m, dim, hidden, n_classes, gen)
        elif kind == "cross-attention":
            nets[kind] = _StackedAttention(len(idx), m, dim, width, n_classes, queries.pop(), gen)
        elif kind == "token-attention":
            owners = {specs[i].owner.tobytes() for i in idx}
            if len(owners) > 1:
                raise ValueError("token-level heads trained together must share their token layout")
            nets[kind] = StackedTokenAttention(len(idx), m, dim, width, n_classes, queries.pop(), specs[idx[0]].owner,
                                               gen, heads=heads)
        else:
            raise ValueError(f"unknown head kind {kind!r}")
    work = sum(s.work(batch, hidden, width) for s in specs)
    with threads_for(work, SMALL), torch.enable_grad():
        opt = torch.optim.Adam([p for net in nets.values() for p in net.params], lr=lr, weight_decay=weight_decay,
                               fused=True)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
        for step, idx in enumerate(_minibatches(n, batch, steps, gen)):
            if step % 25 == 0:
                job.check()
            taken = {key: x[idx] for key, x in inputs.items()}
            taken_mask = {key: mk[idx] for key, mk in masks.items()}
            loss = 0.0
            for kind, members in groups.items():
                xb, mb = [], []
                for i in members:
                    x, mask = taken[id(specs[i].x)], taken_mask.get(id(specs[i].mask))
                    if specs[i].dropout > 0:
                        x, mask = nets[kind].drop(x, mask, dropout_mask(gen, len(idx), m, specs[i].dropout))
                    xb.append(x)
                    mb.append(mask)
                logits = nets[kind](torch.stack(xb), None if mb[0] is None else torch.stack(mb))
                # mean over every head's rows × heads = the sum of the heads' mean losses
                loss = loss + len(members) * torch.nn.functional.cross_entropy(
                    logits.reshape(-1, n_classes), yt[idx].repeat(len(members)))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    out = [None] * len(specs)
    for kind, members in groups.items():
        for slot, i in enumerate(members):
            out[i] = nets[kind].export(slot)
    return out
