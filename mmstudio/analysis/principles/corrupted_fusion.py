"""The models the negative-transfer page compares, under one modality mismatched at a rate:
trained for every seed and every training-time corruption strength at once, scored with the
fusion lab's corruption and late-fusion rules.

- **corruption** (:func:`mismatch`): the fusion lab's mismatch knob
  (:func:`mmstudio.analysis.fusion.missing.apply_conditions`): sample i's vector of the corrupted
  modality is replaced by another sample's when ``u_i < rate`` (draws fixed per seed, so the rows
  mismatched at 0.2 are among those at 0.4). At test time the partners come from the held-out rows
  (validation and test, as in the lab); at training time from the training rows.
- **models** (:func:`train_models`), per seed (each its own stratified train / validation / test
  split, :func:`mmstudio.analysis.fusion.data.split_samples`) and per training strength t (0: clean):
  one softmax-regression expert per modality and an MLP over the concatenation (32 hidden units),
  all members of one shape trained together by :func:`mmstudio.analysis.principles.fit.train_nets`
  (100 full-batch AdamW steps; the same accuracies within a few hundredths as 200 steps and 64
  units, at a third of the time). Label smoothing 0.1: the logit sum is the Bayes combination of
  *calibrated* experts, and unsmoothed ones were overconfident enough on the 400-scene demo world
  that it fell below the audio alone with nothing corrupted (0.970 vs 0.997 over 5 seeds; 0.995 vs
  0.990 smoothed), which is a failure of calibration, not the transfer this page is about.
- **scores** (:func:`score`): each modality alone, the experts' logit sum (the Bayes combination,
  :func:`mmstudio.analysis.fusion.rules.logit_sum`), the concatenation MLP, and the lab's gate
  (:func:`mmstudio.analysis.fusion.rules.gated`, the lab's default threshold and agreement) with
  two kinds of trust: ``confidence`` (each expert's top probability on the sample: no labels at
  all, the lab's default) and ``oracle`` (each expert's accuracy on the validation split under the
  very same corruption: it reads labels of the corrupted data, which a deployed model does not
  have — an upper bound, labelled as such).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmstudio.analysis.fusion import rules
from mmstudio.analysis.fusion.data import Split, split_samples
from mmstudio.analysis.fusion.knobs import Knobs
from mmstudio.analysis.fusion.missing import apply_conditions, make_draws
from mmstudio.analysis.principles.fit import train_nets

TRAIN_DRAWS = 7919   # added to a seed for the training-time draws (the held-out rows use the seed itself)


def mismatch(vectors: np.ndarray, rate: float, j: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``vectors`` (n, M, D) with modality ``j`` of a share ``rate`` of the rows replaced by another
    row's (the fusion lab's mismatch, draws seeded by ``seed``); returns (vectors, rows swapped)."""
    n, m, dim = vectors.shape
    present = np.ones((n, m), bool)
    levels = np.zeros(m)
    levels[j] = rate
    v, _, swapped = apply_conditions(vectors, present, make_draws(present, dim, seed), np.zeros(m), np.zeros(m),
                                     levels)
    return v, swapped[:, j]


@dataclass
class Models:
    """Every seed's split and trained members; member ``s * T + t`` is seed s at training strength t."""

    splits: list[Split]
    strengths: list[float]          # training strengths (the first is 0: clean)
    corrupt: int                    # index of the corrupted modality
    experts: list                   # per modality: a NetStack of S (clean modality) or S·T members
    mlp: object                     # NetStack of S·T members over the concatenation
    log_prior: np.ndarray           # (S, K) from each seed's training labels (+1 smoothing, as the lab)


def make_splits(y: np.ndarray, seeds: list[int]) -> list[Split]:
    """The fusion lab's split for each seed (55 % / 15 % / 30 %: train, validation, test, stratified)."""
    splits = [split_samples(y, seed) for seed in seeds]
    if any(len(s.val) == 0 for s in splits):
        raise ValueError(f"too few samples ({len(y)}) for a validation split: the oracle gate needs one")
    return splits


def train_models(x: np.ndarray, y: np.ndarray, k: int, seeds: list[int], strengths: list[float], corrupt: int,
                 *, steps: int = 100, hidden: int = 32, label_smoothing: float = 0.1, job=None) -> Models:
    """``x`` (n, M, D) paired vectors, ``y`` (n,) classes; ``strengths`` the training-time mismatch
    rates of modality ``corrupt`` (the first must be 0). Three calls of ``train_nets``: the clean
    experts (S members each), the corrupted modality's expert and the concatenation MLP (S·T)."""
    from mmstudio.core.jobs import Job

    job = job or Job()
    if strengths[0] != 0:
        raise ValueError("the first training strength must be 0 (the clean models)")
    splits = make_splits(y, seeds)
    sizes = {len(s.train) for s in splits}
    if len(sizes) != 1:  # a stratified split's sizes depend on the class counts only
        raise ValueError(f"the seeds' training splits differ in size ({sorted(sizes)})")
    t_count, m_count = len(strengths), x.shape[1]
    members = [seed for seed in seeds for _ in strengths]
    train = np.stack([x[s.train] for s in splits])                            # (S, n, M, D)
    y_train = np.stack([y[s.train] for s in splits])                          # (S, n)
    corrupted = np.stack([mismatch(train[i], t, corrupt, seed + TRAIN_DRAWS)[0] if t > 0 else train[i]
                          for i, seed in enumerate(seeds) for t in strengths])   # (S·T, n, M, D)
    y_members = np.repeat(y_train, t_count, axis=0)
    experts = []
    for m in range(m_count):
        job.check()
        if m == corrupt:
            experts.append(train_nets([corrupted[:, :, m]], y_members, k, "linear", seeds=members, steps=steps,
                                      label_smoothing=label_smoothing))
        else:
            experts.append(train_nets([train[:, :, m]], y_train, k, "linear", seeds=list(seeds), steps=steps,
                                      label_smoothing=label_smoothing))
    job.check()
    mlp = train_nets([corrupted[:, :, m] for m in range(m_count)], y_members, k, "concat", seeds=members,
                     steps=steps, hidden=hidden, weight_decay=0.1, label_smoothing=label_smoothing)
    counts = np.stack([np.bincount(yt, minlength=k) for yt in y_train]).astype(np.float64) + 1.0
    return Models(splits, list(strengths), corrupt, experts, mlp, np.log(counts / counts.sum(axis=1, keepdims=True)))


def held_out(x: np.ndarray, models: Models, rate: float, seeds: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Each seed's validation and test rows (in that order) with the corrupted modality mismatched at
    ``rate`` (partners among that seed's held-out rows, draws seeded by the seed): (S, n_held, M, D)
    vectors and (S, n_held) the rows swapped."""
    vectors, swapped = [], []
    for split, seed in zip(models.splits, seeds):
        held = x[np.concatenate([split.val, split.test])]
        v, rows = mismatch(held, rate, models.corrupt, seed) if rate > 0 else (held, np.zeros(len(held), bool))
        vectors.append(v)
        swapped.append(rows)
    return np.stack(vectors), np.stack(swapped)


def forward(models: Models, held: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every member on its seed's held-out rows ``held`` (S, n, M, D): the experts' log-posteriors
    (S, T, n, M, K) and the concatenation MLP's logits (S, T, n, K)."""
    s_count, n, m_count, _ = held.shape
    t_count = len(models.strengths)
    per_member = np.repeat(held, t_count, axis=0)                                # (S·T, n, M, D)
    log_post = []
    for m, stack in enumerate(models.experts):
        if m == models.corrupt:
            lp = stack.logits(per_member[:, :, m]).reshape(s_count, t_count, n, -1)
        else:
            lp = np.repeat(stack.logits(held[:, :, m])[:, None], t_count, axis=1)
        log_post.append(rules.log_softmax(lp.astype(np.float64)))
    mlp = models.mlp.logits(*[per_member[:, :, m] for m in range(m_count)]).reshape(s_count, t_count, n, -1)
    return np.stack(log_post, axis=3), mlp.astype(np.float64)


@dataclass
class Scores:
    """One seed, one training strength, one test strength: accuracies and the predictions behind them."""

    accuracy: dict[str, float]      # "image alone"…, "logit sum", "concat MLP", "gate (label-free)", "gate (oracle)"
    predictions: dict[str, np.ndarray]
    kept: dict[str, np.ndarray]     # gate → (n_test, M) experts kept per test sample


def score(log_post: np.ndarray, mlp_logits: np.ndarray, log_prior: np.ndarray, y_val: np.ndarray,
          y_test: np.ndarray, modalities: tuple[str, ...]) -> Scores:
    """One member's scores from its outputs on the held-out rows (validation rows first):
    ``log_post`` (n, M, K), ``mlp_logits`` (n, K). The labels enter the accuracies and the oracle
    gate's trust only; the label-free gate sees the experts' outputs alone."""
    knobs = Knobs()   # the lab's default gate: threshold and agreement measure
    n_val = len(y_val)
    val, test = log_post[:n_val], log_post[n_val:]
    present = np.ones(test.shape[:2], bool)
    oracle_trust = (val.argmax(axis=2) == y_val[:, None]).mean(axis=0)       # per modality, under the corruption
    out = {f"{mod} alone": test[:, m] for m, mod in enumerate(modalities)}
    out["logit sum"] = rules.logit_sum(test, present, log_prior)
    out["concat MLP"] = mlp_logits[n_val:]
    kept = {}
    for name, trust in (("gate (label-free)", "confidence"), ("gate (oracle)", oracle_trust)):
        out[name], kept[name], _, _ = rules.gated(test, present, log_prior, knobs.gate, trust, knobs.agreement)
    predictions = {name: lp.argmax(axis=1) for name, lp in out.items()}
    return Scores({name: float((p == y_test).mean()) for name, p in predictions.items()}, predictions, kept)
