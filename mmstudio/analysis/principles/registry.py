"""The principles engine: textbook demonstrations of multimodal learning, each a plain function
returning plain data for a plot (arrays, numbers, a one- or two-sentence ``statement``,
``to_dict()`` for JSON, ``summary()`` for text).

Name → function; the modules load when a principle runs. Those that learn from data take the
:class:`EmbeddingTable` they are given (the command line and the window give the demo world's,
:func:`mmstudio.demo.table.demo_table`, unless the user gives one) and a job handle (progress,
cancellation). :func:`run_principle` gives them at most ``SAMPLE_LIMIT`` samples of it (a seeded random
sample above, stated in the result's ``sample_note``): they train several models over several seeds.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Principle:
    module: str
    function: str
    help: str
    uses_table: bool


PRINCIPLES = {
    "complementarity": Principle("mmstudio.analysis.principles.complementarity", "complementarity",
                                 "XOR: additive vs interaction models on ±1 data and the demo world; EMAP of a "
                                 "fused model as the size of the cross-modal interaction", True),
    "redundancy": Principle("mmstudio.analysis.principles.redundancy", "redundancy",
                            "accuracy with one modality removed on a redundant task (shape) vs a complementary "
                            "one (xor)", True),
    "late-fusion": Principle("mmstudio.analysis.principles.late_fusion", "late_fusion",
                             "logit sum vs probability averaging under conditional independence: accuracy, "
                             "NLL, ECE", False),
    "poe-moe": Principle("mmstudio.analysis.principles.poe_moe", "poe_moe",
                         "product vs mixture of two Gaussian experts: densities, means, variances", False),
    "dominance": Principle("mmstudio.analysis.principles.dominance", "dominance",
                           "a two-branch model's per-modality gradient norms per epoch, and its fused accuracy and "
                           "the weak encoder's linear probe over seeds: plain, OGM-GE for a sweep of α, loss "
                           "re-weighting", True),
    "sample-complexity": Principle("mmstudio.analysis.principles.sample_complexity", "sample_complexity",
                                   "accuracy, samples to a target accuracy and a mutual-information bound "
                                   "vs training-set size, per modality set", True),
    "broken-assumptions": Principle("mmstudio.analysis.principles.broken_assumptions", "broken_assumptions",
                                    "three assumptions broken: the logit sum without conditional independence, "
                                    "imputation without correlation, two encoders as a rotation (Procrustes, CKA)",
                                    True),
    "negative-transfer": Principle("mmstudio.analysis.principles.negative_transfer", "negative_transfer",
                                   "one modality mismatched at a rate: fusion without a gate vs the best single "
                                   "modality, the label-free and the oracle gate, corruption at test vs training", True),
    "interactions": Principle("mmstudio.analysis.principles.interactions", "interactions",
                              "partial information decomposition: redundancy, information unique to each modality "
                              "and synergy about a label, in bits (Liang et al. 2023)", True),
}


def function(name: str):
    """The principle's function (raises ``KeyError`` with the known names for an unknown one)."""
    try:
        p = PRINCIPLES[name]
    except KeyError:
        raise KeyError(f"unknown principle {name!r}; known: {', '.join(PRINCIPLES)}") from None
    return getattr(importlib.import_module(p.module), p.function)


SAMPLE_LIMIT = 20_000   # samples a principle learns from; a table with more gives a seeded random sample


def sample_table(table, limit: int | None = SAMPLE_LIMIT, seed: int = 0):
    """``(table, note)``: the table as it is and ``""`` up to ``limit`` samples (sample ids); above, the rows
    of a seeded random ``limit`` of them and the note that says so ("a random 20,000 of 500,000 samples,
    seed 0")."""
    ids = np.unique(np.array([sid for sid in table.sample_id.tolist() if sid is not None], dtype=object))
    if not limit or len(ids) <= limit:
        return table, ""
    chosen = set(np.random.default_rng(seed).choice(ids, limit, replace=False).tolist())
    rows = np.flatnonzero([sid in chosen for sid in table.sample_id.tolist()])
    return table.take(rows), f"a random {limit:,} of {len(ids):,} samples (seed {seed})"


def run_principle(name: str, table=None, job=None, sample_limit: int | None = None, **options):
    """Run one principle; options it does not take are left out (e.g. ``task`` for poe-moe). A principle
    that learns from a table needs one, unless its ``table`` defaults to None (it then says which of its
    parts need it). A table of more than ``sample_limit`` samples (default ``SAMPLE_LIMIT``; 0: no limit) is
    cut to a seeded random sample of them (:func:`sample_table`, the principle's ``seed``); the result's
    ``sample_note`` says so."""
    fn = function(name)
    accepted = inspect.signature(fn).parameters
    kwargs = {k: v for k, v in options.items() if k in accepted and v is not None}
    note = ""
    if PRINCIPLES[name].uses_table:
        if table is None and accepted["table"].default is inspect.Parameter.empty:
            raise ValueError(f"the principle {name} learns from a table: give one (the demo world's is "
                             "mmstudio.demo.table.demo_table())")
        if table is not None:
            limit = SAMPLE_LIMIT if sample_limit is None else sample_limit
            table, note = sample_table(table, limit, int(options.get("seed") or 0))
        kwargs["table"] = table
    result = fn(job=job, **kwargs)
    result.sample_note = note
    return result


# the building blocks, importable from here: name → module
EXPORTS = {
    "emap": "principles.complementarity", "xor_pm1": "principles.complementarity",
    "poe_moments": "principles.poe_moe", "moe_moments": "principles.poe_moe", "gaussian": "principles.poe_moe",
    "late_fuse": "principles.late_fusion", "ogm_coefficients": "principles.dominance",
    "paired": "common.pairing", "decompose": "principles.pid",
    "reliability": "common.classifier_metrics", "heldout_cross_entropy": "principles.fit",
}


def __getattr__(attr: str):
    """``principles.emap``, ``principles.complementarity``… loaded on first use."""
    if attr in EXPORTS:
        return getattr(importlib.import_module(f"mmstudio.analysis.{EXPORTS[attr]}"), attr)
    if attr.replace("_", "-") in PRINCIPLES:
        return function(attr.replace("_", "-"))
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
