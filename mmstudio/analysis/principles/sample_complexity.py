"""Sample complexity: accuracy against the number of training samples (log-spaced) for each
modality alone and for their fusion, with a lower bound on the mutual information between
the inputs and the label, per modality set.

The bound: for any predictor q, I(X; Y) = H(Y) − H(Y | X) ≥ H(Y) − E[−log₂ q(y | x)], so a
held-out cross-entropy (in bits) below the label entropy *estimates* a lower bound on that much
information (an estimate: both terms are measured on the test split, H(Y) included, and carry its
sampling error; the 95 % interval at the largest size is a bootstrap over the test samples).
The predictor is the trained MLP with a temperature fitted on half of the test set and scored
on the other half (both ways); the bound is clipped at 0 (I ≥ 0 anyway).

Samples to target: the smallest training size at which a modality set's mean accuracy reaches
the target, chance + 80 % of the way to the best accuracy any set reaches with the most samples
(None: not reached). Accuracies carry a 95 % t-interval over the repeats.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.common.classifier_metrics import accuracy
from mmstudio.analysis.principles.fit import LN2, entropy_bits, heldout_cross_entropy, train_net
from mmstudio.analysis.principles.result import Check, Result, margin, statement_of, verdict_of
from mmstudio.core.jobs import Job


@dataclass
class SampleComplexity(Result):
    task: str
    sizes: np.ndarray                       # training-set sizes, log-spaced
    sets: list[str]                         # "image", "audio", "image+audio"
    accuracy: dict[str, np.ndarray]         # set → (sizes,) mean over repeats
    accuracy_std: dict[str, np.ndarray]
    mi_bits: dict[str, np.ndarray]          # set → (sizes,) mean lower bound on I(inputs; label), bits
    label_entropy_bits: float
    chance: float
    repeats: int
    n_test: int
    statement: str
    name: str = "sample-complexity"
    numbers: dict = field(default_factory=dict)

    def summary(self) -> list[str]:
        lines = [f"task {self.task!r}: H(label) = {self.label_entropy_bits:.3f} bits, chance {self.chance:.3f}, "
                 f"{self.n_test} test samples, mean of {self.repeats} draw{'s' if self.repeats != 1 else ''} per size",
                 f"{'n':>6}  " + "  ".join(f"{s + ' acc / I≥ bits':>28}" for s in self.sets)]
        for i, n in enumerate(self.sizes):
            cells = "  ".join(f"{self.accuracy[s][i]:>12.3f} ± {self.accuracy_std[s][i]:.3f} / {self.mi_bits[s][i]:>5.3f}"
                              for s in self.sets)
            lines.append(f"{n:>6}  {cells}")
        return lines


def sample_complexity(table, *, task: str = "xor", modalities=("image", "audio"), sizes=None, points: int = 6,
                      smallest: int = 16, repeats: int = 2, n: int | None = None, steps: int = 150, hidden: int = 32,
                      seed: int = 0, job=None) -> SampleComplexity:
    """Train an MLP on each modality set for every training size; score on one fixed test split."""
    job = job or Job()
    from mmstudio.analysis.common.pairing import paired

    data = paired(table, task, modalities)
    keep = np.sort(np.random.default_rng(seed).permutation(len(data))[: n or len(data)])
    xs, y, k = {m: data.x[m][keep] for m in modalities}, data.y[keep], data.n_classes
    order = np.random.default_rng(seed + 1).permutation(len(y))
    n_test = int(round(0.3 * len(y)))
    test, pool = order[:n_test], order[n_test:]
    if sizes is None:
        sizes = np.unique(np.geomspace(min(smallest, len(pool)), len(pool), points).astype(int))
    sizes = np.asarray(sorted(int(s) for s in sizes if 2 <= s <= len(pool)))
    if not len(sizes):
        raise ValueError(f"no training size between 2 and the {len(pool)} samples available")
    sets = {m: (m,) for m in modalities}
    sets["+".join(modalities)] = tuple(modalities)
    h = entropy_bits(y[test], k)   # the label entropy of the split the cross-entropy is measured on
    acc = {s: np.zeros((len(sizes), repeats)) for s in sets}
    mi = {s: np.zeros((len(sizes), repeats)) for s in sets}
    total, done = len(sizes) * repeats * len(sets), 0
    last_ce = {name: [] for name in sets}
    for i, size in enumerate(sizes):
        for r in range(repeats):
            train = np.random.default_rng([seed, r, int(size)]).permutation(pool)[:size]
            for name, members in sets.items():
                net = train_net([xs[m][train] for m in members], y[train], k, "concat", steps=steps,
                                hidden=hidden, weight_decay=0.1, label_smoothing=0.05, seed=seed + r)
                logits = net.logits(*[xs[m][test] for m in members]).astype(np.float64)
                acc[name][i, r] = accuracy(logits, y[test])
                each = heldout_cross_entropy(logits, y[test], seed, per_sample=True)
                mi[name][i, r] = max(0.0, h - each.mean() / LN2)
                if i == len(sizes) - 1:
                    last_ce[name].append(each)
                done += 1
                job.check()
                job.progress(done, total)
    chance = float(np.bincount(y[test], minlength=k).max() / len(test))
    names = list(sets)
    fused = names[-1]
    best_single = max(names[:-1], key=lambda s: acc[s][-1].mean())
    mean = {s: a.mean(axis=1) for s, a in acc.items()}
    std = {s: a.std(axis=1) for s, a in acc.items()}
    bits = {s: v.mean(axis=1) for s, v in mi.items()}
    ci95 = {s: _t_interval(a) for s, a in acc.items()}
    target = chance + 0.8 * (max(m[-1] for m in mean.values()) - chance)
    to_target = {s: next((int(sizes[i]) for i in range(len(sizes)) if m[i] >= target), None) for s, m in mean.items()}
    mi_ci = {s: _bootstrap_bits(y[test], k, np.mean(last_ce[s], axis=0), seed) for s in sets}
    m = margin(len(test))
    top, single = acc[fused][-1].mean(), acc[best_single][-1].mean()
    checks = [Check(f"{fused} learns {task!r}", top - chance > m,
                    f"{top:.2f} with {sizes[-1]} samples vs chance {chance:.2f}, margin {m:.2f} on {len(test)} test samples"),
              Check(f"{fused} beats the best single modality", top - single > m,
                    f"{top:.2f} vs {best_single} {single:.2f}, margin {m:.2f}")]
    fewer = Check(f"{fused} reaches the target accuracy with fewer samples than any single modality",
                  to_target[fused] is not None and all(to_target[s] is None or to_target[s] > to_target[fused]
                                                       for s in names[:-1]),
                  f"target {target:.2f}: " + ", ".join(f"{s} {'at n = ' + str(v) if v else 'not reached'}"
                                                        for s, v in to_target.items()))
    checks.append(fewer)
    verdict = verdict_of(checks[:2], [fewer])
    shown = (f"Shown: on {task!r}, with {sizes[-1]} training samples, {fused} reaches {top:.2f} "
             f"(an estimate of ≥ {mi[fused][-1].mean():.2f} of {h:.2f} bits about the label) against {single:.2f} "
             f"for {best_single} alone (≥ {mi[best_single][-1].mean():.2f} bits): the extra modality is worth about "
             f"{mi[fused][-1].mean() - mi[best_single][-1].mean():.2f} bits (estimates on {len(test)} test samples); "
             f"it reaches {target:.2f} at n = {to_target[fused]}, {best_single} at "
             f"{'n = ' + str(to_target[best_single]) if to_target[best_single] else 'no size tried'}.")
    statement = statement_of(verdict, shown, checks)
    numbers = {"sizes": sizes, "accuracy": mean, "accuracy_ci95": ci95, "mi_bits": bits, "label_entropy_bits": h,
               "target_accuracy": target, "samples_to_target": to_target, "mi_bits_largest_ci95": mi_ci}
    result = SampleComplexity(task, sizes, names, mean, std, bits, h, chance, repeats, len(test), statement,
                              numbers=numbers)
    result.verdict, result.checks = verdict, checks
    return result


def _t_interval(acc: np.ndarray) -> list:
    """Per size, the 95 % t-interval of the mean accuracy over the repeats ([mean, mean] with one)."""
    from scipy.stats import t

    r = acc.shape[1]
    mean = acc.mean(axis=1)
    if r < 2:
        return [[float(m), float(m)] for m in mean]
    half = t.ppf(0.975, r - 1) * acc.std(axis=1, ddof=1) / np.sqrt(r)
    return [[float(m - h), float(m + h)] for m, h in zip(mean, half)]


def _bootstrap_bits(y, k, ce, seed, rounds: int = 400) -> list:
    """95 % bootstrap interval of H(Y) − mean cross-entropy (bits) over the test samples."""
    rng = np.random.default_rng([seed, 17])
    draws = []
    for _ in range(rounds):
        idx = rng.integers(0, len(y), len(y))
        draws.append(max(0.0, entropy_bits(y[idx], k) - ce[idx].mean() / LN2))
    return [float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))]
