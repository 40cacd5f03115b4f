"""The fusion lab's test-time knobs and what one setting of them scores.

:class:`Knobs` are everything that can change without retraining: missing rates, noise
levels and mismatch fractions per modality, the imputation strategy, the gate threshold, the
agreement measure, how the gate picks the modality to trust, and the seed of the test-time
random draws. :class:`FusionScores` holds the scores of every method under one setting.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from mmstudio.analysis.fusion.metrics import MethodScore
from mmstudio.analysis.fusion.missing import IMPUTATIONS

METHODS = ("early-linear", "early-mlp", "late-logit", "late-prob", "poe", "moe", "cross-attention", "gated")
EARLY = ("early-linear", "early-mlp", "cross-attention")   # take a full (imputed) input
LATE = ("late-logit", "late-prob", "poe", "moe", "gated")  # combine per-modality experts
# how the gate picks the modality to keep when the experts disagree:
#   confidence      each expert's own confidence on that sample (label-free at test time; the default)
#   clean-accuracy  each expert's accuracy on the clean validation split (labels at training time only)
#   oracle          each expert's validation accuracy under the test-time corruption itself: it needs labelled
#                   data from the corrupted source, which a deployed model does not have (an upper bound)
TRUST = ("confidence", "clean-accuracy", "oracle")
AGREEMENT = ("js", "cosine")


@dataclass(frozen=True)
class Knobs:
    missing: dict = field(default_factory=dict)    # modality (or "all") → rate in [0, 1]
    noise: dict = field(default_factory=dict)      # modality (or "all") → σ ≥ 0 (noise norm / signal norm)
    mismatch: dict = field(default_factory=dict)   # modality (or "all") → fraction in [0, 1]
    impute: str = "zero"        # zero | mean | cross-modal | dropout (for the early methods)
    gate: float = 0.5           # agreement threshold in [0, 1]; the gate is open at or above it
    agreement: str = "js"       # js | cosine
    trust: str = "confidence"   # see TRUST
    seed: int = 0               # seed of the test-time draws (masks, noise, mismatch partners)

    def replace(self, **changes) -> "Knobs":
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)

    def check(self) -> None:
        for name in ("missing", "mismatch"):
            for mod, value in getattr(self, name).items():
                if not 0 <= float(value) <= 1:
                    raise ValueError(f"{name} {mod}={value}: must be between 0 and 1")
        for mod, value in self.noise.items():
            if not float(value) >= 0:
                raise ValueError(f"noise {mod}={value}: must be 0 or more")
        if not 0 <= self.gate <= 1:
            raise ValueError(f"gate threshold {self.gate}: must be between 0 and 1")
        if self.impute not in IMPUTATIONS:
            raise ValueError(f"impute must be one of {', '.join(IMPUTATIONS)}, not {self.impute!r}")
        if self.agreement not in AGREEMENT:
            raise ValueError(f"agreement must be one of {', '.join(AGREEMENT)}, not {self.agreement!r}")
        if self.trust not in TRUST:
            raise ValueError(f"trust must be one of {', '.join(TRUST)}, not {self.trust!r}")


ALIASES = {"early": ("early-linear", "early-mlp"), "late": ("late-logit", "late-prob")}


def parse_methods(methods) -> tuple[str, ...]:
    """``"all"``, ``"early,gated"`` or a list → a tuple of method names in canonical order
    (``early``: both concatenation heads, ``late``: logit sum and probability average)."""
    if methods is None or methods == "all":
        return METHODS
    names = [m.strip() for m in (methods.split(",") if isinstance(methods, str) else methods) if m.strip()]
    names = [n for name in names for n in ALIASES.get(name, (name,))]
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise ValueError(f"unknown method(s) {', '.join(unknown) or '(none given)'} (choose from "
                         f"{', '.join(METHODS)}, early, late or all)")
    return tuple(m for m in METHODS if m in names)


def parse_levels(text: str | None, what: str = "level") -> dict:
    """``"audio=0.5,image=0.2"`` (or ``"0.3"`` for every modality) → ``{"audio": 0.5, "image": 0.2}``."""
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep:
            name, value = "all", name
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{what} {part!r}: write MODALITY=NUMBER[,MODALITY=NUMBER…]") from None
        if not math.isfinite(number):
            raise ValueError(f"{what} {part!r}: {value.strip()} is not a finite number")
        if name.strip() in out:
            raise ValueError(f"{what} {text!r}: {name.strip()} is given twice")
        out[name.strip()] = number
    return out


@dataclass
class FusionScores:
    """Every method's scores on the held-out split under one setting of the knobs.

    ``methods`` holds the fusion methods and, after them, each modality alone
    (``"image-only"``…, the prior where the modality is missing)."""

    knobs: Knobs
    modalities: tuple[str, ...]
    classes: tuple[str, ...]
    n_test: int
    methods: dict[str, MethodScore]
    trust: dict[str, float]          # per modality: validation accuracy under the knobs (missing aside)
    present_rate: dict[str, float]   # per modality: fraction of held-out samples that have it
    y: np.ndarray                    # true classes of the held-out samples
    log_prob: dict[str, np.ndarray]  # per method: held-out log-probabilities (n × K)
    gate_open: np.ndarray | None = None   # per held-out sample (gated fusion)
    agreement: np.ndarray | None = None   # per held-out sample, in [0, 1]

    @property
    def fusion(self) -> dict[str, MethodScore]:
        return {k: v for k, v in self.methods.items() if k in METHODS}

    @property
    def single(self) -> dict[str, MethodScore]:
        return {k: v for k, v in self.methods.items() if k.endswith("-only")}

    def best_single(self, metric: str = "accuracy") -> MethodScore:
        return max(self.single.values(), key=lambda s: getattr(s, metric))

    def to_dict(self) -> dict:
        return {"knobs": self.knobs.to_dict(), "modalities": list(self.modalities), "classes": list(self.classes),
                "n_test": self.n_test, "trust": dict(self.trust), "present_rate": dict(self.present_rate),
                "methods": {k: v.to_dict() for k, v in self.methods.items()}}
