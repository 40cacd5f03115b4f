"""Redundancy and robustness: what losing a modality costs on a redundant task (``shape``: every
modality carries it) and on a complementary one (``xor``: only both together decide it).

Two ways to lose a modality, both shown: the fused model (an MLP over the concatenation)
sees the missing modality replaced by its training mean, and a model retrained on what is
left (the information that remains, whatever the fused model learned to rely on).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.principles.fit import stack_accuracies, train_nets
from mmstudio.analysis.principles.result import (
    SEEDS,
    SHOWN,
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


@dataclass
class Redundancy(Result):
    tasks: list[str]
    modalities: tuple[str, ...]
    chance: dict[str, float]                   # task → the test split's majority-class share (≥ 1/classes)
    both: dict[str, float]                     # task → fused accuracy, every modality present
    mean_filled: dict[str, dict[str, float]]   # task → removed modality → fused model, that modality mean-filled
    retrained: dict[str, dict[str, float]]     # task → removed modality → model retrained on the rest
    drop: dict[str, float]                     # task → largest accuracy drop (retrained) from removing one modality
    statement: str
    name: str = "redundancy"
    numbers: dict = field(default_factory=dict)

    def summary(self) -> list[str]:
        lines = [f"{'task':<8} {'chance':>7} {'both':>6}   " + "   ".join(
            f"{'no ' + m + ' (mean-filled / retrained)':>34}" for m in self.modalities)]
        for t in self.tasks:
            cells = "   ".join(f"{self.mean_filled[t][m]:>16.3f} / {self.retrained[t][m]:<15.3f}" for m in self.modalities)
            lines.append(f"{t:<8} {self.chance[t]:>7.3f} {self.both[t]:>6.3f}   {cells}")
        lines.append("largest drop from losing one modality (retrained): "
                     + ", ".join(f"{t} {self.drop[t]:+.3f}" for t in self.tasks))
        return lines


def redundancy(table, *, tasks=("shape", "xor"), modalities=("image", "audio"), n: int | None = None,
               seed: int = 0, seeds: int = SEEDS, steps: int = 80, job=None) -> Redundancy:
    """Every seed draws its own sample, split and initialisation; the networks of all seeds train
    together (:func:`train_nets`). The fields hold means over the seeds; ``headline`` the intervals."""
    from mmstudio.analysis.common.pairing import paired

    run = seed_list(seed, seeds)
    per: dict[str, dict] = {}   # task → name → per-seed values
    chance, n_test = {}, {}
    total, done = len(tasks) * (1 + len(modalities)), 0
    for task in tasks:
        data = paired(table, task, modalities)
        size = min(n or len(data), len(data))
        cut = int(round(0.7 * size))
        splits = []
        for s in run:
            keep = np.sort(np.random.default_rng(s).permutation(len(data))[:size])
            order = np.random.default_rng(s + 1).permutation(size)
            splits.append((keep[order[:cut]], keep[order[cut:]]))
        k = data.n_classes
        xs = [data.x[m] for m in modalities]
        tr = lambda x: np.stack([x[a] for a, _ in splits])  # noqa: E731 - (S, n_train, d)
        te = lambda x: np.stack([x[b] for _, b in splits])  # noqa: E731
        y_tr, y_te = tr(data.y), te(data.y)
        n_test[task] = y_te.shape[1]
        values = per[task] = {"chance": [np.bincount(y, minlength=k).max() / len(y) for y in y_te]}
        fused = train_nets([tr(x) for x in xs], y_tr, k, "concat", seeds=run, steps=steps, weight_decay=0.1)
        values["both"] = stack_accuracies(fused.probs(*[te(x) for x in xs]), y_te)
        done += 1
        _tick(job, done, total)
        for i, m in enumerate(modalities):
            inputs = [np.broadcast_to(tr(x).mean(axis=1, keepdims=True), te(x).shape) if j == i else te(x)
                      for j, x in enumerate(xs)]
            values[f"mean-filled {m}"] = stack_accuracies(fused.probs(*inputs), y_te)
            rest = [x for j, x in enumerate(xs) if j != i]
            net = train_nets([tr(x) for x in rest], y_tr, k, "concat", seeds=run, steps=steps, weight_decay=0.1)
            values[f"retrained {m}"] = stack_accuracies(net.probs(*[te(x) for x in rest]), y_te)
            done += 1
            _tick(job, done, total)
        values["drop"] = values["both"] - np.min([values[f"retrained {m}"] for m in modalities], axis=0)
    mean = {t: {name: float(np.mean(v)) for name, v in per[t].items()} for t in tasks}
    chance = {t: mean[t]["chance"] for t in tasks}
    both = {t: mean[t]["both"] for t in tasks}
    filled = {t: {m: mean[t][f"mean-filled {m}"] for m in modalities} for t in tasks}
    retrained = {t: {m: mean[t][f"retrained {m}"] for m in modalities} for t in tasks}
    drop = {t: mean[t]["drop"] for t in tasks}
    checks, kinds = _checks(tasks, per, modalities, n_test)
    learnt = [c for c in checks if c.claim.startswith("the fused model learns")]
    contrast = [c for c in checks if c.claim.startswith("losing a modality")]
    verdict = verdict_of(learnt + contrast)
    costs = "; ".join(f"on {t!r} losing one modality costs {ci_text(estimate(per[t]['drop']))} ({both[t]:.2f} → "
                      f"{min(retrained[t].values()):.2f}, chance {chance[t]:.2f}): {kinds[t]}" for t in tasks)
    costs += f" (means over {len(run)} seeds, 95 % intervals in brackets)"
    statement = statement_of(verdict, f"Shown: {costs}.", checks)
    if verdict != SHOWN:
        statement += f" Measured: {costs}."
    numbers = {"chance": chance, "both": both, "mean_filled": filled, "retrained": retrained, "drop": drop,
               "kind": kinds, "margin": {t: margin(n_test[t]) for t in tasks}}
    result = Redundancy(list(tasks), tuple(modalities), chance, both, filled, retrained, drop, statement,
                        numbers=numbers)
    result.verdict, result.checks, result.seeds = verdict, checks, run
    result.headline = {f"{t}.{name}": estimate(v) for t in tasks for name, v in per[t].items()}
    return result


def _checks(tasks, per, modalities, n_test) -> tuple[list[Check], dict]:
    """Per task: is it learnt at all (fused above chance beyond the seeds' noise: :func:`above`), and
    how much of what it learnt above chance is kept with one modality lost (``kept`` = (worst − chance)
    / (fused − chance), of the means): ``redundant`` when it keeps ≥ 75 % (or the drop is not above 0
    beyond the seeds' noise), ``complementary`` when it keeps ≤ 25 % (or what is left is not above
    chance beyond the noise), ``partly redundant`` in between. The principle is shown when one task
    is redundant and another complementary."""
    checks, kinds, kept = [], {}, {}
    for t in tasks:
        v = per[t]
        worst = np.min([v[f"retrained {m}"] for m in modalities], axis=0)
        both, chance = float(np.mean(v["both"])), float(np.mean(v["chance"]))
        learnt = above(np.asarray(v["both"]) - v["chance"])
        checks.append(Check(f"the fused model learns {t!r}", learnt,
                            f"{ci_text(estimate(v['both']))} vs chance {chance:.2f}, {n_test[t]} test samples a seed; "
                            "learnt when the interval of fused − chance is above 0"))
        kept[t] = (float(worst.mean()) - chance) / (both - chance) if learnt else 0.0
        if not learnt:
            kinds[t] = "not learnt, so nothing to lose"
        elif not above(v["drop"]) or kept[t] >= 0.75:
            kinds[t] = f"redundant (it keeps {kept[t]:.0%} of what it learnt above chance)"
        elif not above(worst - v["chance"]) or kept[t] <= 0.25:
            kinds[t] = f"complementary (it falls to chance: keeps {kept[t]:.0%})"
        else:
            kinds[t] = f"partly redundant (keeps {kept[t]:.0%})"
    survives = [t for t in tasks if kinds[t].startswith("redundant")]
    falls = [t for t in tasks if kinds[t].startswith("complementary")]
    checks.append(Check("losing a modality spares a redundant task", bool(survives),
                        ", ".join(f"{t} keeps {kept[t]:.0%}" for t in tasks) + "; redundant at ≥ 75 %"))
    checks.append(Check("losing a modality sends a complementary task to chance", bool(falls),
                        ", ".join(f"{t} keeps {kept[t]:.0%}" for t in tasks) + "; complementary at ≤ 25 %"))
    return checks, kinds


def _tick(job, done, total):
    job = job or Job()
    job.check()
    job.progress(done, total)
