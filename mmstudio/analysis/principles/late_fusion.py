"""Late fusion under conditional independence: summing logits vs averaging probabilities.

Two modalities x1, x2 are drawn independently given the class y (isotropic Gaussians around
per-class means), so p(y | x1, x2) ∝ p(y | x1) p(y | x2) / p(y): summing the unimodal
log-posteriors and counting the prior once gives the Bayes posterior exactly. Averaging the
two posteriors is a mixture, not a product: less sharp where both modalities agree, and
badly calibrated. Both are scored with the exact unimodal posteriors and with learned
unimodal heads (multinomial logistic regression, which is the right model family here).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.common.classifier_metrics import accuracy, log_softmax, nll, reliability, softmax
from mmstudio.analysis.principles.fit import train_nets
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


@dataclass
class LateFusion(Result):
    priors: np.ndarray
    sigmas: tuple[float, float]
    n_test: int
    scores: dict[str, dict[str, dict]]  # "exact" / "learned" → method → accuracy, nll, ece, reliability bins
    unimodal: dict[str, dict[str, float]]  # "exact"/"learned" → modality → accuracy
    max_diff_from_bayes: float         # |logit-sum posterior − Bayes posterior|, exact posteriors
    statement: str
    name: str = "late-fusion"
    numbers: dict = field(default_factory=dict)

    def summary(self) -> list[str]:
        lines = [f"{len(self.priors)} classes, priors {', '.join(f'{p:.2f}' for p in self.priors)}; "
                 f"two conditionally independent Gaussian modalities (σ = {self.sigmas[0]:g}, {self.sigmas[1]:g}), "
                 f"{self.n_test} test points",
                 f"logit sum vs Bayes posterior: largest difference {self.max_diff_from_bayes:.2e}"]
        for kind, methods in self.scores.items():
            uni = ", ".join(f"{m} alone {a:.3f}" for m, a in self.unimodal[kind].items())
            lines += ["", f"{kind} unimodal posteriors ({uni})", f"  {'method':<24} {'accuracy':>8} {'NLL':>7} {'ECE':>7}"]
            for name, s in methods.items():
                lines.append(f"  {name:<24} {s['accuracy']:>8.3f} {s['nll']:>7.4f} {s['ece']:>7.4f}")
        return lines


def _sample(n, rng, priors, centres, sigmas):
    y = rng.choice(len(priors), size=n, p=priors)
    xs = [centres[m][y] + sigmas[m] * rng.standard_normal((n, centres[m].shape[1])) for m in range(2)]
    return xs, y


def _log_lik(x, centres, sigma):
    d2 = ((x[:, None, :] - centres[None]) ** 2).sum(axis=2)
    return -0.5 * d2 / sigma ** 2


def late_fuse(log_posts: list[np.ndarray], log_prior: np.ndarray) -> dict[str, np.ndarray]:
    """Fused posteriors from per-modality log-posteriors (N, K) and the log-prior (K,): the logit
    sum with the prior counted once (Σ_m log p(y|x_m) − (M−1) log p(y), renormalised), the logit
    sum that counts it M times, and the average of the probabilities."""
    total = sum(log_posts)
    return {"logit sum": softmax(total - (len(log_posts) - 1) * log_prior),
            "prior twice": softmax(total),
            "average": sum(np.exp(lp) for lp in log_posts) / len(log_posts)}


def _score(probs, y) -> dict:
    rel = reliability(probs, y)
    return {"accuracy": accuracy(probs, y), "nll": nll(probs, y), "ece": rel.pop("ece"), "reliability": rel}


def _draw(priors, sigmas, dim, separation, n_train, n_test, seed) -> dict:
    """One draw of the world: class centres, training and test points."""
    rng = np.random.default_rng(seed)
    centres = [separation * rng.standard_normal((len(priors), dim)) for _ in range(2)]
    train, y_train = _sample(n_train, rng, priors, centres, sigmas)
    test, y = _sample(n_test, rng, priors, centres, sigmas)
    return {"centres": centres, "train": train, "y_train": y_train, "test": test, "y": y}


def _scores(world, priors, sigmas, learned) -> tuple[dict, dict, float]:
    """Every method's scores on one draw, with the exact and the ``learned`` (N, K) unimodal log-posteriors."""
    log_prior = np.log(priors)
    (x1, x2), y = world["test"], world["y"]
    lik = [_log_lik(x1, world["centres"][0], sigmas[0]), _log_lik(x2, world["centres"][1], sigmas[1])]
    bayes = softmax(log_prior + lik[0] + lik[1])
    exact = [log_softmax(log_prior + ll) for ll in lik]
    scores, unimodal = {}, {}
    for kind, posts in (("exact", exact), ("learned", learned)):
        fused = late_fuse(posts, log_prior)
        methods = {"bayes": bayes, "logit sum": fused["logit sum"], "logit sum, prior twice": fused["prior twice"],
                   "probability average": fused["average"]}
        scores[kind] = {name: _score(p, y) for name, p in methods.items()}
        unimodal[kind] = {m: accuracy(np.exp(p), y) for m, p in zip(("x1", "x2"), posts)}
    return scores, unimodal, float(np.abs(late_fuse(exact, log_prior)["logit sum"] - bayes).max())


def late_fusion(priors=(0.5, 0.3, 0.2), sigmas=(1.0, 1.3), dim: int = 2, separation: float = 1.5,
                n_train: int = 2000, n_test: int = 20000, seed: int = 0, seeds: int = SEEDS, job=None) -> LateFusion:
    """Bayes, logit sum (prior once), logit sum (prior twice) and probability averaging, scored on
    ``seeds`` draws of the world (its class centres, training and test points): scores are means
    over the draws (the reliability bins: the first draw's), ``headline`` their 95 % intervals."""
    job = job or Job()
    priors = np.asarray(priors, float)
    priors = priors / priors.sum()
    run = seed_list(seed, seeds)
    worlds = [_draw(priors, sigmas, dim, separation, n_train, n_test, s_) for s_ in run]
    y_train = np.stack([w["y_train"] for w in worlds])
    learned = []
    for m in range(2):   # each modality's heads, one per draw, trained together
        job.check()
        job.status(f"fitting the unimodal heads of x{m + 1} ({len(run)} draws)")
        heads = train_nets([np.stack([w["train"][m] for w in worlds])], y_train, len(priors), "linear", seeds=run,
                           steps=300, lr=0.05, weight_decay=0.0)
        learned.append(log_softmax(heads.logits(np.stack([w["test"][m] for w in worlds])).astype(np.float64)))
        job.progress(m + 1, 3)
    draws = [_scores(w, priors, sigmas, [learned[0][i], learned[1][i]]) for i, w in enumerate(worlds)]
    job.progress(3, 3)
    per = {(kind, name, score): np.array([d[0][kind][name][score] for d in draws])
           for kind, methods in draws[0][0].items() for name in methods for score in ("accuracy", "nll", "ece")}
    scores = {kind: {name: {**{score: float(per[kind, name, score].mean()) for score in ("accuracy", "nll", "ece")},
                            "reliability": draws[0][0][kind][name]["reliability"]} for name in methods}
              for kind, methods in draws[0][0].items()}
    unimodal = {kind: {m: float(np.mean([d[1][kind][m] for d in draws])) for m in ms} for kind, ms in draws[0][1].items()}
    diff = max(d[2] for d in draws)
    s, a = scores["exact"]["logit sum"], scores["exact"]["probability average"]
    m = margin(n_test, 0.1)
    ece_gap = per["exact", "probability average", "ece"] - per["exact", "logit sum", "ece"]
    nll_gap = per["exact", "probability average", "nll"] - per["exact", "logit sum", "nll"]
    checks = [Check("the logit sum is the Bayes posterior", diff < 1e-6, f"largest difference {diff:.1e} over {len(run)} draws"),
              Check("averaging probabilities is worse calibrated", above(ece_gap, m),
                    f"ECE {a['ece']:.3f} vs {s['ece']:.3f}, difference {ci_text(estimate(ece_gap), 3)} above {m:.3f}"),
              Check("averaging probabilities has the higher NLL", above(nll_gap),
                    f"NLL {a['nll']:.3f} vs {s['nll']:.3f}, difference {ci_text(estimate(nll_gap), 3)}")]
    verdict = verdict_of(checks[:2], checks[2:])
    statement = statement_of(verdict, (
        f"Shown: with conditionally independent modalities, summing the exact unimodal logits (prior counted once) "
        f"is the Bayes posterior (largest difference {diff:.1e}): NLL {s['nll']:.3f}, ECE {s['ece']:.3f}; averaging "
        f"probabilities is under-confident where the modalities agree: NLL {a['nll']:.3f}, ECE {a['ece']:.3f} "
        f"(accuracy {s['accuracy']:.3f} vs {a['accuracy']:.3f})."), checks)
    ls, la = scores["learned"]["logit sum"], scores["learned"]["probability average"]
    statement += (f" With learned unimodal heads: logit sum NLL {ls['nll']:.3f}, ECE {ls['ece']:.3f}, accuracy "
                  f"{ls['accuracy']:.3f}; probability average NLL {la['nll']:.3f}, ECE {la['ece']:.3f}, accuracy "
                  f"{la['accuracy']:.3f}. Means over {len(run)} draws of the world.")
    numbers = {kind: {name: {k_: v for k_, v in sc.items() if k_ != "reliability"} for name, sc in m_.items()}
               for kind, m_ in scores.items()}
    result = LateFusion(priors, tuple(float(s_) for s_ in sigmas), n_test, scores, unimodal, diff, statement,
                        numbers=numbers)
    result.verdict, result.checks, result.seeds = verdict, checks, run
    result.headline = {f"{kind}.{name}.{score}": estimate(v) for (kind, name, score), v in per.items()}
    return result
