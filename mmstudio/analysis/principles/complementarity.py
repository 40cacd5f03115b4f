"""Complementarity: XOR needs an interaction between the modalities; an additive model cannot
see it, and EMAP (Hessel & Lee 2020) measures how much a fused model relies on one.

On ±1 data: y = [sign(x1) ≠ sign(x2)] with Gaussian noise on x1, x2; a logistic model
w1·x1 + w2·x2 + b stays at chance, adding w3·x1·x2 solves it. On the demo world's ``xor``
task (striped is seen, echo is heard): an MLP over the concatenated image and audio embeddings
vs an additive late fusion g1(image) + g2(audio) of unimodal heads trained together.

EMAP, the empirical multimodally-additive function projection of a model f over a test set,
f̂(x1, x2) = E_{x2'}[f(x1, x2')] + E_{x1'}[f(x1', x2)] − E_{x1',x2'}[f(x1', x2')] (on the logits),
is the best additive approximation of f there; the accuracy f keeps and f̂ loses is the
measured size of the cross-modal interaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.common.classifier_metrics import softmax
from mmstudio.analysis.principles.fit import (
    fit_logistic,
    logistic_logit,
    stack_accuracies,
    stack_layers,
    train_nets,
)
from mmstudio.analysis.principles.result import (
    SEEDS,
    Check,
    Result,
    above,
    ci_text,
    estimate,
    seed_list,
    statement_of,
    verdict_of,
)
from mmstudio.core.jobs import Job


def emap(f, x1: np.ndarray, x2: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """EMAP of ``f(x1_rows, x2_rows) -> outputs`` (one output row, or a scalar, per pair) over the
    N given pairs: evaluates f on all N² cross pairs, in chunks of rows of x1."""
    n = len(x1)
    if len(x2) != n:
        raise ValueError("x1 and x2 must have the same number of rows")
    rows = max(1, chunk // n)
    sums_over_2, sums_over_1, total = None, None, 0.0
    for start in range(0, n, rows):
        i = np.arange(start, min(n, start + rows))
        a = np.repeat(x1[i], n, axis=0)
        b = np.tile(x2, (len(i),) + (1,) * (x2.ndim - 1))
        out = np.asarray(f(a, b), np.float64)
        out = out.reshape((len(i), n) + out.shape[1:])
        part1 = out.mean(axis=1)               # E_{x2'} f(x1_i, x2')
        part2 = out.sum(axis=0)                # Σ_i f(x1_i, x2_j)
        sums_over_2 = part1 if sums_over_2 is None else np.concatenate([sums_over_2, part1])
        sums_over_1 = part2 if sums_over_1 is None else sums_over_1 + part2
        total = total + out.sum(axis=(0, 1))
    return sums_over_2 + sums_over_1 / n - total / (n * n)


def emap_stacked(stack, x1: np.ndarray, x2: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
    """:func:`emap` of each member of a :class:`~mmstudio.analysis.principles.fit.NetStack` (its logits)
    over that member's own N pairs: ``x1``, ``x2`` are (S, N, d); returns (S, N, classes).

    The N² pairs are not run through the whole network: an additive stack's logits on a pair are
    the sum of its two modules' logits on the rows, and a two-layer MLP's first layer on a
    concatenation is the sum of its two blocks on the rows, so each row is projected once and a
    pair costs one ReLU and the output layer."""
    import torch

    s, n = x1.shape[:2]
    a, b = (torch.as_tensor(v) for v in stack.standardise([x1, x2]))
    with torch.no_grad():
        if stack.kind == "additive":
            la, lb = (stack_layers(module, v) for module, v in zip(stack.modules, (a, b)))
            pair = lambda i: la[:, i, None, :] + lb[:, None, :, :]  # noqa: E731
        else:
            (w1, b1), (w2, b2) = stack.modules[0]
            pa, pb = a @ w1[:, : a.shape[2]], b @ w1[:, a.shape[2]:] + b1
            pair = lambda i: torch.relu(pa[:, i, None, :] + pb[:, None, :, :]) @ w2[:, None] + b2[:, None]  # noqa: E731
        rows = max(1, chunk // (n * s))
        sums_over_2, sums_over_1, total = [], 0.0, 0.0
        for start in range(0, n, rows):
            out = pair(slice(start, min(n, start + rows))).double()      # (S, rows, N, classes)
            sums_over_2.append(out.mean(dim=2))
            sums_over_1 = sums_over_1 + out.sum(dim=1)
            total = total + out.sum(dim=(1, 2))
    return (torch.cat(sums_over_2, dim=1) + sums_over_1 / n - total[:, None] / (n * n)).numpy()


@dataclass
class Complementarity(Result):
    # ±1 data
    points: np.ndarray                 # (N, 2) test inputs
    labels: np.ndarray
    grid: np.ndarray                   # (G,) axis of the decision-surface grid
    surface_additive: np.ndarray       # (G, G) p(y=1) of the additive model, [x2 index, x1 index]
    surface_interaction: np.ndarray
    toy: dict[str, float]              # accuracies: additive, interaction, EMAP of interaction
    # demo world
    demo: dict                         # accuracies on the demo task (empty when skipped)
    interaction_size: dict[str, float]  # accuracy − EMAP accuracy, per model
    statement: str
    name: str = "complementarity"
    numbers: dict = field(default_factory=dict)

    def summary(self) -> list[str]:
        t = self.toy
        lines = [f"±1 XOR ({len(self.labels)} test points): additive logistic {t['additive']:.3f} "
                 f"(largest weight {t['additive_largest_weight']:.1e}), best additive rule {t['additive_best_rule']:.3f}, "
                 f"with the x1·x2 term {t['interaction']:.3f}, EMAP of the latter {t['interaction_emap']:.3f}"]
        if self.demo:
            d = self.demo
            alone = ", ".join(f"{m} alone {v:.3f}" for m, v in d["unimodal"].items())
            lines += [f"demo world {d['task']!r} ({d['n_train']} training, {d['n_test']} test scenes): {alone}",
                      f"  additive late fusion g1(x1) + g2(x2): {d['additive']:.3f} (EMAP {d['additive_emap']:.3f})",
                      f"  MLP over the concatenation:           {d['mlp']:.3f} (EMAP {d['mlp_emap']:.3f})",
                      f"  measured interaction (accuracy − EMAP accuracy): MLP {self.interaction_size['mlp']:+.3f}, "
                      f"additive {self.interaction_size['additive']:+.3f}"]
        return lines


def xor_pm1(n: int, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """±1 inputs with Gaussian noise, the four corners equally often (balanced XOR, shuffled);
    y = 1 where the signs differ.

    On balanced XOR the log-loss optimum of an additive logistic model is at (nearly) zero weights,
    so it predicts about half right; that is the log loss's choice, not the limit of additive models:
    a line that cuts one corner off classifies three corners of four, 0.75 (:func:`best_additive_rule`).
    Only a term in x1·x2 (an interaction) gets all four.
    """
    corners = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    s = corners[rng.permutation(np.arange(n) % 4)]
    x = s + noise * rng.standard_normal((n, 2))
    return x, (s[:, 0] != s[:, 1]).astype(np.int64)


def best_additive_rule(x_train, y_train, x_test, y_test, angles: int = 360) -> float:
    """Test accuracy of the best linear rule w·x > b on two inputs (0-1 loss, chosen on the training
    points by a search over directions and thresholds): the most an additive model can get."""
    best, chosen = -1.0, None
    for theta in np.linspace(0, np.pi, angles, endpoint=False):
        w = np.array([np.cos(theta), np.sin(theta)])
        z = x_train @ w
        order = np.argsort(z)
        ys = y_train[order]
        # above the cut predict 1 (or 0): correct counts for every cut position at once
        ones_above = np.concatenate([[ys.sum()], ys.sum() - np.cumsum(ys)])
        zeros_below = np.concatenate([[0], np.cumsum(1 - ys)])
        for sign, correct in ((1, ones_above + zeros_below), (-1, len(ys) - ones_above - zeros_below)):
            i = int(np.argmax(correct))
            if correct[i] > best:
                cut = z[order][i - 1] if i > 0 else -np.inf
                best, chosen = correct[i], (w, cut, sign)
    w, cut, sign = chosen
    pred = (x_test @ w > cut).astype(np.int64)
    return float(np.mean((pred if sign == 1 else 1 - pred) == y_test))


def _features(x, interaction: bool) -> np.ndarray:
    return np.column_stack([x, x[:, 0] * x[:, 1]]) if interaction else x


def toy_xor(n_train: int = 400, n_test: int = 1000, noise: float = 0.3, seed: int = 0, grid_points: int = 41) -> dict:
    rng = np.random.default_rng(seed)
    xtr, ytr = xor_pm1(n_train, noise, rng)
    xte, yte = xor_pm1(n_test, noise, rng)
    w_add = fit_logistic(_features(xtr, False), ytr)
    w_int = fit_logistic(_features(xtr, True), ytr)

    def prob(w, x, inter):
        return 1 / (1 + np.exp(-logistic_logit(w, _features(x, inter))))

    def interaction_logit(a, b):
        return logistic_logit(w_int, _features(np.column_stack([a[:, 0], b[:, 0]]), True))

    hat = emap(interaction_logit, xte[:, :1], xte[:, 1:])
    axis = np.linspace(-2, 2, grid_points)
    g1, g2 = np.meshgrid(axis, axis)
    flat = np.column_stack([g1.ravel(), g2.ravel()])
    return {"points": xte, "labels": yte, "grid": axis,
            "surface_additive": prob(w_add, flat, False).reshape(g1.shape),
            "surface_interaction": prob(w_int, flat, True).reshape(g1.shape),
            "accuracy": {"additive": float(np.mean((prob(w_add, xte, False) > 0.5) == yte)),
                         "additive_best_rule": best_additive_rule(xtr, ytr, xte, yte),
                         "additive_largest_weight": float(np.abs(w_add[:-1]).max()),
                         "interaction": float(np.mean((prob(w_int, xte, True) > 0.5) == yte)),
                         "interaction_emap": float(np.mean((hat > 0) == yte))},
            "weights": {"additive": w_add, "interaction": w_int}}


def demo_xor(table, task: str = "xor", modalities=("image", "audio"), n: int | None = None, seeds=(0,),
             steps: int = 100, job=None) -> dict:
    """Unimodal heads, additive late fusion and an MLP over the concatenation, with their EMAPs, for
    every seed (its own sample, split and initialisation; the seeds' networks train together).
    Accuracies are means over the seeds; ``per_seed`` holds each seed's."""
    from mmstudio.analysis.common.pairing import paired

    full = paired(table, task, modalities)
    splits = []
    for seed in seeds:
        data = _subset(full, n, seed) if n else full
        train, test = data.split(0.3, seed)
        index = np.searchsorted(full.sample_id, data.sample_id)  # rows of the subset in ``full`` (sorted by id)
        splits.append((index[train], index[test]))
    y, k = full.y, full.n_classes
    tr = lambda x: np.stack([x[a] for a, _ in splits])  # noqa: E731 - (S, n_train, d)
    te = lambda x: np.stack([x[b] for _, b in splits])  # noqa: E731
    a, b = (full.x[m] for m in modalities)
    y_tr, y_te = tr(y), te(y)
    per = {"chance": [np.bincount(t, minlength=k).max() / len(t) for t in y_te]}
    for i, m in enumerate(modalities):
        head = train_nets([tr(full.x[m])], y_tr, k, "concat", seeds=list(seeds), steps=steps, weight_decay=0.1)
        per[m] = stack_accuracies(head.probs(te(full.x[m])), y_te)
        _tick(job, i + 1, 4)
    for i, kind in enumerate(("additive", "concat")):
        net = train_nets([tr(a), tr(b)], y_tr, k, kind, seeds=list(seeds), steps=steps, weight_decay=0.1)
        name = "additive" if kind == "additive" else "mlp"
        per[name] = stack_accuracies(net.probs(te(a), te(b)), y_te)
        per[name + "_emap"] = stack_accuracies(softmax(emap_stacked(net, te(a), te(b))), y_te)
        _tick(job, i + 3, 4)
    mean = {key: float(np.mean(v)) for key, v in per.items()}
    return {"task": task, "n_train": y_tr.shape[1], "n_test": y_te.shape[1], "chance": mean["chance"],
            "unimodal": {m: mean[m] for m in modalities},
            **{key: mean[key] for key in ("additive", "additive_emap", "mlp", "mlp_emap")},
            "per_seed": {key: np.asarray(v, np.float64) for key, v in per.items()}}


def _tick(job, done, total):
    job = job or Job()
    job.check()
    job.progress(done, total)


def _subset(data, n, seed):
    from mmstudio.analysis.common.pairing import Paired

    keep = np.sort(np.random.default_rng(seed).permutation(len(data))[:n])
    return Paired(data.sample_id[keep], {m: v[keep] for m, v in data.x.items()}, data.y[keep], data.classes, data.task)


def complementarity(table=None, *, task: str = "xor", modalities=("image", "audio"), noise: float = 0.3,
                    n: int | None = None, seed: int = 0, seeds: int = SEEDS, demo: bool = True,
                    job=None) -> Complementarity:
    """±1 XOR (additive vs interaction logistic models, EMAP) and, with ``demo``, the same on the
    demo world's ``xor`` task (or ``task`` of ``table``), over ``seeds`` seeds: the fields hold
    means (the ±1 plots: the first seed's draw), ``headline`` each number's 95 % interval."""
    run = seed_list(seed, seeds)
    toys = [toy_xor(noise=noise, seed=s) for s in run]
    toy = toys[0]
    per_toy = {key: np.array([tt["accuracy"][key] for tt in toys]) for key in toy["accuracy"]}
    t = {key: float(v.mean()) for key, v in per_toy.items()}
    headline = {f"xor_pm1.{key}": estimate(v) for key, v in per_toy.items() if key != "additive_largest_weight"}
    result_demo, sizes = {}, {}
    if demo:
        if table is None:
            raise ValueError("complementarity on data needs a table (the demo world's: mmstudio.demo.table.demo_table()); "
                             "demo=False shows the ±1 XOR alone")
        result_demo = demo_xor(table, task, modalities, n=n, seeds=run, job=job)
        per = result_demo.pop("per_seed")
        sizes = {m: result_demo[m] - result_demo[m + "_emap"] for m in ("mlp", "additive")}
        headline.update({f"{task}.{key}": estimate(v) for key, v in per.items()})
        headline.update({f"{task}.{m}_interaction": estimate(per[m] - per[m + "_emap"]) for m in ("mlp", "additive")})
    toy_gain = per_toy["interaction"] - per_toy["additive_best_rule"]
    toy_checks = [Check("±1 XOR needs the interaction", above(toy_gain),
                        f"with x1·x2 {ci_text(estimate(per_toy['interaction']))} vs the best additive rule "
                        f"{ci_text(estimate(per_toy['additive_best_rule']))}; held when the interval of the "
                        "difference is above 0")]
    shown = (f"Shown: on ±1 XOR the best additive rule stops at {t['additive_best_rule']:.2f} (three corners of four; "
             f"the additive logistic fit {t['additive']:.2f}) while the x1·x2 term reaches {t['interaction']:.2f}, and its "
             f"best additive approximation (EMAP) falls back to {t['interaction_emap']:.2f}.")
    checks = toy_checks
    if demo:
        d = result_demo
        best = np.max([per[m] for m in modalities] + [per["additive"]], axis=0)
        best_single = max(d["unimodal"].values())
        checks = [Check(f"an MLP over both modalities learns {task!r}", above(per["mlp"] - per["chance"]),
                        f"{ci_text(estimate(per['mlp']))} vs chance {d['chance']:.2f} on {d['n_test']} test samples a seed"),
                  Check("it beats each modality alone and additive fusion", above(per["mlp"] - best),
                        f"{d['mlp']:.2f} vs best single {best_single:.2f}, additive {d['additive']:.2f}; "
                        f"difference {ci_text(estimate(per['mlp'] - best))}"),
                  Check("its accuracy comes from the interaction", above(per["mlp"] - per["mlp_emap"]),
                        f"accuracy − EMAP accuracy {ci_text(estimate(per['mlp'] - per['mlp_emap']))}")]
        shown += (f" On {task!r} an MLP over {' + '.join(modalities)} reaches {d['mlp']:.2f} (each alone at most "
                  f"{best_single:.2f}, additive late fusion {d['additive']:.2f}) and its EMAP {d['mlp_emap']:.2f}: "
                  f"{sizes['mlp']:.2f} of accuracy is cross-modal interaction.")
    shown += f" Means over {len(run)} seeds; every criterion is a 95 % interval over them."
    verdict = verdict_of(checks, toy_checks if demo else ())
    statement = statement_of(verdict, shown, checks + (toy_checks if demo else []))
    result = Complementarity(toy["points"], toy["labels"], toy["grid"], toy["surface_additive"],
                             toy["surface_interaction"], t, result_demo, sizes, statement,
                             numbers={"toy": t, "demo": result_demo, "interaction_size": sizes})
    result.verdict, result.checks = verdict, checks + (toy_checks if demo else [])
    result.seeds, result.headline = run, headline
    return result
