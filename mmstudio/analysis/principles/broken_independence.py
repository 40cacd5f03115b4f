"""Broken assumption 1: the logit sum when the modalities are not conditionally independent.

Late fusion's setting (:mod:`mmstudio.analysis.principles.late_fusion`: classes with priors,
isotropic Gaussian views around per-class centres) with the second view a *noisy copy* of the
first: both views share the class centres, and their noise is correlated given the label,
coordinate by coordinate, with correlation ρ::

    x₁ = c[y] + σ₁ ε₁,   x₂ = c[y] + σ₂ (ρ ε₁ + √(1 − ρ²) ε₂),   ε₁, ε₂ ~ N(0, I) independent.

Each view's own posterior is unchanged by ρ (its marginal is N(c[y], σ²I) either way); only the
joint changes. The true posterior is in closed form (:func:`correlated_log_likelihood`): per
coordinate, (u, v) = (x₁ − c, x₂ − c) is bivariate normal with covariance
[[σ₁², ρσ₁σ₂], [ρσ₁σ₂, σ₂²]], so log p(x₁, x₂ | y) = −½ Σⱼ (uⱼ²/σ₁² − 2ρ uⱼvⱼ/(σ₁σ₂) + vⱼ²/σ₂²)/(1 − ρ²)
− d log(2π σ₁σ₂ √(1 − ρ²)). At ρ = 0 the logit sum (the views' log-posteriors summed, the prior
counted once) is that posterior; as ρ → 1 the second view repeats the first, and the logit sum
counts the same evidence twice: overconfident.

Each seed draws its own class centres and test points; the noise is drawn once per seed and
rescaled for every ρ, so the curves over ρ are nested (the same points, more correlated).
"""

from __future__ import annotations

import numpy as np

from mmstudio.analysis.common.classifier_metrics import accuracy, log_softmax, nll, reliability, softmax
from mmstudio.analysis.principles.late_fusion import late_fuse
from mmstudio.analysis.principles.result import NOT_SHOWN, Check, above, ci_text, estimate, statement_of, verdict_of

RHOS = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95)
METHODS = ("true posterior", "logit sum", "probability average", "first view alone")


def correlated_log_likelihood(x1, x2, centres1, centres2, sigmas, rho: float) -> np.ndarray:
    """log p(x₁, x₂ | y = k) for every row and class (N, K): the two views' noise correlated by
    ``rho`` coordinate by coordinate (the closed form of the module's docstring; equal to
    ``scipy.stats.multivariate_normal`` with the full 2d × 2d covariance)."""
    s1, s2 = (float(s) for s in sigmas)
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"the correlation ρ must be in [0, 1), not {rho}")
    u = np.asarray(x1, np.float64)[:, None, :] - np.asarray(centres1, np.float64)[None]
    v = np.asarray(x2, np.float64)[:, None, :] - np.asarray(centres2, np.float64)[None]
    q = ((u / s1) ** 2 - 2 * rho * (u / s1) * (v / s2) + (v / s2) ** 2).sum(axis=2) / (1 - rho ** 2)
    d = u.shape[2]
    return -0.5 * q - d * np.log(2 * np.pi * s1 * s2 * np.sqrt(1 - rho ** 2))


def _views(rng, n, priors, centres, sigmas, rho, eps=None):
    y = rng.choice(len(priors), size=n, p=priors) if eps is None else eps[0]
    e1, e2 = (rng.standard_normal((n, centres.shape[1])) for _ in range(2)) if eps is None else eps[1:]
    x1 = centres[y] + sigmas[0] * e1
    x2 = centres[y] + sigmas[1] * (rho * e1 + np.sqrt(1 - rho ** 2) * e2)
    return x1, x2, (y, e1, e2)


def _scores(probs, y) -> dict:
    rel = reliability(probs, y)
    confidence = float(probs.max(axis=1).mean())
    acc = accuracy(probs, y)
    return {"accuracy": acc, "nll": nll(probs, y), "ece": rel["ece"], "overconfidence": confidence - acc}


def independence(*, rho: float = 0.8, rhos=RHOS, priors=(0.5, 0.3, 0.2), sigmas=(1.0, 1.0), dim: int = 2,
                 separation: float = 1.5, n_test: int = 10000, seeds: list[int], job=None) -> dict:
    """The logit sum, the probability average and the true posterior over a sweep of ρ, per seed;
    the checks at ``rho``. Returns the part's plain data (``verdict``, ``statement``, ``checks``…)."""
    if not 0.0 <= rho < 1.0 or any(not 0.0 <= r < 1.0 for r in rhos):
        raise ValueError(f"rho: the correlation given the label must be in [0, 1), not {rho}")
    grid = sorted(set(float(r) for r in rhos) | {0.0, float(rho)})
    priors = np.asarray(priors, float) / np.sum(priors)
    log_prior = np.log(priors)
    k = len(priors)
    per = {m: {key: np.zeros((len(seeds), len(grid))) for key in ("accuracy", "nll", "ece", "overconfidence")}
           for m in METHODS}
    diff_at_zero = 0.0
    for s, seed in enumerate(seeds):
        if job is not None:
            job.check()
        rng = np.random.default_rng(seed)
        centres = separation * rng.standard_normal((k, dim))
        eps = None
        for i, r in enumerate(grid):
            x1, x2, eps = _views(rng, n_test, priors, centres, sigmas, r, eps)
            y = eps[0]
            true = softmax(log_prior + correlated_log_likelihood(x1, x2, centres, centres, sigmas, r))
            unimodal = [log_softmax(log_prior - 0.5 * ((x[:, None, :] - centres[None]) ** 2).sum(axis=2) / sg ** 2)
                        for x, sg in ((x1, sigmas[0]), (x2, sigmas[1]))]
            fused = late_fuse(unimodal, log_prior)
            probs = {"true posterior": true, "logit sum": fused["logit sum"],
                     "probability average": fused["average"], "first view alone": np.exp(unimodal[0])}
            for m, p in probs.items():
                for key, value in _scores(p, y).items():
                    per[m][key][s, i] = value
            if r == 0.0:
                diff_at_zero = max(diff_at_zero, float(np.abs(fused["logit sum"] - true).max()))
    at = grid.index(float(rho))
    curves = {m: {key: [estimate(v[:, i]) for i in range(len(grid))] for key, v in d.items()} for m, d in per.items()}
    ls, tp, avg = per["logit sum"], per["true posterior"], per["probability average"]
    nll_gap = ls["nll"][:, at] - tp["nll"][:, at]
    ece_gap = ls["ece"][:, at] - tp["ece"][:, at]
    e = {name: estimate(v) for name, v in (("ls", ls["nll"][:, at]), ("tp", tp["nll"][:, at]),
                                           ("avg", avg["nll"][:, at]), ("over", ls["overconfidence"][:, at]),
                                           ("gap", nll_gap), ("tp_over", tp["overconfidence"][:, at]))}
    checks = [
        Check("at ρ = 0 the logit sum is the true posterior (closed form)", diff_at_zero < 1e-9,
              f"largest difference {diff_at_zero:.1e} over {len(seeds)} seeds × {n_test} points, criterion < 1e-9"),
        Check(f"at ρ = {rho:g} the logit sum has a higher NLL than the true posterior", above(nll_gap),
              f"NLL {ci_text(e['ls'], 3)} vs {ci_text(e['tp'], 3)}, difference {ci_text(e['gap'], 3)}; claimed when "
              "the 95 % interval of the per-seed differences is above 0"),
        Check(f"at ρ = {rho:g} the logit sum is overconfident", above(ls["overconfidence"][:, at]),
              f"mean confidence − accuracy {ci_text(e['over'], 3)} (true posterior {ci_text(e['tp_over'], 3)}); "
              "claimed when its 95 % interval is above 0"),
        Check("the true posterior stays better calibrated", above(ece_gap),
              f"ECE {ci_text(estimate(ls['ece'][:, at]), 3)} vs {ci_text(estimate(tp['ece'][:, at]), 3)}"),
    ]
    verdict = verdict_of(checks[:3], checks[3:])
    statement = statement_of(verdict, (
        f"Shown: when the second view is correlated with the first given the label (ρ = {rho:g}), the logit sum "
        f"counts their shared evidence twice: NLL {e['ls']['mean']:.3f} vs {e['tp']['mean']:.3f} for the true "
        f"posterior (closed form), overconfident by {e['over']['mean']:.3f} (confidence − accuracy); averaging "
        f"probabilities: NLL {e['avg']['mean']:.3f}. At ρ = 0 the logit sum is the true posterior (largest "
        f"difference {diff_at_zero:.0e})."), checks)
    if verdict == NOT_SHOWN:
        statement += (f" Measured at ρ = {rho:g}: NLL logit sum {e['ls']['mean']:.3f}, true posterior "
                      f"{e['tp']['mean']:.3f}, probability average {e['avg']['mean']:.3f}.")
    headline = {"independence: NLL logit sum": e["ls"], "independence: NLL true posterior": e["tp"],
                "independence: NLL probability average": e["avg"],
                "independence: NLL logit sum − true posterior": e["gap"],
                "independence: logit-sum overconfidence": e["over"]}
    return {"verdict": verdict, "statement": statement, "checks": checks, "headline": headline, "rho": float(rho),
            "rhos": grid, "curves": curves, "n_test": n_test, "sigmas": [float(s) for s in sigmas],
            "priors": priors.tolist(), "dim": dim, "separation": separation,
            "max_diff_at_zero": diff_at_zero}
