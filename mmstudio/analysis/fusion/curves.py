"""Robustness curves of a trained fusion lab: a metric against a corruption level, for every method.

:func:`robustness_curve` re-scores a :class:`~mmstudio.analysis.fusion.lab.FusionLab` (no training)
at each level of one knob — ``missing`` rate, ``noise`` level or ``mismatch`` fraction — for one
modality or ``"all"``, on top of a base setting of the other knobs. The test-time draws are
nested (:mod:`mmstudio.analysis.fusion.missing`): the samples missing at rate 0.3 are among
those missing at 0.5, so each curve moves by the samples the next level adds, not by new luck.

For each method (:class:`RobustnessCurve`):

- ``area``: the area under the curve divided by the level range (trapezoids), i.e. the mean
  metric over the levels — in [0, 1] for accuracy and macro-F1;
- ``relative``: that area divided by the clean (first-level) value: the *relative robustness*,
  1 for a method the corruption does not touch, lower the faster it degrades;
- ``effective``: per level, the method's metric above the baseline's curve (default: late fusion
  by logit sum) shifted to the same clean value, ``(m(l) − m(l₀)) − (b(l) − b(l₀))``, and its mean
  over the levels (the *effective robustness*: > 0 where the method degrades more slowly than
  the baseline would from the same start).

:func:`gate_curve` is the gated fusion against its threshold: metric and gate open rate (the
fraction of test samples whose experts agree at or above the threshold, non-increasing in it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.analysis.fusion.knobs import Knobs
from mmstudio.analysis.fusion.metrics import curve_area, effective_robustness, relative_robustness
from mmstudio.core.jobs import Job

KNOBS = ("missing", "noise", "mismatch")
METRICS = ("accuracy", "macro_f1", "nll", "ece")
DEFAULT_LEVELS = {"missing": np.linspace(0.0, 1.0, 11), "noise": np.linspace(0.0, 2.0, 11),
                  "mismatch": np.linspace(0.0, 1.0, 11)}
BASELINE = "late-logit"


@dataclass
class RobustnessCurve:
    knob: str
    modality: str
    metric: str
    levels: np.ndarray
    values: dict[str, np.ndarray]          # method (and "<modality>-only") → metric per level
    baseline: str | None = BASELINE
    present_rate: np.ndarray | None = None  # fraction of test samples with the modality, per level
    gate_open_rate: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def area(self, method: str) -> float:
        return curve_area(self.levels, self.values[method])

    def relative(self, method: str) -> float:
        return relative_robustness(self.levels, self.values[method])

    def effective(self, method: str) -> np.ndarray:
        if self.baseline is None or self.baseline not in self.values:
            raise ValueError("no baseline method in this curve")
        return effective_robustness(self.values[method], self.values[self.baseline])

    def summary(self) -> dict:
        """Per method: clean value, value at the last level, area, relative and mean effective robustness."""
        out = {}
        for name, vals in self.values.items():
            eff = self.effective(name) if self.baseline in self.values else None
            out[name] = {"clean": float(vals[0]), "worst_level": float(vals[-1]), "area": self.area(name),
                         "relative": self.relative(name),
                         "effective": None if eff is None else float(curve_area(self.levels, eff))}
        return out

    def to_dict(self) -> dict:
        def listed(a):
            return None if a is None else np.asarray(a, np.float64).tolist()

        return {"knob": self.knob, "modality": self.modality, "metric": self.metric, "levels": listed(self.levels),
                "baseline": self.baseline, "values": {k: listed(v) for k, v in self.values.items()},
                "present_rate": listed(self.present_rate), "gate_open_rate": listed(self.gate_open_rate),
                "summary": self.summary(),
                "effective": ({k: listed(self.effective(k)) for k in self.values}
                              if self.baseline in self.values else None)}


def robustness_curve(lab, knob: str = "missing", modality: str = "all", levels=None, *, metric: str = "accuracy",
                     base: Knobs | None = None, baseline: str | None = BASELINE, job=None) -> RobustnessCurve:
    """``metric`` of every method of ``lab`` at each level of ``knob`` for ``modality`` (no training)."""
    job = job or Job()
    if knob not in KNOBS:
        raise ValueError(f"knob must be one of {', '.join(KNOBS)}, not {knob!r}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    if modality != "all" and modality not in lab.modalities:
        raise ValueError(f"unknown modality {modality!r} (the lab has {', '.join(lab.modalities)})")
    levels = np.asarray(DEFAULT_LEVELS[knob] if levels is None else levels, np.float64)
    if levels.ndim != 1 or len(levels) < 2 or np.any(np.diff(levels) <= 0):
        raise ValueError("levels must be at least two increasing numbers")
    base = base or Knobs()
    values: dict[str, list] = {}
    present, gate = [], []
    for i, level in enumerate(levels):
        job.check()
        job.progress(i, len(levels))
        knobs = base.replace(**{knob: {**getattr(base, knob), modality: float(level)}})
        scores = lab.score(knobs, contributions=False)
        for name, sc in scores.methods.items():
            values.setdefault(name, []).append(getattr(sc, metric))
        rates = scores.present_rate
        present.append(np.mean(list(rates.values())) if modality == "all" else rates[modality])
        if "gated" in scores.methods:
            gate.append(scores.methods["gated"].gate_open_rate)
    job.progress(len(levels), len(levels))
    return RobustnessCurve(knob, modality, metric, levels, {k: np.asarray(v) for k, v in values.items()},
                           baseline if baseline in values else None, np.asarray(present),
                           np.asarray(gate) if gate else None)


def gate_curve(lab, thresholds=None, *, metric: str = "accuracy", base: Knobs | None = None) -> dict:
    """The gated fusion against its threshold: ``{"thresholds", metric, "gate_open_rate"}`` (lists)."""
    if "gated" not in lab.methods:
        raise ValueError("the lab has no gated fusion")
    thresholds = np.asarray(np.linspace(0.0, 1.0, 11) if thresholds is None else thresholds, np.float64)
    base = base or Knobs()
    values, open_rate = [], []
    for t in thresholds:
        sc = lab.score(base.replace(gate=float(t)), contributions=False).methods["gated"]
        values.append(getattr(sc, metric))
        open_rate.append(sc.gate_open_rate)
    return {"thresholds": thresholds.tolist(), metric: values, "gate_open_rate": open_rate}
