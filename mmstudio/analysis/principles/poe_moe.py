"""Product vs mixture of Gaussian experts, in closed form and on a grid.

Product (PoE): Π_i N(x; μ_i, σ_i²) normalised is N(μ, σ²) with precision 1/σ² = Σ_i 1/σ_i² and
mean μ = σ² Σ_i μ_i/σ_i² (precision-weighted): narrower than every expert.
Mixture (MoE): Σ_i w_i N(x; μ_i, σ_i²) has mean μ = Σ_i w_i μ_i and variance
Σ_i w_i (σ_i² + μ_i²) − μ² = Σ_i w_i σ_i² + Σ_i w_i (μ_i − μ)²: wider than the average expert,
and wider still the more the experts disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmstudio.analysis.principles.result import Check, Result, statement_of, verdict_of


@dataclass
class PoEMoE(Result):
    means: np.ndarray           # the experts'
    variances: np.ndarray
    weights: np.ndarray         # the mixture's
    grid: np.ndarray
    expert_density: np.ndarray  # (experts, grid)
    poe_density: np.ndarray     # normalised product, computed on the grid
    moe_density: np.ndarray
    poe_mean: float
    poe_variance: float
    moe_mean: float
    moe_variance: float
    statement: str
    name: str = "poe-moe"

    def summary(self) -> list[str]:
        lines = [f"expert {i + 1}: mean {m:g}, variance {v:g}, mixture weight {w:g}"
                 for i, (m, v, w) in enumerate(zip(self.means, self.variances, self.weights))]
        lines.append(f"product of experts: mean {self.poe_mean:.4f}, variance {self.poe_variance:.4f}")
        lines.append(f"mixture of experts: mean {self.moe_mean:.4f}, variance {self.moe_variance:.4f}")
        return lines


def gaussian(x, mean: float, variance: float) -> np.ndarray:
    return np.exp(-0.5 * (np.asarray(x) - mean) ** 2 / variance) / np.sqrt(2 * np.pi * variance)


def poe_moments(means, variances) -> tuple[float, float]:
    means, variances = np.asarray(means, float), np.asarray(variances, float)
    precision = (1 / variances).sum()
    return float((means / variances).sum() / precision), float(1 / precision)


def moe_moments(means, variances, weights) -> tuple[float, float]:
    means, variances, weights = (np.asarray(v, float) for v in (means, variances, weights))
    weights = weights / weights.sum()
    mean = float((weights * means).sum())
    return mean, float((weights * (variances + means ** 2)).sum() - mean ** 2)


def poe_moe(means=(-1.0, 2.0), variances=(1.0, 0.5), weights=None, points: int = 2001, job=None) -> PoEMoE:
    """Densities of the experts, their product and their mixture on a grid, with the moments."""
    means, variances = np.asarray(means, float), np.asarray(variances, float)
    if means.shape != variances.shape or means.ndim != 1 or len(means) < 2:
        raise ValueError("give as many means as variances, at least two experts")
    if not np.all(variances > 0):
        raise ValueError("variances must be positive")
    weights = np.full(len(means), 1 / len(means)) if weights is None else np.asarray(weights, float)
    if weights.shape != means.shape or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError("mixture weights: one non-negative number per expert, not all zero")
    weights = weights / weights.sum()
    sd = np.sqrt(variances)
    grid = np.linspace((means - 6 * sd).min(), (means + 6 * sd).max(), points)
    experts = np.stack([gaussian(grid, m, v) for m, v in zip(means, variances)])
    log_product = np.log(np.clip(experts, 1e-300, None)).sum(axis=0)
    product = np.exp(log_product - log_product.max())
    product /= _trapezoid(product, grid)
    mixture = (weights[:, None] * experts).sum(axis=0)
    poe_mean, poe_var = poe_moments(means, variances)
    moe_mean, moe_var = moe_moments(means, variances, weights)
    average = float((weights * variances).sum())
    checks = [Check("the product is narrower than every expert", poe_var < variances.min(),
                    f"variance {poe_var:.3g} vs {variances.min():.3g}"),
              Check("the mixture is at least as wide as the experts' average", moe_var >= average - 1e-12,
                    f"variance {moe_var:.3g} = {average:.3g} average + {moe_var - average:.3g} disagreement")]
    verdict = verdict_of(checks)
    statement = statement_of(verdict, (
        f"Shown: the product of the experts is narrower than any of them (variance {poe_var:.3g} < "
        f"{variances.min():.3g}; mean {poe_mean:.3g}, pulled to the more precise expert); the mixture is wider "
        f"than their average (variance {moe_var:.3g} = {average:.3g} average + {moe_var - average:.3g} "
        f"disagreement) and keeps every mode."), checks)
    result = PoEMoE(means, variances, weights, grid, experts, product, mixture, poe_mean, poe_var, moe_mean, moe_var,
                    statement)
    result.verdict, result.checks = verdict, checks
    result.seeds = []   # a closed form: exact numbers, no seeds, each interval a point
    result.headline = {name: {"mean": float(v), "ci95": [float(v), float(v)], "values": [float(v)]} for name, v in
                       (("product.mean", poe_mean), ("product.variance", poe_var), ("mixture.mean", moe_mean),
                        ("mixture.variance", moe_var))}
    return result


def _trapezoid(y, x) -> float:
    return float(((y[1:] + y[:-1]) * np.diff(x)).sum() / 2)
