"""Interactions by partial information decomposition: how much of what two modalities tell about a
label is redundant (either one tells it), unique to one of them, or synergistic (only the two together
tell it), in bits — the PID of :mod:`mmstudio.analysis.principles.pid` (Liang et al., NeurIPS 2023,
their CVX estimator) on discretised embeddings.

Discretisation (one small discrete variable per modality, a function of that modality alone): a
network over both modalities is trained on the training split, and each modality's share of its first
layer (the modality's standardised embedding times its block of the first weight matrix) is
clustered by k-means fitted on the training split; the PID is measured on the held-out test split.
Why not the alternatives: k-means on the raw embeddings clusters by what varies most (on the demo
world, shape and colour) and loses the bits a label may hang on (there: striped, echo — the
discretised pair told 0.03 bits of the 1-bit ``xor``); and a unimodal classifier's predicted label
keeps only what a modality says about the label *alone*, which for a synergistic label is nothing,
so synergy would be erased by construction. The PID is that of the discretised variables (a coarser
view of the embeddings can move information between the atoms).

Numbers: every quantity is a mean over seeds (each seed its own split, network and k-means) with a
95 % t-interval, and a bootstrap 95 % interval (2.5–97.5 percentiles over resamples of each seed's test
samples, pooled over the seeds). The plug-in estimate is biased upwards on finite samples, and the
bias shows as synergy: the level it reaches with the labels shuffled (which leaves no information)
is measured per seed and used as the threshold of both claims.

Claims: (1) the discretised pair carries information about the label — I(X1,X2;Y) above the 95th
percentile of its value with shuffled labels, beyond the seeds' noise; (2) one interaction is clearly
the largest — its lead over the next one exceeds the shuffled-label level over the seeds (the lower end
of the t-interval) and in the bootstrap (the 2.5 % percentile).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.principles.fit import entropy_bits
from mmstudio.analysis.principles.pid import decompose, joint, mutual_information
from mmstudio.analysis.principles.result import (
    SEEDS,
    SHOWN,
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

CLUSTERS = 6          # k-means clusters per modality
RESAMPLES = 20        # bootstrap resamples per seed
SHUFFLES = 100        # label shuffles per seed for the plug-in bias level
TEST_FRACTION = 0.3
HIDDEN, STEPS = 16, 100
MAX_CLASSES = 20


def keys(modalities) -> list[str]:
    """The quantities, in the order they are shown: the four atoms, then the informations."""
    m1, m2 = modalities
    return ["redundancy", f"unique_{m1}", f"unique_{m2}", "synergy",
            f"info_{m1}", f"info_{m2}", "info_joint", "info_shuffled"]


def label(key: str, task: str = "Y", modalities=("image", "audio")) -> str:
    """A quantity's name as a person reads it."""
    m1, m2 = modalities
    if key.startswith("unique_"):
        return f"U {key[7:]} (unique)"
    return {"redundancy": "R (redundancy)", "synergy": "S (synergy)", "info_joint": f"I({m1}, {m2}; {task})",
            "info_shuffled": f"I({m1}, {m2}; shuffled {task})"}.get(key, f"I({key[5:]}; {task})")


@dataclass
class Interactions(Result):
    task: str
    modalities: tuple[str, str]
    classes: list[str]
    clusters: int
    n_train: int
    n_test: int
    resamples: int
    label_entropy: float                 # H(Y) of the test splits, bits (mean over the seeds)
    fused_accuracy: float                # the discretising network's test accuracy (mean over the seeds)
    values: dict[str, list[float]]       # quantity (see keys()) → its value per seed, bits
    bootstrap: dict[str, list[float]]    # quantity → [2.5 %, 97.5 %] over every seed's resamples, bits
    largest: str                         # the atom with the largest mean
    statement: str
    name: str = "interactions"
    numbers: dict = field(default_factory=dict)

    def atoms(self) -> list[str]:
        return keys(self.modalities)[:4]

    def summary(self) -> list[str]:
        width = max(len(label(k, self.task, self.modalities)) for k in self.values)
        lines = [f"{'bits':<{width}}  {'mean [95 % over ' + str(len(self.seeds)) + ' seeds]':<28} "
                 f"bootstrap 95 % ({self.resamples} resamples × {len(self.seeds)} seeds; shuffled: the shuffles' spread)"]
        for k in keys(self.modalities):
            lo, hi = self.bootstrap[k]
            lines.append(f"{label(k, self.task, self.modalities):<{width}}  {ci_text(self.headline[k], 3):<28} "
                         f"[{lo:.3f}, {hi:.3f}]")
        lines.append(f"H({self.task}) = {self.label_entropy:.3f} bits; {self.clusters} clusters per modality, "
                     f"{self.n_train} training and {self.n_test} test samples per seed; the discretising network's "
                     f"test accuracy {self.fused_accuracy:.3f}")
        return lines


def interactions(table, *, task: str = "xor", modalities=("image", "audio"), clusters: int = CLUSTERS,
                 resamples: int = RESAMPLES, seed: int = 0, seeds: int = SEEDS, job=None) -> Interactions:
    """The PID of two modalities about ``task`` on ``table`` (see the module)."""
    from threadpoolctl import threadpool_limits

    from mmstudio.analysis.common.pairing import paired

    job = job or Job()
    modalities = tuple(modalities)
    if len(modalities) != 2 or modalities[0] == modalities[1]:
        raise ValueError(f"interactions needs two different modalities, not {', '.join(modalities) or 'none'}")
    if int(clusters) < 2 or int(resamples) < 1:
        raise ValueError("interactions needs at least 2 clusters per modality and 1 bootstrap resample")
    data = paired(table, task, modalities)
    if not 2 <= data.n_classes <= MAX_CLASSES:
        raise ValueError(f"the label {task!r} has {data.n_classes} classes here; the decomposition needs 2 to "
                         f"{MAX_CLASSES}")
    n_test = int(round(TEST_FRACTION * len(data)))
    if min(n_test, len(data) - n_test) < 2 * clusters:
        raise ValueError(f"{len(data)} samples with {' and '.join(modalities)} and a {task!r} label are too few "
                         f"for {clusters} clusters (at least {int(np.ceil(4 * clusters / TEST_FRACTION))})")
    seed_ids = seed_list(seed, seeds)
    total = 2 + len(seed_ids) * (1 + resamples)
    with threadpool_limits(1):   # many small problems: a second BLAS thread only waits (see torch_threads)
        codes, y_test, accuracy = discretise(data, modalities, seed_ids, int(clusters))
        job.check()
        job.progress(2, total)
        shape = (int(clusters), int(clusters), data.n_classes)
        names = keys(modalities)
        values = {k: [] for k in names}
        resampled = {k: [] for k in names}
        entropy, null95, shuffles = [], [], []
        for s, sd in enumerate(seed_ids):
            c1, c2, y = codes[0, s], codes[1, s], y_test[s]
            shuffled = shuffled_information(c1, c2, y, shape, np.random.default_rng(sd + 3))
            _add(values, names, decompose(joint(c1, c2, y, shape)))
            values["info_shuffled"].append(float(shuffled.mean()))
            shuffles.append(shuffled)
            null95.append(float(np.percentile(shuffled, 95)))
            entropy.append(entropy_bits(y, shape[2]))
            rng = np.random.default_rng(sd + 2)
            for r in range(resamples):
                job.check()
                job.progress(3 + s * (1 + resamples) + r, total)
                pick = rng.integers(0, len(y), len(y))
                _add(resampled, names, decompose(joint(c1[pick], c2[pick], y[pick], shape)))
    resampled["info_shuffled"] = np.concatenate(shuffles)  # its interval: the spread of the shuffles themselves
    bootstrap = {k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for k, v in resampled.items()}
    headline = {k: estimate(v) for k, v in values.items()}
    checks, largest, runner = _checks(task, modalities, values, resampled, null95, len(seed_ids), resamples)
    verdict = verdict_of(checks)
    atoms = names[:4]
    measured = (", ".join(f"{_short(k, modalities)} {ci_text(headline[k], 2)}" for k in atoms)
                + f" bits (mean over {len(seed_ids)} seeds [95 % interval])")
    infos = (f"I({modalities[0]}; {task}) = {headline[names[4]]['mean']:.2f}, I({modalities[1]}; {task}) = "
             f"{headline[names[5]]['mean']:.2f}, I({modalities[0]}, {modalities[1]}; {task}) = "
             f"{headline['info_joint']['mean']:.2f} bits (with shuffled labels {headline['info_shuffled']['mean']:.2f})")
    shown = (f"Shown: on {task!r} the largest share of what {modalities[0]} and {modalities[1]} tell is "
             f"{_what(largest, modalities)}: {measured}; it leads {_what(runner, modalities)} by more than the "
             f"shuffled-label level over the seeds and in 95 % of the resamples. {infos}.")
    statement = statement_of(verdict, shown, checks)
    if verdict != SHOWN:
        statement += f" Measured: {measured}; {infos}."
    result = Interactions(task, modalities, list(data.classes), int(clusters), len(data) - n_test, n_test,
                          int(resamples), float(np.mean(entropy)), accuracy, values, bootstrap, largest, statement,
                          numbers={"shuffled_95": null95, "runner_up": runner,
                                   "lead": [float(v) for v in _lead(values, largest, atoms)]})
    result.verdict, result.checks, result.seeds, result.headline = verdict, checks, seed_ids, headline
    job.progress(total, total)
    return result


def discretise(data, modalities, seeds: list[int], clusters: int):
    """Each modality's k-means cluster on each seed's test split: (2, S, n_test) codes, (S, n_test)
    labels, and the discretising network's mean test accuracy (see the module)."""
    from sklearn.cluster import KMeans

    from mmstudio.analysis.common.classifier_metrics import accuracy
    from mmstudio.analysis.principles.fit import train_nets

    splits = [data.split(TEST_FRACTION, s) for s in seeds]
    train = np.stack([tr for tr, _ in splits])
    test = np.stack([te for _, te in splits])
    xs = [data.x[m] for m in modalities]
    net = train_nets([x[train] for x in xs], data.y[train], data.n_classes, "concat", seeds=seeds,
                     hidden=HIDDEN, steps=STEPS, weight_decay=0.1)
    probs = net.probs(*[x[test] for x in xs])
    fused = float(np.mean([accuracy(probs[s], data.y[test[s]]) for s in range(len(seeds))]))
    first = net.modules[0][0][0].numpy()                    # (S, d1 + d2, hidden)
    edges = np.cumsum([0] + [x.shape[1] for x in xs])
    codes = np.empty((2, len(seeds), test.shape[1]), np.int64)
    for i, standard in enumerate(net.standardise(xs)):     # (S, n, d_i): this modality alone
        part = np.matmul(standard, first[:, edges[i]:edges[i + 1], :])
        for s, sd in enumerate(seeds):
            km = KMeans(clusters, n_init=4, random_state=sd).fit(part[s, train[s]])
            codes[i, s] = km.predict(part[s, test[s]])
    return codes, data.y[test], fused


def shuffled_information(c1, c2, y, shape, rng, shuffles: int = SHUFFLES) -> np.ndarray:
    """I(X1,X2;Y) (plug-in, bits) with the labels shuffled, ``shuffles`` times: no information left,
    what remains is the estimate's bias."""
    n1, n2, ny = shape
    cells = c1 * n2 + c2
    out = np.empty(shuffles)
    for i in range(shuffles):
        out[i] = mutual_information(joint(cells, np.zeros_like(cells), rng.permutation(y), (n1 * n2, 1, ny))[:, 0])
    return out


def _add(store, names, pid):
    for k, v in zip(names, (*pid.atoms(), pid.info1, pid.info2, pid.info_joint)):
        store[k].append(float(v))


def _lead(values, top, atoms):
    """Per seed (or resample): the top atom minus the largest of the others."""
    others = np.max([values[k] for k in atoms if k != top], axis=0)
    return np.asarray(values[top]) - others


def _checks(task, modalities, values, resampled, null95, n_seeds, resamples):
    atoms = keys(modalities)[:4]
    info, shuffled = np.asarray(values["info_joint"]), np.asarray(values["info_shuffled"])
    informative = Check(f"{modalities[0]} and {modalities[1]} (discretised) tell something about {task!r}",
                        above(info - np.asarray(null95), 0.0),
                        f"I = {ci_text(estimate(info), 3)} bits vs {np.mean(null95):.3f} with the labels shuffled "
                        f"(95th percentile of {SHUFFLES} shuffles); criterion: the 95 % interval of the difference "
                        f"over {n_seeds} seeds above 0")
    means = {k: float(np.mean(values[k])) for k in atoms}
    largest = max(atoms, key=means.get)
    runner = max((k for k in atoms if k != largest), key=means.get)
    level = float(shuffled.mean())
    lead = _lead(values, largest, atoms)
    lead_boot = _lead(resampled, largest, atoms)
    low = float(np.percentile(lead_boot, 2.5))
    clear = above(lead, level) and low > level
    largest_check = Check("one interaction is clearly the largest", bool(clear),
                          f"{_short(largest, modalities)} {means[largest]:.3f} vs {_short(runner, modalities)} "
                          f"{means[runner]:.3f} bits: lead {ci_text(estimate(lead), 3)} over {n_seeds} seeds, "
                          f"{low:.3f} at the bootstrap's 2.5 % ({resamples} × {n_seeds} resamples); criterion: "
                          f"both above the shuffled-label level {level:.3f} bits")
    return [informative, largest_check], largest, runner


def _short(key, modalities) -> str:
    return {"redundancy": "R", "synergy": "S"}.get(key, f"U_{key[7:]}")


def _what(key, modalities) -> str:
    return {"redundancy": "redundancy (either one tells it)",
            "synergy": "synergy (only the two together tell it)"}.get(
        key, f"information unique to {key[7:]}")
