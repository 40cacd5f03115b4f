"""Redundancy and robustness: what losing a modality costs on a redundant task (``shape``: every
modality carries it) and on a complementary one (``xor``: only both together decide it).

Two ways to lose a modality, both shown: the fused model (an MLP over the concatenation)
sees the missing modality replaced by its training mean, and a model retrained on what is
left (the information that remains, whatever the fused model learned to rely on).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.common.classifier_metrics import accuracy
from mmstudio.analysis.principles.fit import train_net
from mmstudio.analysis.principles.result import SHOWN, Check, Result, margin, statement_of, verdict_of
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
               seed: int = 0, job=None) -> Redundancy:
    from mmstudio.analysis.common.pairing import paired

    chance, both, filled, retrained, drop, n_test = {}, {}, {}, {}, {}, {}
    total, done = len(tasks) * (1 + len(modalities)), 0
    for task in tasks:
        data = paired(table, task, modalities)
        keep = np.sort(np.random.default_rng(seed).permutation(len(data))[: n or len(data)])
        xs, y, k = [data.x[m][keep] for m in modalities], data.y[keep], data.n_classes
        order = np.random.default_rng(seed + 1).permutation(len(y))
        cut = int(round(0.7 * len(y)))
        train, test = order[:cut], order[cut:]
        n_test[task] = len(test)
        chance[task] = float(np.bincount(y[test], minlength=k).max() / len(test))  # the best constant guess, ≥ 1/k
        fused = train_net([x[train] for x in xs], y[train], k, "concat", weight_decay=0.1, seed=seed)
        both[task] = accuracy(fused.probs(*[x[test] for x in xs]), y[test])
        done += 1
        _tick(job, done, total)
        filled[task], retrained[task] = {}, {}
        for i, m in enumerate(modalities):
            inputs = [np.broadcast_to(x[train].mean(axis=0), x[test].shape) if j == i else x[test]
                      for j, x in enumerate(xs)]
            filled[task][m] = accuracy(fused.probs(*inputs), y[test])
            rest = [x for j, x in enumerate(xs) if j != i]
            net = train_net([x[train] for x in rest], y[train], k, "concat", weight_decay=0.1, seed=seed)
            retrained[task][m] = accuracy(net.probs(*[x[test] for x in rest]), y[test])
            done += 1
            _tick(job, done, total)
        drop[task] = both[task] - min(retrained[task].values())
    checks, kinds = _checks(tasks, chance, both, retrained, drop, n_test)
    learnt = [c for c in checks if c.claim.startswith("the fused model learns")]
    contrast = [c for c in checks if c.claim.startswith("losing a modality")]
    verdict = verdict_of(learnt + contrast)
    costs = "; ".join(f"on {t!r} losing one modality costs {drop[t]:.2f} ({both[t]:.2f} → "
                      f"{min(retrained[t].values()):.2f}, chance {chance[t]:.2f}): {kinds[t]}" for t in tasks)
    statement = statement_of(verdict, f"Shown: {costs}.", checks)
    if verdict != SHOWN:
        statement += f" Measured: {costs}."
    numbers = {"chance": chance, "both": both, "mean_filled": filled, "retrained": retrained, "drop": drop,
               "kind": kinds, "margin": {t: margin(n_test[t]) for t in tasks}}
    result = Redundancy(list(tasks), tuple(modalities), chance, both, filled, retrained, drop, statement,
                        numbers=numbers)
    result.verdict, result.checks = verdict, checks
    return result


def _checks(tasks, chance, both, retrained, drop, n_test) -> tuple[list[Check], dict]:
    """Per task: is it learnt at all (fused above chance by more than the margin), and how much of what
    it learnt above chance is kept with one modality lost (``kept`` = (worst − chance) / (fused − chance)):
    ``redundant`` when it keeps ≥ 75 % (or the drop is within the margin), ``complementary`` when it keeps
    ≤ 25 % (or what is left is within the margin of chance), ``partly redundant`` in between. The principle
    is shown when one task is redundant and another complementary."""
    checks, kinds, kept = [], {}, {}
    for t in tasks:
        m = margin(n_test[t])
        worst = min(retrained[t].values())
        learnt = both[t] - chance[t] > m
        checks.append(Check(f"the fused model learns {t!r}", learnt,
                            f"{both[t]:.2f} vs chance {chance[t]:.2f}, margin {m:.2f} on {n_test[t]} test samples"))
        kept[t] = (worst - chance[t]) / (both[t] - chance[t]) if learnt else 0.0
        if not learnt:
            kinds[t] = "not learnt, so nothing to lose"
        elif drop[t] <= m or kept[t] >= 0.75:
            kinds[t] = f"redundant (it keeps {kept[t]:.0%} of what it learnt above chance)"
        elif worst - chance[t] <= m or kept[t] <= 0.25:
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
