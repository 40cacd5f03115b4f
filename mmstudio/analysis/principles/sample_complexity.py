"""Sample complexity: accuracy against the number of training samples (log-spaced) for each
modality alone and for their fusion, the number of samples each needs to reach a target
accuracy, and a lower bound on the mutual information between the inputs and the label.

The task: by default the demo world's ``shape`` seen through two noisy views. Each modality's
embeddings get independent Gaussian noise (``noise``, in units of each coordinate's spread, drawn
once per seed), strong enough that each modality alone is a weak witness of the shape; the two
noises are independent, so the two views are complementary evidence about the same label and
fusing them is like averaging two noisy measurements. ``noise={}`` leaves the embeddings as they
are: on plain ``shape`` the sound alone already knows the shape, and the picture costs the fused
model samples; on ``xor`` no modality alone learns anything.

Each seed draws its own test split (30 %), its own noise, its own nested training sets (the first
n of one permutation of the rest) and its own initialisation; the seeds' networks of one modality
set and size train together (:func:`fit.train_nets`). Numbers are means over the seeds with a
Student-t 95 % interval.

Samples to target: the target is chance + 80 % of the way to the accuracy the best single modality
reaches with the most samples (the fused model's when no single modality learns the task). A seed's
samples-to-target is where its accuracy curve first crosses the target, interpolated linearly in
log n between the two sizes around the crossing (the smallest size when the first size already
reaches it); means and intervals of sample counts are geometric (a t-interval of log₂ n). The
comparison of two modality sets is paired per seed, on the ratio of their sample counts; a set that
does not reach the target in a seed counts, for that seed, as reaching it at the largest size (a
bound that favours it: the claim against it stays conservative).

The information bound: for any predictor q, I(X; Y) = H(Y) − H(Y | X) ≥ H(Y) − E[−log₂ q(y | x)], so
a held-out cross-entropy (in bits) below the label entropy *estimates* a lower bound on that much
information (an estimate: both terms are measured on the test split and carry its sampling error).
The predictor is the trained MLP with a temperature fitted on half of the test set and scored on
the other half (both ways); the bound is clipped at 0 (I ≥ 0 anyway).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.principles.fit import LN2, entropy_bits, heldout_cross_entropy, train_nets
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

NOISE = {"image": 3.0, "audio": 3.0}   # the default task: shape through two noisy views
TARGET_SHARE = 0.8


@dataclass
class SampleComplexity(Result):
    task: str
    noise: dict[str, float]                 # modality → noise added, in units of each coordinate's spread
    sizes: np.ndarray                       # training-set sizes, log-spaced
    sets: list[str]                         # "image", "audio", "image+audio"
    accuracy: dict[str, np.ndarray]         # set → (seeds, sizes) test accuracy
    mi_bits: dict[str, np.ndarray]          # set → (seeds, sizes) lower bound on I(inputs; label), bits
    label_entropy_bits: float               # mean over the seeds' test splits
    chance: float                           # mean over the seeds' test splits
    target: float                           # the target accuracy
    to_target: dict[str, list]              # set → per seed: samples to the target (None: not reached)
    n_test: int
    statement: str
    name: str = "sample-complexity"
    numbers: dict = field(default_factory=dict)

    def mean_accuracy(self, s: str) -> np.ndarray:
        return self.accuracy[s].mean(axis=0)

    def accuracy_ci(self, s: str) -> np.ndarray:
        """(sizes, 2): the 95 % interval of the mean accuracy at each size."""
        return np.array([estimate(col)["ci95"] for col in self.accuracy[s].T])

    def summary(self) -> list[str]:
        noise = ", ".join(f"{m} + noise {v:g}×their spread" for m, v in self.noise.items() if v)
        lines = [f"task {self.task!r}{' (' + noise + ')' if noise else ''}: H(label) = {self.label_entropy_bits:.3f} "
                 f"bits, chance {self.chance:.3f}, {self.n_test} test samples; mean [95 % interval] over "
                 f"{len(self.seeds)} seeds",
                 f"{'n':>6}  " + "  ".join(f"{s + ' acc / I≥ bits':>30}" for s in self.sets)]
        for i, n in enumerate(self.sizes):
            cells = "  ".join(f"{ci_text(estimate(self.accuracy[s][:, i]), 3):>21} / {self.mi_bits[s][:, i].mean():>5.3f}"
                              for s in self.sets)
            lines.append(f"{n:>6}  {cells}")
        lines.append(f"samples to reach {self.target:.3f}: " + "; ".join(
            f"{s} {_samples_text(self.to_target[s])}" for s in self.sets))
        return lines


def sample_complexity(table, *, task: str = "shape", noise: dict | None = None, modalities=("image", "audio"),
                      sizes=None, points: int = 6, smallest: int = 16, n: int | None = None, steps: int = 150,
                      hidden: int = 32, seed: int = 0, seeds: int = SEEDS, job=None) -> SampleComplexity:
    """Train an MLP on each modality set for every training size and seed; score on each seed's test split.

    ``noise`` maps modality → Gaussian noise added to its embeddings, in units of each coordinate's
    spread (default :data:`NOISE` on ``shape``, none on any other task); ``{}`` adds none."""
    job = job or Job()
    from mmstudio.analysis.common.pairing import paired

    data = paired(table, task, modalities)
    seed_values = seed_list(seed, seeds)
    noise = (dict(NOISE) if task == "shape" else {}) if noise is None else {m: float(v) for m, v in noise.items()}
    check_noise(noise, modalities)
    count = min(n or len(data), len(data))
    n_test = int(round(0.3 * count))
    pool = count - n_test
    if n_test < 2 or pool < 2:
        raise ValueError(f"sample-complexity: {len(data)} paired samples are too few to split into training and test sets")
    if sizes is None:
        sizes = np.unique(np.geomspace(min(smallest, pool), pool, points).astype(int))
    sizes = np.asarray(sorted({int(s) for s in sizes if 2 <= s <= pool}))
    if not len(sizes):
        raise ValueError(f"no training size between 2 and the {pool} samples available")
    k = data.n_classes
    # per seed: a subset of `count` samples, its rows [:n_test] the test split, the rest in training order
    xs = {m: np.zeros((len(seed_values), count, data.x[m].shape[1]), np.float32) for m in modalities}
    y = np.zeros((len(seed_values), count), np.int64)
    for s, sd in enumerate(seed_values):
        rng = np.random.default_rng(sd)
        order = rng.permutation(len(data))[:count]
        y[s] = data.y[order]
        for m in modalities:
            x = data.x[m][order].astype(np.float32)
            if noise.get(m):
                x = x + (noise[m] * x.std(axis=0, keepdims=True) * rng.standard_normal(x.shape)).astype(np.float32)
            xs[m][s] = x
    test = slice(0, n_test)
    y_test = y[:, test]
    sets = {m: (m,) for m in modalities}
    sets["+".join(modalities)] = tuple(modalities)
    names = list(sets)
    fused = names[-1]
    h = np.array([entropy_bits(t, k) for t in y_test])   # each test split's label entropy
    chance = np.array([np.bincount(t, minlength=k).max() / len(t) for t in y_test])
    acc = {s: np.zeros((len(seed_values), len(sizes))) for s in sets}
    mi = {s: np.zeros((len(seed_values), len(sizes))) for s in sets}
    total, done = len(sizes) * len(sets), 0
    for i, size in enumerate(sizes):
        train = slice(n_test, n_test + int(size))
        for name, members in sets.items():
            job.status(f"{name}, n = {size}")
            stack = train_nets([xs[m][:, train] for m in members], y[:, train], k, "concat", seeds=seed_values,
                               steps=steps, hidden=hidden, weight_decay=0.1, label_smoothing=0.05)
            logits = stack.logits(*[xs[m][:, test] for m in members]).astype(np.float64)
            for s in range(len(seed_values)):
                acc[name][s, i] = float((logits[s].argmax(axis=1) == y_test[s]).mean())
                ce = heldout_cross_entropy(logits[s], y_test[s], seed_values[s])
                mi[name][s, i] = max(0.0, h[s] - ce / LN2)
            done += 1
            job.check()
            job.progress(done, total)
    m = margin(n_test)
    learns = {s: above(acc[s][:, -1] - chance, m) for s in names}
    singles = names[:-1]
    learning_singles = [s for s in singles if learns[s]]
    best_single = max(singles, key=lambda s: acc[s][:, -1].mean())
    reference = best_single if learning_singles else fused
    target = float(chance.mean() + TARGET_SHARE * (acc[reference][:, -1].mean() - chance.mean()))
    to_target = {s: [_crossing(sizes, a, target) for a in acc[s]] for s in names}
    checks, costs = _checks(task, names, sizes, acc, chance, m, learns, to_target, target, best_single)
    main, fewer = checks[:1], checks[1:2]
    verdict = verdict_of(main + fewer, checks[2:])
    statement = statement_of(verdict, _shown(task, noise, names, target, learning_singles, acc, sizes, checks[1].evidence),
                             checks)
    statement += (f" Samples to reach {target:.2f} ({_target_rule(reference, fused)}), over {len(seed_values)} "
                  "seeds: " + "; ".join(f"{s} {_samples_text(to_target[s])}" for s in names) + ".")
    if costs:
        statement += " " + costs
    headline = _headline(names, sizes, acc, mi, to_target)
    numbers = {"sizes": sizes, "accuracy": {s: a.mean(axis=0) for s, a in acc.items()},
               "accuracy_ci95": {s: [estimate(c)["ci95"] for c in a.T] for s, a in acc.items()},
               "mi_bits": {s: v.mean(axis=0) for s, v in mi.items()}, "label_entropy_bits": float(h.mean()),
               "target_accuracy": target, "target_reference": reference, "samples_to_target": to_target,
               "learns": learns, "margin": m}
    result = SampleComplexity(task, noise, sizes, names, acc, mi, float(h.mean()), float(chance.mean()), target,
                              to_target, n_test, statement, numbers=numbers)
    result.verdict, result.checks = verdict, checks
    result.seeds, result.headline = seed_values, headline
    return result


def check_noise(noise: dict, modalities) -> None:
    """A ValueError naming the modality when a noise level is for a modality not used, or not finite ≥ 0."""
    unknown = [m for m in noise if m not in modalities]
    if unknown:
        raise ValueError(f"noise for {unknown[0]!r}, which is not one of the modalities used ({', '.join(modalities)})")
    bad = [m for m, v in noise.items() if not np.isfinite(v) or v < 0]
    if bad:
        raise ValueError(f"noise for {bad[0]!r} is {noise[bad[0]]:g}: give a finite level, 0 or more")


def _target_rule(reference, fused) -> str:
    who = "the fused model's" if reference == fused else f"{reference}'s"
    return f"chance + {TARGET_SHARE:.0%} of the way to {who} accuracy with the most samples"


def _crossing(sizes, accuracy, target) -> float | None:
    """Where an accuracy curve first reaches ``target``: interpolated linearly in log n between the
    sizes around the crossing; the smallest size when it starts there; None when never."""
    hit = np.flatnonzero(np.asarray(accuracy) >= target)
    if not len(hit):
        return None
    i = int(hit[0])
    if i == 0:
        return float(sizes[0])
    a0, a1 = accuracy[i - 1], accuracy[i]
    t = (target - a0) / (a1 - a0) if a1 > a0 else 1.0
    lo, hi = np.log2(sizes[i - 1]), np.log2(sizes[i])
    return float(2 ** (lo + t * (hi - lo)))


def _log2(values, sizes) -> np.ndarray:
    """log₂ samples per seed, a seed that never reaches the target counted at the largest size."""
    return np.log2([sizes[-1] if v is None else v for v in values])


def _geometric(log2_values) -> dict:
    """An estimate of sample counts (or their ratios) from per-seed log₂ values: geometric mean and
    the t-interval of log₂, raised back to counts."""
    e = estimate(log2_values)
    return {"mean": float(2 ** e["mean"]), "ci95": [float(2 ** v) for v in e["ci95"]],
            "values": [float(2 ** v) for v in e["values"]]}


def _samples_text(values) -> str:
    reached = [v for v in values if v is not None]
    if len(reached) < len(values):
        where = f" (where reached: n ≈ {_geometric(np.log2(reached))['mean']:.0f})" if reached else ""
        return f"not reached in {len(values) - len(reached)} of {len(values)} seeds{where}"
    e = _geometric(np.log2(reached))
    return f"n ≈ {e['mean']:.0f} [{e['ci95'][0]:.0f}, {e['ci95'][1]:.0f}]"


def _ratio_text(log2_diffs) -> str:
    e = _geometric(log2_diffs)
    return f"×{e['mean']:.2f} [{e['ci95'][0]:.2f}, {e['ci95'][1]:.2f}]"


def _checks(task, names, sizes, acc, chance, m, learns, to_target, target, best_single):
    """Main: the fused model learns the task (its accuracy with the most samples above chance by more
    than the margin, over the seeds), and it reaches the target with fewer samples than every single
    modality (per seed, log₂ of the single modality's count over the fused one's; its 95 % interval
    above 0; a single modality that does not learn the task needs more by definition). Other: the
    fused model beats the best single modality with the most samples. Also returns the sentence on
    an extra modality costing samples (a single modality needs fewer than the fusion: the interval
    of the ratio below 1), empty when none does."""
    fused, singles = names[-1], names[:-1]
    top = acc[fused][:, -1]
    checks = [Check(f"{fused} learns {task!r}", learns[fused],
                    f"{ci_text(estimate(top))} with {sizes[-1]} samples vs chance {chance.mean():.2f}, margin {m:.2f}")]
    fused_reached = all(v is not None for v in to_target[fused])
    parts, held = [], bool(learns[fused]) and fused_reached
    for s in singles:
        if not learns[s]:
            parts.append(f"{s} does not learn it ({acc[s][:, -1].mean():.2f} with {sizes[-1]} samples)")
            continue
        d = _log2(to_target[s], sizes) - _log2(to_target[fused], sizes)
        held = held and above(d, 0.0)
        parts.append(f"{s} needs {_ratio_text(d)} the samples of {fused}")
    if not fused_reached:
        parts.append(f"{fused} does not reach {target:.2f} in every seed")
    checks.append(Check(f"{fused} reaches {target:.2f} with fewer samples than any single modality", held,
                        "; ".join(parts)))
    single = acc[best_single][:, -1]
    checks.append(Check(f"{fused} beats the best single modality with the most samples", above(top - single, 0.0),
                        f"{ci_text(estimate(top))} vs {best_single} {ci_text(estimate(single))}: difference "
                        f"{ci_text(estimate(top - single))}"))
    costs = []
    for s in singles:
        if not learns[s] or not all(v is not None for v in to_target[s]):
            continue
        d = _log2(to_target[fused], sizes) - _log2(to_target[s], sizes)
        if above(d, 0.0):
            costs.append(f"the extra modality costs samples: to reach {target:.2f}, {s} alone needs "
                         f"{_samples_text(to_target[s])}, {fused} {_samples_text(to_target[fused])} "
                         f"({_ratio_text(d)} the samples of {s})")
    return checks, (costs[0][0].upper() + "; ".join(costs)[1:] + ".") if costs else ""


def _shown(task, noise, names, target, learning_singles, acc, sizes, evidence) -> str:
    fused = names[-1]
    on = f"{task!r}" + (" seen through noisy views (" + ", ".join(f"{m} + {v:g}× its spread"
                                                              for m, v in noise.items() if v) + ")"
                        if any(noise.values()) else "")
    if not learning_singles:
        return (f"Shown: only {fused} learns {on} ({acc[fused][:, -1].mean():.2f} with {sizes[-1]} samples); "
                f"each modality alone stays at chance.")
    return f"Shown: on {on}, {fused} reaches {target:.2f} with fewer samples than any single modality: {evidence}."


def _headline(names, sizes, acc, mi, to_target) -> dict:
    fused = names[-1]
    out = {f"accuracy at n = {sizes[-1]}: {s}": estimate(acc[s][:, -1]) for s in names}
    out.update({f"I(inputs; label) ≥ bits at n = {sizes[-1]}: {s}": estimate(mi[s][:, -1]) for s in names})
    for s in names:
        if all(v is not None for v in to_target[s]):
            out[f"samples to target: {s}"] = _geometric(np.log2(to_target[s]))
    for s in names[:-1]:
        out[f"samples ratio {s} / {fused} (unreached = largest size)"] = _geometric(
            _log2(to_target[s], sizes) - _log2(to_target[fused], sizes))
    return out
