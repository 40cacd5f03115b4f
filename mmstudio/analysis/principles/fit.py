"""Small, self-contained models and scores for the principles: logistic regression (Newton),
little torch MLPs (concatenation or an additive sum of per-modality heads), entropy in bits and a
held-out temperature-scaled cross-entropy. Classifier scores (accuracy, NLL, ECE) are those of
:mod:`mmstudio.analysis.common.classifier_metrics`, shared with the fusion lab.

Everything here is full-batch and seeded, on one torch thread: the problems are tiny.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmstudio.analysis.common.classifier_metrics import nll, softmax

LN2 = float(np.log(2.0))


# --- metrics ---------------------------------------------------------------------------------
def entropy_bits(y: np.ndarray, n_classes: int) -> float:
    p = np.bincount(y, minlength=n_classes) / len(y)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


# --- logistic regression ---------------------------------------------------------------------
def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-4, steps: int = 50) -> np.ndarray:
    """Binary logistic regression by Newton's method; returns weights with the bias last."""
    a = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(a.shape[1])
    ridge = l2 * len(x) * np.eye(a.shape[1])
    ridge[-1, -1] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(a @ w)))
        grad = a.T @ (p - y) + ridge @ w
        hess = (a * (p * (1 - p))[:, None]).T @ a + ridge + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w


def logistic_logit(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return x @ w[:-1] + w[-1]


# --- small torch networks --------------------------------------------------------------------
@dataclass
class Net:
    """A trained network over one or more modalities; ``logits`` takes numpy arrays, one per modality."""

    kind: str                       # "concat" (MLP over the concatenation), "additive" (sum of per-modality MLPs), "linear"
    modules: list
    mean: list[np.ndarray]
    scale: list[np.ndarray]

    def logits(self, *xs: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return forward(self, [torch.as_tensor(x, dtype=torch.float32) for x in self.standardise(xs)]).numpy()

    def standardise(self, xs) -> list[np.ndarray]:
        return [(np.asarray(x, np.float32) - m) / s for x, m, s in zip(xs, self.mean, self.scale)]

    def probs(self, *xs: np.ndarray) -> np.ndarray:
        return softmax(self.logits(*xs).astype(np.float64))


def forward(net: Net, ts: list):
    import torch

    if net.kind == "additive":
        return sum(module(t) for module, t in zip(net.modules, ts))
    return net.modules[0](ts[0] if len(ts) == 1 else torch.cat(ts, dim=1))


def make_net(kind: str, dims: list[int], n_classes: int, hidden: int = 64) -> list:
    from torch import nn

    def mlp(d):
        return nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))

    if kind == "additive":
        return [mlp(d) for d in dims]
    if kind == "concat":
        return [mlp(sum(dims))]
    if kind == "linear":
        return [nn.Linear(sum(dims), n_classes)]
    raise ValueError(f"unknown network kind {kind!r}")


def train_net(xs: list[np.ndarray], y: np.ndarray, n_classes: int, kind: str = "concat", *, hidden: int = 64,
              steps: int = 200, lr: float = 1e-2, weight_decay: float = 1e-3, label_smoothing: float = 0.0,
              seed: int = 0) -> Net:
    """Full-batch AdamW on standardised inputs (train statistics); deterministic for a seed."""
    import torch

    from mmstudio.analysis.common.torch_threads import threads_for

    xs = [np.asarray(x, np.float32) for x in xs]
    mean = [x.mean(axis=0) for x in xs]
    scale = [x.std(axis=0) + 1e-6 for x in xs]
    dims = [x.shape[1] for x in xs]
    work = len(y) * sum(dims) * hidden * 3
    with threads_for(work):
        torch.manual_seed(seed)
        net = Net(kind, make_net(kind, dims, n_classes, hidden), mean, scale)
        opt = AdamW([p for m in net.modules for p in m.parameters()], lr=lr, weight_decay=weight_decay)
        ts = [torch.as_tensor(x) for x in net.standardise(xs)]
        if kind != "additive":  # concatenated once, not every step
            ts = [torch.cat(ts, dim=1)]
        target = torch.as_tensor(y, dtype=torch.long)
        for _ in range(steps):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(forward(net, ts), target, label_smoothing=label_smoothing)
            loss.backward()
            opt.step()
    return net


@dataclass
class NetStack:
    """``S`` networks of one shape trained together, one per seed (each on its own data): the same
    networks :func:`train_net` trains one at a time, evaluated with batched matrix products.
    ``logits`` takes one (S, n, d) array per modality (or (n, d), the same rows for every member)."""

    kind: str
    modules: list                   # per module: [(W (S, in, out), b (S, 1, out)), …] layer by layer
    mean: list[np.ndarray]          # per modality: (S, 1, d)
    scale: list[np.ndarray]

    def __len__(self) -> int:
        return self.modules[0][0][0].shape[0]

    def logits(self, *xs: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return _stack_forward(self, [torch.as_tensor(x) for x in self.standardise(xs)]).numpy()

    def standardise(self, xs) -> list[np.ndarray]:
        s = len(self)
        return [((np.broadcast_to(np.asarray(x, np.float32), (s, *np.shape(x)[-2:])) - m) / sc).astype(np.float32)
                for x, m, sc in zip(xs, self.mean, self.scale)]

    def probs(self, *xs: np.ndarray) -> np.ndarray:
        return softmax(self.logits(*xs).astype(np.float64))


def stack_layers(layers, h):
    """One module of a :class:`NetStack` on (S, n, d) inputs: each layer a batched product, ReLU between."""
    import torch

    for i, (w, b) in enumerate(layers):
        h = torch.baddbmm(b, h, w)
        if i < len(layers) - 1:
            h = torch.relu(h)
    return h


def stack_accuracies(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(S, n, k) probabilities and (S, n) labels → each member's accuracy."""
    return (probs.argmax(axis=2) == y).mean(axis=1)


def _stack_forward(stack: NetStack, ts: list):
    import torch

    if stack.kind == "additive":
        return sum(stack_layers(layers, t) for layers, t in zip(stack.modules, ts))
    return stack_layers(stack.modules[0], ts[0] if len(ts) == 1 else torch.cat(ts, dim=2))


def train_nets(xs: list[np.ndarray], y: np.ndarray, n_classes: int, kind: str = "concat", *, seeds: list[int],
               hidden: int = 64, steps: int = 200, lr: float = 1e-2, weight_decay: float = 1e-3,
               label_smoothing: float = 0.0) -> NetStack:
    """:func:`train_net` for every seed at once: ``xs`` are (S, n, d) arrays (member s trains on
    ``xs[m][s]`` with labels ``y[s]``, y of shape (S, n)), member s starts from the initialisation
    ``train_net(seed=seeds[s])`` would and follows the same AdamW steps (its loss is its own mean
    cross-entropy: the members share nothing), so it ends where that call ends, to float rounding.
    One batched product per layer and step instead of S: the principles' seeds cost little more
    than one."""
    import torch

    from mmstudio.analysis.common.torch_threads import threads_for

    xs = [np.asarray(x, np.float32) for x in xs]
    y = np.asarray(y)
    s = len(seeds)
    if any(x.shape[0] != s for x in xs) or y.shape[0] != s:
        raise ValueError(f"train_nets: {s} seeds but inputs for {[x.shape[0] for x in xs]} and labels for {y.shape[0]}")
    mean = [x.mean(axis=1, keepdims=True) for x in xs]
    scale = [x.std(axis=1, keepdims=True) + 1e-6 for x in xs]
    dims = [x.shape[2] for x in xs]
    work = y.shape[1] * sum(dims) * hidden * 3  # a member's: S small products batched stay small products
    with threads_for(work):
        members = []
        for seed in seeds:
            torch.manual_seed(seed)
            members.append(make_net(kind, dims, n_classes, hidden))
        modules = []
        for j in range(len(members[0])):
            layers = [m for m in members[0][j].modules() if isinstance(m, torch.nn.Linear)]
            stacked = []
            for li in range(len(layers)):
                per = [[m for m in member[j].modules() if isinstance(m, torch.nn.Linear)][li] for member in members]
                w = torch.stack([p.weight.detach().T for p in per]).contiguous().requires_grad_()
                b = torch.stack([p.bias.detach()[None] for p in per]).contiguous().requires_grad_()
                stacked.append((w, b))
            modules.append(stacked)
        stack = NetStack(kind, modules, mean, scale)
        ts = [torch.as_tensor(x) for x in stack.standardise(xs)]
        if kind != "additive":
            ts = [torch.cat(ts, dim=2)]
        target = torch.as_tensor(y, dtype=torch.long).reshape(-1)
        opt = AdamW([p for layers in modules for pair in layers for p in pair], lr=lr, weight_decay=weight_decay)
        n = y.shape[1]
        for _ in range(steps):
            opt.zero_grad()
            out = _stack_forward(stack, ts)
            loss = torch.nn.functional.cross_entropy(out.reshape(s * n, -1), target, reduction="sum",
                                                     label_smoothing=label_smoothing) / n
            loss.backward()
            opt.step()
    for layers in modules:
        for w, b in layers:
            w.requires_grad_(False)
            b.requires_grad_(False)
    return stack


# --- optimisers ------------------------------------------------------------------------------
# torch.optim's first optimiser imports torch._dynamo (1.5–2.5 s on this CPU), longer than most
# principles take; these few lines do the same updates as torch.optim.AdamW and SGD.
class AdamW:
    """``torch.optim.AdamW`` (decoupled weight decay, bias-corrected moments), for a few tensors."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        import torch

        self.params, self.lr, self.betas, self.eps, self.wd, self.t = list(params), lr, betas, eps, weight_decay, 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        import torch

        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        ps, grads = [self.params[i] for i in live], [self.params[i].grad for i in live]
        ms, vs = [self.m[i] for i in live], [self.v[i] for i in live]
        with torch.no_grad():  # torch's foreach kernels: one call per operation for all tensors
            torch._foreach_mul_(ps, 1 - self.lr * self.wd)
            torch._foreach_lerp_(ms, grads, 1 - b1)
            torch._foreach_mul_(vs, b2)
            torch._foreach_addcmul_(vs, grads, grads, 1 - b2)
            denom = torch._foreach_sqrt(torch._foreach_div(vs, c2))
            torch._foreach_add_(denom, self.eps)
            torch._foreach_addcdiv_(ps, ms, denom, -self.lr / c1)


class SGD:
    """``torch.optim.SGD`` with momentum and (coupled) weight decay, for a few tensors."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        self.params, self.lr, self.momentum, self.wd = list(params), lr, momentum, weight_decay
        self.buf = [None] * len(self.params)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        import torch

        with torch.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                d = p.grad.add(p, alpha=self.wd) if self.wd else p.grad.clone()
                if self.momentum:
                    self.buf[i] = d if self.buf[i] is None else self.buf[i].mul_(self.momentum).add_(d)
                    d = self.buf[i]
                p.add_(d, alpha=-self.lr)


def heldout_cross_entropy(logits: np.ndarray, y: np.ndarray, seed: int = 0, per_sample: bool = False):
    """Cross-entropy (nats) of temperature-scaled predictions on held-out data, cross-fitted: the
    temperature is fitted on one half of the points and scored on the other, both ways, so it is
    an honest held-out number for a model that is calibrated without seeing the points it is scored on.

    The temperature may soften the logits freely (T up to e⁵) but sharpen them at most e-fold: a
    half with one or two mistakes would otherwise pick T → 0, and the other half's mistakes would
    then cost without bound (on the demo world's xor this turned 0.97 bits into 0.75).
    ``per_sample``: each point's cross-entropy instead of the mean (for bootstrap intervals)."""
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, np.float64)
    order = np.random.default_rng(seed).permutation(len(y))
    halves = (order[: len(y) // 2], order[len(y) // 2:])

    def loss(log_t, idx):
        return nll(softmax(logits[idx] / np.exp(log_t)), y[idx])

    each = np.zeros(len(y))
    for fit, score in (halves, halves[::-1]):
        best = minimize_scalar(loss, bounds=(-1.0, 5.0), args=(fit,), method="bounded").x
        p = softmax(logits[score] / np.exp(best))[np.arange(len(score)), y[score]]
        each[score] = -np.log(np.clip(p, np.finfo(np.float64).eps, 1 - np.finfo(np.float64).eps))
    return each if per_sample else float(each.mean())
