"""Modality dominance: a two-branch model (one small MLP per modality, logits summed) trained
with SGD, logging per epoch each branch's gradient norm and its accuracy alone; plain, with
OGM-GE (Peng et al., CVPR 2022) and with per-modality loss re-weighting.

OGM-GE, per mini-batch, as Peng et al. evaluate it: each branch's confidence score
s_m = Σ_i softmax(branch logits)_i[y_i]; the branch with the larger score (ratio ρ = s_m / s_other > 1)
has the gradient of its *encoder* (the branch's first layer; the layer that feeds the summed logits is
the fusion classifier and is left alone) multiplied by 1 − tanh(α·ρ); then Gaussian noise with the
standard deviation of each encoder weight's gradient is added ("generalisation enhancement"). Both
happen only within the modulation window (the first half of the epochs by default, as the authors'
code modulates epochs 0–50 of 100).
SGD with momentum, not Adam: Adam's per-parameter normalisation would undo the scaling.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.principles.result import Check, Result, margin, statement_of, verdict_of
from mmstudio.core.jobs import Job


@dataclass
class Curves:
    """One training run: per-epoch curves (one entry per epoch)."""

    setting: str
    grad_norm: dict[str, np.ndarray]     # mean norm of the gradient applied to each branch (before GE noise)
    raw_grad_norm: dict[str, np.ndarray]  # the same before modulation / re-weighting
    coefficient: dict[str, np.ndarray]   # mean OGM coefficient per branch (1 without modulation)
    score_ratio: np.ndarray              # mean s_first / s_second confidence-score ratio
    unimodal_accuracy: dict[str, np.ndarray]  # test accuracy of each branch alone
    fused_accuracy: np.ndarray
    train_loss: np.ndarray
    step_ratio: np.ndarray = None         # per mini-batch: s_first / s_second
    step_coefficient: dict[str, np.ndarray] = None  # per mini-batch: the coefficient applied to each branch

    def grad_ratio(self, dominant: str, weak: str) -> np.ndarray:
        return self.grad_norm[dominant] / np.maximum(self.grad_norm[weak], 1e-12)


@dataclass
class Dominance(Result):
    task: str
    modalities: tuple[str, str]
    dominant: str
    weak: str
    alpha: float
    weights: dict[str, float]
    epochs: np.ndarray
    runs: dict[str, Curves]
    alone: dict[str, float]              # each modality trained by itself, same recipe: final test accuracy
    weaken: dict[str, float]
    statement: str = ""
    name: str = "dominance"
    numbers: dict = field(default_factory=dict)

    def summary(self) -> list[str]:
        d, w = self.dominant, self.weak
        noise = ", ".join(f"{m} embeddings + noise {v:g}×their spread" for m, v in self.weaken.items() if v)
        lines = [f"task {self.task!r}, {len(self.epochs)} epochs, dominant {d}, weak {w}" + (f" ({noise})" if noise else ""),
                 "each modality trained alone: " + ", ".join(f"{m} {a:.3f}" for m, a in self.alone.items()),
                 f"{'setting':<12} {'fused':>6} {d + ' alone':>12} {w + ' alone':>12} {'grad ' + d + '/' + w:>14}"]
        for name, c in self.runs.items():
            lines.append(f"{name:<12} {c.fused_accuracy[-1]:>6.3f} {c.unimodal_accuracy[d][-1]:>12.3f} "
                         f"{c.unimodal_accuracy[w][-1]:>12.3f} {np.mean(c.grad_ratio(d, w)):>14.2f}")
        return lines


def ogm_coefficients(ratio: float, alpha: float) -> tuple[float, float]:
    """OGM-GE's gradient coefficients (first branch, second branch) for the confidence-score ratio
    ρ = s_first / s_second: the branch ahead (ρ > 1 for the first, 1/ρ > 1 for the second) gets
    1 − tanh(α·its ratio), the other 1."""
    if ratio > 1:
        return 1.0 - float(np.tanh(alpha * ratio)), 1.0
    if ratio < 1:
        return 1.0, 1.0 - float(np.tanh(alpha / max(ratio, 1e-12)))
    return 1.0, 1.0


def dominance(table, *, task: str = "shape", modalities=("image", "audio"), epochs: int = 20,
              alpha: float = 0.5, weights: dict | None = None, reweight: float = 1.0, weaken: dict | None = None,
              hidden: int = 64, batch_size: int = 32, lr: float = 0.05, n: int | None = 600, seed: int = 0,
              window: tuple[float, float] = (0.0, 0.5), job=None) -> Dominance:
    """Train plain / OGM-GE / re-weighted two-branch models and return their per-epoch curves.

    ``weaken`` maps modality → Gaussian noise added to its embeddings, in units of each
    coordinate's spread, so that one branch is clearly slower to learn; default ``{"image": 1.0}``
    (on ``shape`` the sound is already learnt faster than the picture; the noise widens the gap).
    ``weights`` maps modality → weight of its branch's own cross-entropy in the re-weighted run;
    by default the weak branch (the one the plain run left behind) gets ``reweight``, the other 0.
    """
    job = job or Job()
    from mmstudio.analysis.common.pairing import paired

    data = paired(table, task, modalities)
    a, b = modalities
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data))[: n or len(data)]
    cut = int(round(0.7 * len(order)))
    train, test = order[:cut], order[cut:]
    xs = {m: data.x[m].astype(np.float32) for m in modalities}
    weaken = {"image": 1.0} if weaken is None else dict(weaken)
    for m, level in weaken.items():
        if m in xs and level:
            spread = xs[m][train].std(axis=0, keepdims=True)
            xs[m] = xs[m] + (level * spread * rng.standard_normal(xs[m].shape)).astype(np.float32)
    mean = {m: xs[m][train].mean(axis=0) for m in modalities}
    std = {m: xs[m][train].std(axis=0) + 1e-6 for m in modalities}
    xs = {m: (xs[m] - mean[m]) / std[m] for m in modalities}
    setup = dict(xs=xs, y=data.y, train=train, test=test, k=data.n_classes, modalities=modalities, epochs=epochs,
                 hidden=hidden, batch_size=batch_size, lr=lr, seed=seed, alpha=alpha,
                 window=(int(round(window[0] * epochs)), int(round(window[1] * epochs))))
    total = 5 * epochs
    step = [0]

    def tick():
        step[0] += 1
        job.check()
        job.progress(step[0], total)

    alone = {m: _train(**{**setup, "modalities": (m,)}, mode="plain", tick=tick).fused_accuracy[-1]
             for m in modalities}
    runs = {"plain": _train(**setup, mode="plain", tick=tick)}
    plain = runs["plain"]
    dominant = a if np.mean(plain.score_ratio) >= 1 else b  # the more confident branch, as OGM-GE decides
    weak = b if dominant == a else a
    runs["OGM-GE"] = _train(**setup, mode="ogm-ge", tick=tick)
    weights = dict(weights) if weights else {weak: reweight, dominant: 0.0}
    runs["re-weighted"] = _train(**setup, mode="reweight", weights=weights, tick=tick)
    numbers = {name: {"fused_accuracy": float(c.fused_accuracy[-1]),
                      f"{dominant}_accuracy": float(c.unimodal_accuracy[dominant][-1]),
                      f"{weak}_accuracy": float(c.unimodal_accuracy[weak][-1]),
                      "mean_grad_ratio": float(np.mean(c.grad_ratio(dominant, weak)))} for name, c in runs.items()}
    y_test = data.y[test]
    chance = float(np.bincount(y_test, minlength=data.n_classes).max() / max(len(test), 1))
    main, others = _checks(task, dominant, weak, alpha, alone, runs, numbers, chance, margin(len(test)))
    verdict = verdict_of(main, others)
    fused = {name: numbers[name]["fused_accuracy"] for name in runs}
    shown = (f"Shown: trained together on {task!r}, the {weak} branch learns less ({plain.unimodal_accuracy[weak][-1]:.2f}) "
             f"than trained by itself ({alone[weak]:.2f}) while the {dominant} branch takes "
             f"{numbers['plain']['mean_grad_ratio']:.2f}× its gradients.")
    statement = statement_of(verdict, shown, main + others)
    statement += (f" Fused accuracy: plain {fused['plain']:.2f}, OGM-GE (α = {alpha:g}) {fused['OGM-GE']:.2f}, "
                  f"re-weighted {fused['re-weighted']:.2f} (chance {chance:.2f}).")
    numbers["chance"] = chance
    result = Dominance(task, tuple(modalities), dominant, weak, alpha, weights, np.arange(1, epochs + 1), runs,
                       {m: float(v) for m, v in alone.items()}, weaken, statement, numbers=numbers)
    result.verdict, result.checks = verdict, main + others
    return result


def _checks(task, dominant, weak, alpha, alone, runs, numbers, chance, m) -> tuple[list[Check], list[Check]]:
    """Main claims: some modality learns the task alone, and the weak branch learns less trained
    together than alone (modality imbalance). Others: OGM-GE lowers the gradient ratio, re-weighting
    lifts the weak branch, and neither costs fused accuracy. Accuracy differences count above ``m``."""
    plain, rew = runs["plain"], runs["re-weighted"]
    weak_plain = float(plain.unimodal_accuracy[weak][-1])
    best_alone = max(alone, key=alone.get)
    main = [
        Check(f"a modality learns {task!r} alone", alone[best_alone] - chance > m,
              f"{best_alone} alone {alone[best_alone]:.2f} vs chance {chance:.2f}, margin {m:.2f}"),
        Check(f"the {weak} branch learns less trained together than alone", alone[weak] - weak_plain > m,
              f"{weak_plain:.2f} together vs {alone[weak]:.2f} alone, margin {m:.2f}"),
    ]
    others = [
        Check(f"OGM-GE (α = {alpha:g}) lowers the {dominant}/{weak} gradient ratio",
              numbers["OGM-GE"]["mean_grad_ratio"] < numbers["plain"]["mean_grad_ratio"],
              f"{numbers['plain']['mean_grad_ratio']:.2f} → {numbers['OGM-GE']['mean_grad_ratio']:.2f}"),
        Check(f"re-weighting lifts the {weak} branch", float(rew.unimodal_accuracy[weak][-1]) - weak_plain > m,
              f"{weak_plain:.2f} → {float(rew.unimodal_accuracy[weak][-1]):.2f}, margin {m:.2f}"),
        Check("OGM-GE keeps the fused accuracy", numbers["OGM-GE"]["fused_accuracy"] >= numbers["plain"]["fused_accuracy"] - m,
              f"{numbers['plain']['fused_accuracy']:.2f} → {numbers['OGM-GE']['fused_accuracy']:.2f}"),
        Check("re-weighting keeps the fused accuracy",
              numbers["re-weighted"]["fused_accuracy"] >= numbers["plain"]["fused_accuracy"] - m,
              f"{numbers['plain']['fused_accuracy']:.2f} → {numbers['re-weighted']['fused_accuracy']:.2f}"),
    ]
    return main, others


def _train(xs, y, train, test, k, modalities, epochs, hidden, batch_size, lr, seed, alpha, mode,
           tick, weights=None, window=(0, 10**9)) -> Curves:
    import torch
    from torch import nn

    from mmstudio.analysis.common.torch_threads import threads_for
    from mmstudio.analysis.principles.fit import SGD

    f = torch.nn.functional
    with threads_for(batch_size * hidden * 256 * 3):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        branches = {m: nn.Sequential(nn.Linear(xs[m].shape[1], hidden), nn.ReLU(), nn.Linear(hidden, k))
                    for m in modalities}
        params = [p for br in branches.values() for p in br.parameters()]
        opt = SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4)
        tx = {m: torch.as_tensor(xs[m]) for m in modalities}
        ty = torch.as_tensor(y, dtype=torch.long)
        log = {key: {m: [] for m in modalities} for key in ("grad", "raw", "coef", "acc")}
        ratio_log, fused_log, loss_log, step_ratio, step_coef = [], [], [], [], {m: [] for m in modalities}
        train_t = torch.as_tensor(train)
        for epoch in range(epochs):
            modulate = mode == "ogm-ge" and window[0] <= epoch < window[1]
            sums = {key: {m: 0.0 for m in modalities} for key in ("grad", "raw", "coef")}
            ratios, losses, steps = [], [], 0
            perm = train_t[torch.randperm(len(train_t), generator=gen)]
            for start in range(0, len(perm), batch_size):
                idx = perm[start:start + batch_size]
                outs = {m: branches[m](tx[m][idx]) for m in modalities}
                target = ty[idx]
                loss = f.cross_entropy(sum(outs.values()), target)
                if mode == "reweight":
                    loss = loss + sum(w * f.cross_entropy(outs[m], target) for m, w in weights.items() if w)
                opt.zero_grad()
                loss.backward()
                coef = dict.fromkeys(modalities, 1.0)
                if len(modalities) == 2:
                    with torch.no_grad():
                        score = {m: f.softmax(outs[m], dim=1).gather(1, target[:, None]).sum().item() for m in modalities}
                    first, second = modalities
                    ratio = score[first] / max(score[second], 1e-12)
                    ratios.append(ratio)
                    step_ratio.append(ratio)
                    if modulate:
                        coef[first], coef[second] = ogm_coefficients(ratio, alpha)
                for m in modalities:
                    grads = [p.grad for p in branches[m].parameters()]
                    encoder = [p.grad for p in branches[m][0].parameters()]   # the first layer: the encoder
                    sums["raw"][m] += float(torch.sqrt(sum((g ** 2).sum() for g in grads)))
                    if modulate:
                        for g in encoder:
                            g.mul_(coef[m])
                    sums["grad"][m] += float(torch.sqrt(sum((g ** 2).sum() for g in grads)))
                    sums["coef"][m] += coef[m]
                    step_coef[m].append(coef[m])
                    if modulate:
                        for g in encoder:
                            if g.numel() > 1:
                                g.add_(torch.randn(g.shape, generator=gen) * (g.std() + 1e-8))
                opt.step()
                losses.append(loss.item())
                steps += 1
            with torch.no_grad():
                te = torch.as_tensor(test)
                outs = {m: branches[m](tx[m][te]) for m in modalities}
                for m in modalities:
                    log["acc"][m].append(float((outs[m].argmax(1) == ty[te]).float().mean()))
                fused_log.append(float((sum(outs.values()).argmax(1) == ty[te]).float().mean()))
            for key in ("grad", "raw", "coef"):
                for m in modalities:
                    log[key][m].append(sums[key][m] / steps)
            ratio_log.append(float(np.mean(ratios)) if ratios else 1.0)
            loss_log.append(float(np.mean(losses)))
            tick()
    arr = {key: {m: np.array(v) for m, v in d.items()} for key, d in log.items()}
    return Curves(mode, arr["grad"], arr["raw"], arr["coef"], np.array(ratio_log), arr["acc"],
                  np.array(fused_log), np.array(loss_log), np.array(step_ratio),
                  {m: np.array(v) for m, v in step_coef.items()})
