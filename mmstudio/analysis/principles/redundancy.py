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
from mmstudio.analysis.principles.result import Result
from mmstudio.core.jobs import Job


@dataclass
class Redundancy(Result):
    tasks: list[str]
    modalities: tuple[str, ...]
    chance: dict[str, float]                   # task → majority-class accuracy
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

    chance, both, filled, retrained, drop = {}, {}, {}, {}, {}
    total, done = len(tasks) * (1 + len(modalities)), 0
    for task in tasks:
        data = paired(table, task, modalities)
        keep = np.sort(np.random.default_rng(seed).permutation(len(data))[: n or len(data)])
        xs, y, k = [data.x[m][keep] for m in modalities], data.y[keep], data.n_classes
        order = np.random.default_rng(seed + 1).permutation(len(y))
        cut = int(round(0.7 * len(y)))
        train, test = order[:cut], order[cut:]
        chance[task] = float(np.mean(y[test] == np.bincount(y[train], minlength=k).argmax()))
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
    statement = "Removing one modality " + "; ".join(
        f"on {t!r} costs {drop[t]:.2f} of accuracy ({both[t]:.2f} → {min(retrained[t].values()):.2f}, chance "
        f"{chance[t]:.2f})" for t in tasks) + (
        ": a redundant task survives the loss, a complementary one falls to chance." if set(tasks) >= {"shape", "xor"}
        else ".")
    numbers = {"chance": chance, "both": both, "mean_filled": filled, "retrained": retrained, "drop": drop}
    return Redundancy(list(tasks), tuple(modalities), chance, both, filled, retrained, drop, statement,
                      numbers=numbers)


def _tick(job, done, total):
    job = job or Job()
    job.check()
    job.progress(done, total)
