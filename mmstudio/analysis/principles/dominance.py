"""Modality dominance and OGM-GE (Peng et al., CVPR 2022, "Balanced Multimodal Learning via
On-the-fly Gradient Modulation"), evaluated the way the paper does: fused accuracy with and
without modulation, over several seeds and a sweep of α, and the under-optimised modality's
encoder scored by a linear probe.

The model: one small MLP branch per modality (its first layer + ReLU is the modality's *encoder*,
its second layer that modality's part of the fusion classifier), logits summed, trained with SGD
(momentum 0.9), logging per epoch each branch's gradient norm and its accuracy alone.

OGM-GE, per mini-batch: each branch's confidence score s_m = Σ_i softmax(branch logits)_i[y_i]; the
branch with the larger score (ratio ρ = s_m / s_other > 1) has the gradient of its encoder's weight
matrix multiplied by 1 − tanh(α·ρ); then Gaussian noise with the standard deviation of each encoder
weight matrix's (unmodulated) gradient is added to both encoders ("generalisation enhancement").
As in the authors' code, only weight matrices are touched (biases, like their batch-norm
parameters, are not), and both happen only within the modulation window (the first half of the
epochs by default, as their code modulates epochs 0–50 of 100). α = 0 is the noise alone.
SGD, not Adam: Adam's per-parameter normalisation would undo the scaling.

The task: the demo world's ``shape`` is learnt to 1.00 by the fused model, so no method can raise
it; by default both modalities' embeddings get Gaussian noise (``noise``, in units of each
coordinate's spread, drawn once per seed) so that neither modality alone nor the fused model
reaches the ceiling and the sound stays ahead of the picture.

Every run of a seed (each modality alone, plain, OGM-GE for every α, loss re-weighting) starts from
the same initialisation and sees the same mini-batches, so differences between runs are paired per
seed; all runs of all seeds train together as one stack of networks (batched matrix products).
The under-optimised modality's encoder is scored as the paper does: a linear classifier trained on
its frozen features (train split), accuracy on the test split.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.principles.result import (
    SEEDS,
    Check,
    Result,
    above,
    ci_text,
    estimate,
    margin,
    seed_list,
    statement_of,
    verdict_of,
)
from mmstudio.core.jobs import Job

ALPHAS = (0.0, 0.1, 0.3, 0.5, 1.0)
NOISE = {"image": 1.0, "audio": 2.5}   # the default task: shape with both modalities' embeddings noised


@dataclass
class Curves:
    """One training setting over the seeds: per-epoch curves, each (seeds, epochs)."""

    setting: str
    grad_norm: dict[str, np.ndarray]     # mean norm of the gradient applied to each branch (before GE noise)
    raw_grad_norm: dict[str, np.ndarray]  # the same before modulation / re-weighting
    coefficient: dict[str, np.ndarray]   # mean OGM coefficient per branch (1 without modulation)
    score_ratio: np.ndarray              # mean s_first / s_second confidence-score ratio
    unimodal_accuracy: dict[str, np.ndarray]  # test accuracy of each branch alone
    fused_accuracy: np.ndarray
    train_loss: np.ndarray
    probe: dict[str, np.ndarray]         # per seed: linear-probe test accuracy on each trained encoder
    step_ratio: np.ndarray = None        # the first seed, per mini-batch: s_first / s_second
    step_coefficient: dict[str, np.ndarray] = None  # the first seed, per mini-batch: the coefficient applied

    def grad_ratio(self, dominant: str, weak: str) -> np.ndarray:
        """(seeds, epochs): the dominant branch's gradient norm over the weak one's."""
        return self.grad_norm[dominant] / np.maximum(self.grad_norm[weak], 1e-12)

    def final(self) -> np.ndarray:
        """Per seed: the fused test accuracy after the last epoch."""
        return self.fused_accuracy[:, -1]


@dataclass
class Dominance(Result):
    task: str
    modalities: tuple[str, str]
    dominant: str
    weak: str
    alpha: float                          # the α the verdict is about
    alphas: list[float]                   # the α swept
    weights: dict[str, float]
    epochs: np.ndarray
    runs: dict[str, Curves]               # "plain", "OGM-GE α=…" per α, "re-weighted"
    alone: dict[str, Curves]              # each modality trained by itself, same recipe
    noise: dict[str, float]
    n_train: int
    n_test: int
    chance: float
    statement: str = ""
    name: str = "dominance"
    numbers: dict = field(default_factory=dict)

    def ogm(self, alpha: float | None = None) -> Curves:
        return self.runs[ogm_name(self.alpha if alpha is None else alpha)]

    def summary(self) -> list[str]:
        d, w = self.dominant, self.weak
        noise = ", ".join(f"{m} + noise {v:g}×their spread" for m, v in self.noise.items() if v)
        lines = [f"task {self.task!r} ({noise or 'embeddings as they are'}), {self.n_train} train / {self.n_test} "
                 f"test samples, {len(self.epochs)} epochs, {len(self.seeds)} seeds; dominant {d}, weak {w}; "
                 f"chance {self.chance:.3f}",
                 "mean [95 % interval] over seeds; probe = linear classifier on the trained, frozen encoder",
                 "each modality trained alone: fused " + ", ".join(f"{m} {ci_text(estimate(c.final()), 3)}"
                                                                   for m, c in self.alone.items())
                 + f"; {w} probe {ci_text(estimate(self.alone[w].probe[w]), 3)}",
                 f"{'setting':<16} {'fused':>21} {'Δ fused vs plain':>22} {w + ' probe':>21} {'grad ' + d + '/' + w:>12}"]
        plain = self.runs["plain"]
        for name, c in self.runs.items():
            delta = ci_text(estimate(c.final() - plain.final()), 3) if name != "plain" else ""
            lines.append(f"{name:<16} {ci_text(estimate(c.final()), 3):>21} {delta:>22} "
                         f"{ci_text(estimate(c.probe[w]), 3):>21} {np.mean(c.grad_ratio(d, w)):>12.2f}")
        return lines


def ogm_name(alpha: float) -> str:
    return f"OGM-GE α={alpha:g}"


def ogm_coefficients(ratio: float, alpha: float) -> tuple[float, float]:
    """OGM-GE's gradient coefficients (first branch, second branch) for the confidence-score ratio
    ρ = s_first / s_second: the branch ahead (ρ > 1 for the first, 1/ρ > 1 for the second) gets
    1 − tanh(α·its ratio), the other 1."""
    if ratio > 1:
        return 1.0 - float(np.tanh(alpha * ratio)), 1.0
    if ratio < 1:
        return 1.0, 1.0 - float(np.tanh(alpha / max(ratio, 1e-12)))
    return 1.0, 1.0


@dataclass
class _Run:
    """One training setting: which branches exist, OGM-GE's α (None: no modulation), own-loss weights."""

    name: str
    branches: tuple[bool, bool]
    alpha: float | None = None
    weights: tuple[float, float] = (0.0, 0.0)


def dominance(table, *, task: str = "shape", modalities=("image", "audio"), epochs: int = 20,
              alpha: float = 0.5, alphas=ALPHAS, weights: dict | None = None, reweight: float = 1.0,
              noise: dict | None = None, hidden: int = 64, batch_size: int = 32, lr: float = 0.05,
              n: int | None = 600, seed: int = 0, seeds: int = SEEDS, window: tuple[float, float] = (0.0, 0.5),
              job=None) -> Dominance:
    """Train, for every seed, each modality alone, the plain two-branch model, OGM-GE for every α of
    ``alphas`` (and ``alpha``, the one the verdict is about) and loss re-weighting; return their
    per-epoch curves, linear probes and the verdict.

    ``noise`` maps modality → Gaussian noise added to its embeddings, in units of each coordinate's
    spread (default :data:`NOISE`); ``{}`` leaves them as they are. ``weights`` maps modality →
    weight of its branch's own cross-entropy in the re-weighted run; by default the weak branch
    (the one the plain run leaves behind) gets ``reweight``, the other 0.
    """
    job = job or Job()
    from mmstudio.analysis.common.pairing import paired

    if len(modalities) != 2:
        raise ValueError(f"dominance needs two modalities, got {len(modalities)}")
    data = paired(table, task, modalities)
    a, b = modalities
    seed_values = seed_list(seed, seeds)
    count = min(n or len(data), len(data))
    cut = int(round(0.7 * count))
    if cut < 2 or count - cut < 2:
        raise ValueError(f"dominance: {len(data)} paired samples are too few to split into training and test sets")
    noise = dict(NOISE) if noise is None else {m: float(v) for m, v in noise.items()}
    from mmstudio.analysis.principles.sample_complexity import check_noise

    check_noise(noise, modalities)
    xs = {m: np.zeros((len(seed_values), count, data.x[m].shape[1]), np.float32) for m in modalities}
    y = np.zeros((len(seed_values), count), np.int64)
    for s, sd in enumerate(seed_values):  # each seed: its own subset, split and noise; rows [:cut] train
        rng = np.random.default_rng(sd)
        order = rng.permutation(len(data))[:count]
        y[s] = data.y[order]
        for m in modalities:
            x = data.x[m][order].astype(np.float32)
            if noise.get(m):
                x = x + (noise[m] * x[:cut].std(axis=0, keepdims=True)
                         * rng.standard_normal(x.shape)).astype(np.float32)
            xs[m][s] = (x - x[:cut].mean(axis=0)) / (x[:cut].std(axis=0) + 1e-6)
    alphas = sorted({float(v) for v in alphas} | {float(alpha)})
    lo_hi = (int(round(window[0] * epochs)), int(round(window[1] * epochs)))
    runs = [_Run(f"{a} alone", (True, False)), _Run(f"{b} alone", (False, True)), _Run("plain", (True, True))]
    runs += [_Run(ogm_name(v), (True, True), alpha=v) for v in alphas]
    if weights:
        runs.append(_Run("re-weighted", (True, True), weights=(float(weights.get(a, 0)), float(weights.get(b, 0)))))
    else:  # the weak branch is known after training: re-weight each, keep the weak one's
        runs += [_Run(f"re-weighted {a}", (True, True), weights=(reweight, 0.0)),
                 _Run(f"re-weighted {b}", (True, True), weights=(0.0, reweight))]
    job.status(f"training {len(runs)} settings × {len(seed_values)} seeds together")
    curves = _train(xs, y, cut, data.n_classes, modalities, runs, seed_values, epochs=epochs, hidden=hidden,
                    batch_size=batch_size, lr=lr, window=lo_hi, job=job)
    plain = curves["plain"]
    dominant = a if np.mean(plain.score_ratio) >= 1 else b  # the more confident branch, as OGM-GE decides
    weak = b if dominant == a else a
    if weights:
        weights = {m: float(weights.get(m, 0)) for m in modalities}
    else:
        weights = {weak: reweight, dominant: 0.0}
        curves["re-weighted"] = curves.pop(f"re-weighted {weak}")
        curves.pop(f"re-weighted {dominant}")
    alone = {m: curves.pop(f"{m} alone") for m in modalities}
    runs_out = {"plain": curves.pop("plain"), **{ogm_name(v): curves.pop(ogm_name(v)) for v in alphas},
                "re-weighted": curves.pop("re-weighted")}
    y_test = y[:, cut:]
    chance_per_seed = np.array([np.bincount(t, minlength=data.n_classes).max() / len(t) for t in y_test])
    chance = float(chance_per_seed.mean())
    m = margin(count - cut)
    headline = _headline(runs_out, alone, dominant, weak, alphas)
    main, others = _checks(task, dominant, weak, alpha, alone, runs_out, chance_per_seed, m, count - cut)
    verdict = verdict_of(main, others)
    ogm = runs_out[ogm_name(alpha)]
    shown = (f"Shown: trained together on {task!r}, the {weak} encoder learns less (probe "
             f"{ci_text(estimate(runs_out['plain'].probe[weak]))}) than trained by itself "
             f"({ci_text(estimate(alone[weak].probe[weak]))}), and OGM-GE (α = {alpha:g}) raises the fused accuracy by "
             f"{ci_text(estimate(ogm.final() - runs_out['plain'].final()))}.")
    statement = statement_of(verdict, shown, main + others)
    fused = "; ".join(f"{name} {ci_text(estimate(c.final()))}" for name, c in runs_out.items())
    probes = "; ".join(f"{name} {ci_text(estimate(c.probe[weak]))}" for name, c in runs_out.items())
    on = f"{task!r}" + (" with noise (" + ", ".join(f"{mod} + {v:g}× its spread" for mod, v in noise.items() if v)
                        + ")" if any(noise.values()) else "")
    statement += (f" Fused test accuracy on {on}, mean [95 % interval] over {len(seed_values)} seeds: {fused} (chance "
                  f"{chance:.2f}). {weak.capitalize()} encoder's linear probe: alone "
                  f"{ci_text(estimate(alone[weak].probe[weak]))}; {probes}.")
    numbers = {"chance": chance, "margin": m,
               "fused_accuracy": {name: float(c.final().mean()) for name, c in runs_out.items()},
               f"{weak}_probe": {name: float(c.probe[weak].mean()) for name, c in runs_out.items()},
               "mean_grad_ratio": {name: float(np.mean(c.grad_ratio(dominant, weak))) for name, c in runs_out.items()},
               "alone": {mod: float(c.final().mean()) for mod, c in alone.items()}}
    result = Dominance(task, tuple(modalities), dominant, weak, float(alpha), alphas, weights,
                       np.arange(1, epochs + 1), runs_out, alone, noise, cut, count - cut, chance, statement,
                       numbers=numbers)
    result.verdict, result.checks = verdict, main + others
    result.seeds, result.headline = seed_values, headline
    return result


def _headline(runs, alone, dominant, weak, alphas) -> dict:
    plain = runs["plain"]
    out = {f"fused accuracy: {name}": estimate(c.final()) for name, c in runs.items()}
    out.update({f"fused accuracy: {m} alone": estimate(c.final()) for m, c in alone.items()})
    for v in alphas:
        out[f"fused accuracy gain: {ogm_name(v)} − plain"] = estimate(runs[ogm_name(v)].final() - plain.final())
    out["fused accuracy gain: re-weighted − plain"] = estimate(runs["re-weighted"].final() - plain.final())
    out.update({f"{weak} probe: {name}": estimate(c.probe[weak]) for name, c in runs.items()})
    out[f"{weak} probe: {weak} alone"] = estimate(alone[weak].probe[weak])
    out[f"{weak} probe deficit: alone − plain"] = estimate(alone[weak].probe[weak] - plain.probe[weak])
    for v in alphas:
        out[f"{weak} probe gain: {ogm_name(v)} − plain"] = estimate(runs[ogm_name(v)].probe[weak] - plain.probe[weak])
    out.update({f"gradient ratio {dominant}/{weak}: {name}": estimate(c.grad_ratio(dominant, weak).mean(axis=1))
                for name, c in runs.items()})
    return out


def _checks(task, dominant, weak, alpha, alone, runs, chance, m, n_test) -> tuple[list[Check], list[Check]]:
    """Main claims (each a paired comparison over seeds: the 95 % interval of the per-seed differences
    clears the threshold): some modality learns the task alone (by more than the test split's margin
    ``m`` above chance), the weak encoder learns less trained together than alone (modality
    imbalance, linear probes), the plain fused model is below the ceiling (1 − its accuracy exceeds
    two standard errors of that accuracy on the test split: there is room for a gain), and OGM-GE at
    ``alpha`` raises the fused accuracy. Others: it raises
    the weak encoder's probe and lowers the gradient ratio; re-weighting lifts the weak encoder and
    does not lower the fused accuracy."""
    plain, ogm, rew = runs["plain"], runs[ogm_name(alpha)], runs["re-weighted"]
    best = max(alone, key=lambda mod: alone[mod].final().mean())
    deficit = alone[weak].probe[weak] - plain.probe[weak]
    gain = ogm.final() - plain.final()
    probe_gain = ogm.probe[weak] - plain.probe[weak]
    ratio_drop = plain.grad_ratio(dominant, weak).mean(axis=1) - ogm.grad_ratio(dominant, weak).mean(axis=1)
    rew_lift = rew.probe[weak] - plain.probe[weak]
    rew_cost = plain.final() - rew.final()
    room = 1.0 - float(plain.final().mean())
    main = [
        Check(f"a modality learns {task!r} alone", above(alone[best].final() - chance, m),
              f"{best} alone {ci_text(estimate(alone[best].final()))} vs chance {chance.mean():.2f}, margin {m:.2f}"),
        Check(f"the {weak} encoder learns less trained together than alone", above(deficit, 0.0),
              f"linear probe {ci_text(estimate(plain.probe[weak]))} together vs "
              f"{ci_text(estimate(alone[weak].probe[weak]))} alone: difference {ci_text(estimate(deficit))}"),
        Check("the plain fused model is below the ceiling", room > margin(n_test, 1 - room),
              f"{ci_text(estimate(plain.final()))}: {room:.3f} below 1, two standard errors "
              f"{margin(n_test, 1 - room):.3f}"),
        Check(f"OGM-GE (α = {alpha:g}) raises the fused accuracy", above(gain, 0.0),
              f"plain {ci_text(estimate(plain.final()))} → {ci_text(estimate(ogm.final()))}: "
              f"difference {ci_text(estimate(gain))}"),
    ]
    others = [
        Check(f"OGM-GE (α = {alpha:g}) raises the {weak} encoder's probe accuracy", above(probe_gain, 0.0),
              f"{ci_text(estimate(plain.probe[weak]))} → {ci_text(estimate(ogm.probe[weak]))}: "
              f"difference {ci_text(estimate(probe_gain))}"),
        Check(f"OGM-GE (α = {alpha:g}) lowers the {dominant}/{weak} gradient ratio", above(ratio_drop, 0.0),
              f"{plain.grad_ratio(dominant, weak).mean():.2f} → {ogm.grad_ratio(dominant, weak).mean():.2f}: "
              f"drop {ci_text(estimate(ratio_drop))}"),
        Check(f"re-weighting lifts the {weak} encoder", above(rew_lift, 0.0),
              f"probe {ci_text(estimate(plain.probe[weak]))} → {ci_text(estimate(rew.probe[weak]))}: "
              f"difference {ci_text(estimate(rew_lift))}"),
        Check("re-weighting does not lower the fused accuracy", not above(rew_cost, 0.0),
              f"{ci_text(estimate(plain.final()))} → {ci_text(estimate(rew.final()))}: "
              f"difference {ci_text(estimate(-rew_cost))}"),
    ]
    return main, others


def _train(xs, y, cut, k, modalities, runs, seeds, *, epochs, hidden, batch_size, lr, window, job) -> dict:
    """Every run × seed as one stack of two-branch networks (member r·S + s: run r, seed s), trained
    by mini-batch SGD with batched products; each member's loss is its own, so the members share
    nothing but the arithmetic. Returns run name → :class:`Curves`."""
    import torch

    from mmstudio.analysis.common.torch_threads import threads_for
    from mmstudio.analysis.principles.fit import SGD

    f = torch.nn.functional
    r_count, s_count = len(runs), len(seeds)
    members = r_count * s_count
    first, second = modalities
    with threads_for(batch_size * hidden * 256 * 3):  # per member: small, whatever the count
        params = {}
        inits = []
        for sd in seeds:  # the initialisation nn.Linear draws for this seed, shared by all its runs
            torch.manual_seed(sd)
            inits.append({mod: [torch.nn.Linear(xs[mod].shape[2], hidden), torch.nn.Linear(hidden, k)]
                          for mod in modalities})
        for mod in modalities:
            layers = []
            for li in range(2):
                w = torch.stack([inits[s][mod][li].weight.detach().T for s in range(s_count)]).repeat(r_count, 1, 1)
                bias = torch.stack([inits[s][mod][li].bias.detach()[None] for s in range(s_count)]).repeat(r_count, 1, 1)
                layers.append((w.contiguous().requires_grad_(), bias.contiguous().requires_grad_()))
            params[mod] = layers
        opt = SGD([p for mod in modalities for pair in params[mod] for p in pair], lr=lr, momentum=0.9,
                  weight_decay=1e-4)
        present = torch.tensor([[run.branches[i] for i in range(2)] for run in runs for _ in seeds], dtype=torch.float32)
        alpha = torch.tensor([run.alpha if run.alpha is not None else 0.0 for run in runs for _ in seeds])
        modulated = torch.tensor([run.alpha is not None for run in runs for _ in seeds])
        with_ogm = [r for r, run in enumerate(runs) if run.alpha is not None]   # contiguous runs
        ogm = slice(with_ogm[0] * s_count, (with_ogm[-1] + 1) * s_count) if with_ogm else slice(0, 0)
        own = torch.tensor([run.weights for run in runs for _ in seeds], dtype=torch.float32)
        tx = {mod: torch.as_tensor(xs[mod]) for mod in modalities}
        ty = torch.as_tensor(y)
        gens = [torch.Generator().manual_seed(sd) for sd in seeds]
        noise_gen = torch.Generator().manual_seed(seeds[0] + 17)
        rows = torch.arange(s_count)[:, None]
        n_train = cut
        log = {key: {mod: np.zeros((members, epochs)) for mod in modalities} for key in ("grad", "raw", "coef", "acc")}
        ratio_log, fused_log, loss_log = (np.zeros((members, epochs)) for _ in range(3))
        step_ratio, step_coef = [], {mod: [] for mod in modalities}

        def branch(mod, x):
            (w1, b1), (w2, b2) = params[mod]
            return torch.baddbmm(b2, torch.relu(torch.baddbmm(b1, x, w1)), w2)

        for epoch in range(epochs):
            modulate = window[0] <= epoch < window[1]
            perms = torch.stack([torch.randperm(n_train, generator=g) for g in gens])     # (S, n_train)
            sums = {key: {mod: torch.zeros(members) for mod in modalities} for key in ("grad", "raw", "coef")}
            ratio_sum, loss_sum, steps = torch.zeros(members), torch.zeros(members), 0
            for start in range(0, n_train, batch_size):
                idx = perms[:, start:start + batch_size]                                  # (S, B)
                target = ty[rows, idx].repeat(r_count, 1)                                 # (M, B)
                outs = {mod: branch(mod, tx[mod][rows, idx].repeat(r_count, 1, 1)) * present[:, i, None, None]
                        for i, mod in enumerate(modalities)}
                fused = outs[first] + outs[second]
                per_member = f.cross_entropy(fused.transpose(1, 2), target, reduction="none").mean(dim=1)
                for i, mod in enumerate(modalities):
                    if bool(own[:, i].any()):
                        per_member = per_member + own[:, i] * f.cross_entropy(outs[mod].transpose(1, 2), target,
                                                                              reduction="none").mean(dim=1)
                opt.zero_grad()
                per_member.sum().backward()
                with torch.no_grad():
                    score = {mod: f.softmax(outs[mod], dim=2).gather(2, target[:, :, None]).sum(dim=(1, 2))
                             for mod in modalities}
                    ratio = score[first] / score[second].clamp_min(1e-12)
                    coef = {mod: torch.ones(members) for mod in modalities}
                    if modulate:
                        ahead_first, ahead_second = ratio > 1, ratio < 1
                        c1 = torch.where(ahead_first, 1 - torch.tanh(alpha * ratio), 1.0)
                        c2 = torch.where(ahead_second, 1 - torch.tanh(alpha / ratio.clamp_min(1e-12)), 1.0)
                        coef[first] = torch.where(modulated, c1, 1.0)
                        coef[second] = torch.where(modulated, c2, 1.0)
                    for mod in modalities:
                        squares = [(p.grad * p.grad).sum(dim=(1, 2)) for pair in params[mod] for p in pair]
                        raw = sum(squares)
                        sums["raw"][mod] += torch.sqrt(raw)
                        sums["coef"][mod] += coef[mod]
                        if not modulate:
                            sums["grad"][mod] += torch.sqrt(raw)
                            continue
                        # the encoder's weight matrix: × coefficient, then noise of its unmodulated spread
                        encoder = params[mod][0][0].grad[ogm]                              # (runs·S, d, hidden)
                        spread = encoder.reshape(len(encoder), -1).std(dim=1)
                        c = coef[mod][ogm]
                        encoder.mul_(c[:, None, None])
                        applied = raw.clone()
                        applied[ogm] += (c * c - 1) * squares[0][ogm]
                        sums["grad"][mod] += torch.sqrt(applied.clamp_min(0))
                        encoder.add_(torch.randn(encoder.shape, generator=noise_gen) * (spread + 1e-8)[:, None, None])
                    ratio_sum += ratio
                    loss_sum += per_member.detach()
                    step_ratio.append(ratio[::s_count].numpy().copy())                    # first seed, every run
                    for mod in modalities:
                        step_coef[mod].append(coef[mod][::s_count].numpy().copy())
                opt.step()
                steps += 1
            with torch.no_grad():
                te = torch.arange(cut, ty.shape[1])
                target = ty[:, te].repeat(r_count, 1)
                outs = {mod: branch(mod, tx[mod][:, te].repeat(r_count, 1, 1)) * present[:, i, None, None]
                        for i, mod in enumerate(modalities)}
                for mod in modalities:
                    log["acc"][mod][:, epoch] = (outs[mod].argmax(2) == target).float().mean(dim=1).numpy()
                fused_log[:, epoch] = ((outs[first] + outs[second]).argmax(2) == target).float().mean(dim=1).numpy()
            for key in ("grad", "raw", "coef"):
                for mod in modalities:
                    log[key][mod][:, epoch] = (sums[key][mod] / steps).numpy()
            ratio_log[:, epoch] = (ratio_sum / steps).numpy()
            loss_log[:, epoch] = (loss_sum / steps).numpy()
            job.check()
            job.progress(epoch + 1, epochs + 1)
        job.status("linear probes on the trained encoders")
        probe = _probes(params, tx, ty, cut, k, modalities, r_count)
        job.progress(epochs + 1, epochs + 1)
    step_ratio = np.array(step_ratio)                    # (steps, runs)
    step_coef = {mod: np.array(v) for mod, v in step_coef.items()}
    out = {}
    for r, run in enumerate(runs):
        part = slice(r * s_count, (r + 1) * s_count)
        present_mods = [mod for i, mod in enumerate(modalities) if run.branches[i]]
        out[run.name] = Curves(
            run.name, {mod: log["grad"][mod][part] for mod in modalities}, {mod: log["raw"][mod][part] for mod in modalities},
            {mod: log["coef"][mod][part] for mod in modalities}, ratio_log[part],
            {mod: log["acc"][mod][part] for mod in modalities}, fused_log[part], loss_log[part],
            {mod: probe[mod][part] for mod in present_mods}, step_ratio[:, r],
            {mod: step_coef[mod][:, r] for mod in modalities})
    return out


def _probes(params, tx, ty, cut, k, modalities, r_count, ridge: float = 1.0) -> dict:
    """Per modality, per member: test accuracy of a linear probe on the member's frozen encoder
    features — a ridge classifier (least squares onto ±1 class indicators with an intercept and
    penalty ``ridge``·‖W‖², on features standardised with the training split's statistics; the
    classifier of scikit-learn's ``RidgeClassifier``), fitted on the seed's training split in closed
    form, one batched solve for all members."""
    import torch

    out = {}
    y_train = ty[:, :cut].repeat(r_count, 1)
    y_test = ty[:, cut:].repeat(r_count, 1)
    targets = torch.nn.functional.one_hot(y_train, k).double() * 2 - 1            # (M, n, k) in ±1
    with torch.no_grad():
        for mod in modalities:
            (w1, b1), _ = params[mod]
            feats = torch.relu(torch.baddbmm(b1, tx[mod].repeat(r_count, 1, 1), w1)).double()
            mean = feats[:, :cut].mean(dim=1, keepdim=True)
            scale = feats[:, :cut].std(dim=1, keepdim=True, correction=0)
            feats = (feats - mean) / torch.where(scale > 0, scale, 1.0)
            train, test = feats[:, :cut], feats[:, cut:]
            x_mean, t_mean = train.mean(dim=1, keepdim=True), targets.mean(dim=1, keepdim=True)
            xc = train - x_mean
            gram = xc.transpose(1, 2) @ xc + ridge * torch.eye(feats.shape[2], dtype=torch.float64)
            w = torch.linalg.solve(gram, xc.transpose(1, 2) @ (targets - t_mean))
            scores = (test - x_mean) @ w + t_mean
            out[mod] = (scores.argmax(dim=2) == y_test).double().mean(dim=1).numpy()
    return out
