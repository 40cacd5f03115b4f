"""Negative transfer: with one modality corrupted (its vectors mismatched — swapped with other
samples' — at a rate), a fused model without a gate can fall below the best single modality.

Per corruption strength f (the share of rows whose corrupted-modality vector belongs to another
sample), over seeds (each its own split and initialisation), on the test split:
each modality alone, two fusions without a gate (the experts' logit sum and an MLP over the
concatenation), the fusion lab's gate with label-free trust (each expert's confidence on the
sample) and with the *oracle* trust (each expert's validation accuracy under the same
corruption: it reads labels of the corrupted data, an upper bound a deployed model cannot
reach). Models and rules: :mod:`mmstudio.analysis.principles.corrupted_fusion`.

Two views: the corruption at test time only (the models trained clean), and the same corruption
at training time as well (the models learn how far to trust the corrupted modality).

Criteria (each a paired comparison over the seeds, :func:`~mmstudio.analysis.principles.result.above`
with threshold 0: the 95 % interval of the per-seed differences lies above 0):

- the task is learnt: the best single modality at f = 0 is above chance (the test split's majority
  share) by more than :func:`~mmstudio.analysis.principles.result.margin`;
- *negative transfer* at f: a fusion without a gate is below the best single modality (the modality
  with the higher mean accuracy alone at that f); it starts at the smallest such f. Nothing is
  counted as negative transfer where the task is not learnt;
- the gate *rescues* a fusion at f where the label-free gate is above it; the gate *fails* at f
  where it is still below the best single modality, and it *hurts* where it is below a fusion;
- corruption at training *removes most of it* where the gap (best single − fusion) with the
  corruption at training too is smaller than with it at test only, at every (fusion, f) with
  negative transfer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.principles.result import (
    NOT_SHOWN,
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

STRENGTHS = (0.0, 0.2, 0.4, 0.6, 0.8)
VIEWS = ("test only", "also at training")
NO_GATE = ("logit sum", "concat MLP")
GATE, ORACLE = "gate (label-free)", "gate (oracle)"


@dataclass
class NegativeTransfer(Result):
    task: str
    modalities: tuple[str, ...]
    corrupted: str                          # the modality whose vectors are mismatched
    strengths: list[float]                  # shares of mismatched rows (the first is 0)
    accuracy: dict                          # view → method → per strength: estimate (mean, ci95, values per seed)
    best_single: dict                       # view → per strength: the modality with the higher mean accuracy alone
    negative: dict                          # fusion without a gate → per strength: below the best single beyond noise
    rescued: dict                           # fusion without a gate → per strength: the label-free gate above it
    gate_fails: list                        # per strength: the label-free gate still below the best single
    gate_hurts: dict                        # fusion without a gate → per strength: the label-free gate below it
    chance: float
    n_test: int
    statement: str
    name: str = "negative-transfer"
    numbers: dict = field(default_factory=dict)

    def summary(self) -> list[str]:
        lines = [f"task {self.task!r}: {self.corrupted} mismatched in a share f of the rows; accuracy on "
                 f"{self.n_test} test samples, mean ± 95 % half-interval over {len(self.seeds)} seeds "
                 f"(chance {self.chance:.2f}); * = below the best single modality beyond the seeds' noise; "
                 "the oracle gate reads labels of the corrupted data"]
        for view in VIEWS:
            acc = self.accuracy[view]
            methods = ["best single", *NO_GATE] + ([GATE, ORACLE] if view == VIEWS[0] else [])
            lines.append(f"corruption {view}:")
            lines.append(f"{'f':>6}  {'best single':>20}  " + "  ".join(f"{m:>17}" for m in methods[1:]))
            for i, f in enumerate(self.strengths):
                cells = [f"{_pm(acc[m][i])}{'*' if m in self.negative and view == VIEWS[0] and self.negative[m][i] else ' '}"
                         for m in methods[1:]]
                best = f"{self.best_single[view][i]} {_pm(acc['best single'][i])}"
                lines.append(f"{f:>6.2f}  {best:>20}  " + "  ".join(f"{c:>17}" for c in cells))
        return lines


def _pm(e: dict) -> str:
    lo, hi = e["ci95"]
    return f"{e['mean']:.3f} ± {(hi - lo) / 2:.3f}"


def negative_transfer(table, *, task: str = "shape", modalities=("image", "audio"), strengths=None,
                      seed: int = 0, seeds: int = SEEDS, job=None) -> NegativeTransfer:
    """Sweep the share of mismatched rows of the second of ``modalities`` (``strengths``, 0 added
    when absent); train clean and corrupted models for every seed at once, score every view."""
    from mmstudio.analysis.common.pairing import paired
    from mmstudio.analysis.principles.corrupted_fusion import forward, held_out, score, train_models

    job = job or Job()
    levels = check_strengths(STRENGTHS if strengths is None else strengths)
    if int(seeds) < 2:
        raise ValueError(f"seeds {seeds}: give 2 or more (each claim is a difference beyond the seeds' noise, "
                         "and one seed has no interval)")
    modalities = tuple(modalities)
    data = paired(table, task, modalities)
    if len(data) < 40:
        raise ValueError(f"only {len(data)} samples have {' and '.join(modalities)} and a {task!r} label: "
                         "negative transfer needs 40 or more")
    x = np.stack([data.x[m] for m in modalities], axis=1).astype(np.float32)
    y, k = data.y, data.n_classes
    run = seed_list(seed, seeds)
    total = 3 + len(levels)
    job.progress(0, total)
    models = train_models(x, y, k, run, levels, corrupt=len(modalities) - 1, job=job)
    job.progress(3, total)
    methods = [f"{m} alone" for m in modalities] + ["logit sum", "concat MLP", GATE, ORACLE]
    values = {view: {m: np.zeros((len(levels), len(run))) for m in methods} for view in VIEWS}
    sure = {}   # f → the clean-trained corrupted expert's mean confidence on swapped and on matched test rows
    for i, f in enumerate(levels):
        job.check()
        held, swapped = held_out(x, models, f, run)
        log_post, mlp = forward(models, held)
        top_p = np.exp(log_post[:, 0, :, -1].max(axis=-1))                  # (S, n_held)
        for s, split in enumerate(models.splits):
            for view, t in zip(VIEWS, (0, i)):
                sc = score(log_post[s, t], mlp[s, t], models.log_prior[s], y[split.val], y[split.test], modalities)
                for m in methods:
                    values[view][m][i, s] = sc.accuracy[m]
        test_rows = swapped[:, len(models.splits[0].val):]
        held_test = top_p[:, len(models.splits[0].val):]
        if f > 0 and test_rows.any() and (~test_rows).any():
            sure[f] = {"swapped": float(held_test[test_rows].mean()), "matched": float(held_test[~test_rows].mean())}
        job.progress(4 + i, total)
    split = models.splits[0]
    chance = float(np.bincount(y[split.test], minlength=k).max() / len(split.test))
    return _result(task, modalities, levels, values, run, chance, len(split.test), sure)


def check_strengths(strengths) -> list[float]:
    """Sorted, unique shares in [0, 1], with 0 (the clean reference) first."""
    try:
        levels = sorted({float(f) for f in strengths})
    except (TypeError, ValueError):
        raise ValueError(f"strengths {strengths!r}: give shares of mismatched rows from 0 to 1") from None
    bad = [f for f in levels if not 0 <= f <= 1]
    if bad:
        raise ValueError(f"strengths: {bad[0]:g} is not a share of rows (give numbers from 0 to 1)")
    return levels if levels and levels[0] == 0 else [0.0, *levels]


def _result(task, modalities, levels, values, run, chance, n_test, sure) -> NegativeTransfer:
    corrupted = modalities[-1]
    alone = [f"{m} alone" for m in modalities]
    best, acc = {}, {}
    for view in VIEWS:
        v = values[view]
        best[view] = [max(modalities, key=lambda m: v[f"{m} alone"][i].mean()) for i in range(len(levels))]
        v["best single"] = np.stack([v[f"{b} alone"][i] for i, b in enumerate(best[view])])
        acc[view] = {m: [estimate(row) for row in v[m]] for m in ["best single", *alone, *NO_GATE, GATE, ORACLE]}
    test, train = values[VIEWS[0]], values[VIEWS[1]]
    idx = range(len(levels))
    m0 = margin(n_test)
    learnt = above(test["best single"][0] - chance, m0)
    negative = {m: [learnt and above(test["best single"][i] - test[m][i]) for i in idx] for m in NO_GATE}
    rescued = {m: [above(test[GATE][i] - test[m][i]) for i in idx] for m in NO_GATE}
    hurts = {m: [above(test[m][i] - test[GATE][i]) for i in idx] for m in NO_GATE}
    fails = [learnt and above(test["best single"][i] - test[GATE][i]) for i in idx]
    still = {m: [learnt and above(train["best single"][i] - train[m][i]) for i in idx] for m in NO_GATE}
    shown = [(m, i) for m in NO_GATE for i in idx if negative[m][i]]
    # more than half of the gap gone: gap(also at training) < gap(test only) / 2, per seed, beyond noise
    halves = {(m, i): above(0.5 * (test["best single"][i] - test[m][i]) - (train["best single"][i] - train[m][i]))
              for m, i in shown}

    def e(view, m, i):
        return ci_text(acc[view][m][i])

    top = len(levels) - 1
    worst = {m: max((i for n, i in shown if n == m), default=None) for m in NO_GATE}
    checks = [
        Check(f"the task {task!r} is learnt", learnt,
              f"best single modality at f = 0 ({best[VIEWS[0]][0]}) {e(VIEWS[0], 'best single', 0)} vs chance "
              f"{chance:.2f}, margin {m0:.2f} on {n_test} test samples"),
        Check("a fusion without a gate falls below the best single modality", bool(shown),
              "; ".join(f"{m} {_starts(negative[m], levels)}" for m in NO_GATE)
              + f" (95 % interval of best single − fusion over {len(run)} seeds above 0)"),
        Check("no negative transfer without corruption", not any(negative[m][0] for m in NO_GATE),
              f"f = 0: best single {e(VIEWS[0], 'best single', 0)}, "
              + ", ".join(f"{m} {e(VIEWS[0], m, 0)}" for m in NO_GATE)),
        Check("the label-free gate rescues a fusion where negative transfer shows",
              any(rescued[m][i] for m, i in shown),
              "; ".join(f"above the {m} at {_list(rescued[m], levels)}" for m in NO_GATE)
              + f"; still below the best single at {_list(fails, levels)}"),
        Check("corruption at training too removes more than half of the gap", bool(shown) and all(halves.values()),
              "; ".join(f"{m} at f = {levels[i]:g}: {e(VIEWS[0], m, i)} (test only) → {e(VIEWS[1], m, i)} "
                        f"(also at training), best single {e(VIEWS[1], 'best single', i)}"
                        for m, i in worst.items() if i is not None) or "no negative transfer to remove"),
    ]
    verdict = verdict_of(checks[:2], checks[2:])
    flags = {"negative": negative, "rescued": rescued, "hurts": hurts, "fails": fails, "still": still, "worst": worst}
    statement = statement_of(verdict, _shown_text(task, corrupted, levels, best, flags, sure, e), checks)
    if verdict == NOT_SHOWN:
        statement += (f" Measured at f = {levels[top]:g}: best single ({best[VIEWS[0]][top]}) "
                      f"{e(VIEWS[0], 'best single', top)}, " + ", ".join(
                          f"{m} {e(VIEWS[0], m, top)}" for m in (*NO_GATE, GATE)) + ".")
    headline = {}
    for i in sorted({0, top}):
        f = f"{levels[i]:g}"
        headline[f"best single at {f}"] = acc[VIEWS[0]]["best single"][i]
        for m in (*NO_GATE, GATE):
            headline[f"{m} at {f}"] = acc[VIEWS[0]][m][i]
    f = f"{levels[top]:g}"
    headline[f"gate (oracle, reads labels of the corrupted data) at {f}"] = acc[VIEWS[0]][ORACLE][top]
    for m in NO_GATE:
        headline[f"{m}, corrupted at training too, at {f}"] = acc[VIEWS[1]][m][top]
    numbers = {"margin": m0, "starts": {m: _first(negative[m], levels) for m in NO_GATE},
               "still_below_when_trained_corrupted": still, "corrupted_expert_confidence": sure,
               "more_than_half_removed": {f"{m} at {levels[i]:g}": v for (m, i), v in halves.items()}}
    result = NegativeTransfer(task, tuple(modalities), corrupted, list(levels), acc, best, negative, rescued, fails,
                              hurts, chance, n_test, statement, numbers=numbers)
    result.verdict, result.checks, result.seeds, result.headline = verdict, checks, run, headline
    return result


def _first(flags, levels):
    return next((levels[i] for i, on in enumerate(flags) if on), None)


def _list(flags, levels) -> str:
    on = [f"{levels[i]:g}" for i, flag in enumerate(flags) if flag]
    return "f = " + ", ".join(on) if on else "no strength tried"


def _starts(flags, levels) -> str:
    first = _first(flags, levels)
    on = ", ".join(f"{levels[i]:g}" for i, flag in enumerate(flags) if flag)
    return f"from f = {first:g} (shown at {on})" if first is not None else "at no strength tried"


def _shown_text(task, corrupted, levels, best, flags, sure, e) -> str:
    """The sentence when negative transfer is shown: where it starts, what the gates do, and what
    corruption at training changes, each with its numbers."""
    test, train = VIEWS
    top = len(levels) - 1
    parts = []
    for m in NO_GATE:
        i = flags["worst"][m]
        if i is None:
            parts.append(f"not the {m} at any strength tried")
        else:
            parts.append(f"the {m} {_starts(flags['negative'][m], levels)}: {e(test, m, i)} vs {best[test][i]} alone "
                         f"{e(test, 'best single', i)} at f = {levels[i]:g}")
    text = (f"Shown: on {task!r}, with a share f of the {corrupted} vectors swapped with other samples' at test "
            "time, fusion without a gate falls below the best single modality beyond the seeds' noise: "
            + "; ".join(parts) + ".")
    lifted = [f"the {m} at {_list(flags['rescued'][m], levels)}" for m in NO_GATE if any(flags["rescued"][m])]
    text += (" The label-free gate (it keeps the more confident expert where they disagree) lifts "
             + (" and ".join(lifted) if lifted else "neither fusion at any strength tried")
             + f"; it fails, still below the best single modality, at {_list(flags['fails'], levels)}"
             + "".join(f", and it is below the {m} at {_list(flags['hurts'][m], levels)}"
                       for m in NO_GATE if any(flags["hurts"][m]))
             + f" ({e(test, GATE, top)} at f = {levels[top]:g}")
    if levels[top] in sure:
        c = sure[levels[top]]
        text += (f"; the {corrupted} expert's mean confidence is {c['swapped']:.2f} on swapped rows and "
                 f"{c['matched']:.2f} on matched ones")
    text += (f"). The oracle gate, which reads labels of the corrupted validation data (not available to a "
             f"deployed model), reaches {e(test, ORACLE, top)} at f = {levels[top]:g}.")
    below = [f"the {m} at {_list(flags['still'][m], levels)}" for m in NO_GATE if any(flags["still"][m])]
    text += (f" With the same corruption at training as well, at f = {levels[top]:g}: "
             + ", ".join(f"{m} {e(train, m, top)}" for m in NO_GATE)
             + f" vs {best[train][top]} alone {e(train, 'best single', top)}; below the best single modality "
             + ("beyond the seeds' noise: " + " and ".join(below) if below else "beyond the seeds' noise at no strength")
             + ".")
    return text
