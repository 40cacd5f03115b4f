"""Broken assumptions: what a method gives when the assumption it relies on fails, in three parts,
each with its controls, its own checks and a reference:

1. ``independence`` (:mod:`.broken_independence`): the logit sum is the Bayes posterior only when
   the modalities are conditionally independent given the label; a second view correlated with the
   first makes it overconfident, while the true posterior (closed form) stays calibrated.
2. ``imputation`` (:mod:`.broken_imputation`): imputing a missing modality from the present one
   helps only as far as the two are correlated (the regression's R² is ρ²), and never beyond what
   the present one tells alone.
3. ``procrustes`` (:mod:`.broken_rotation`): two encoders trained independently are not a rotation
   of each other: the Procrustes residual between two tables of the same samples is far from 0 yet
   below a shuffled pairing's (a table against a rotated copy of itself: 0).

The verdict is ``shown`` when every part is shown, ``not shown`` when none is, ``mixed`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmstudio.analysis.principles.result import MIXED, NOT_SHOWN, SEEDS, SHOWN, Check, Result, seed_list

PARTS = ("independence", "imputation", "procrustes")
TITLES = {"independence": "logit sum without conditional independence",
          "imputation": "imputation vs cross-modal correlation",
          "procrustes": "two encoders as a rotation of each other"}


@dataclass
class BrokenAssumptions(Result):
    parts: list[str]
    independence: dict | None          # each part: verdict, statement, checks, headline and its curves
    imputation: dict | None
    procrustes: dict | None
    statement: str
    name: str = "broken-assumptions"
    part_verdicts: dict = field(default_factory=dict)

    def summary(self) -> list[str]:
        lines = []
        if self.independence:
            lines += _independence_lines(self.independence)
        if self.imputation:
            lines += _imputation_lines(self.imputation)
        if self.procrustes:
            lines += _procrustes_lines(self.procrustes)
        lines.append(f"seeds: {', '.join(map(str, self.seeds))} (means with a Student-t 95 % interval over them)")
        return lines


def broken_assumptions(table=None, *, other=None, part: str | None = None, rho: float = 0.8, seed: int = 0,
                       seeds: int = SEEDS, job=None) -> BrokenAssumptions:
    """Run the parts (all, or ``part``); ``table`` and ``other`` are the procrustes part's two tables
    (``other`` None: a stand-in made from ``table``, and the statement says so); ``rho`` is the
    correlation given the label at which the independence part is judged."""
    if part is not None and part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, not {part!r}")
    if other is not None and part in ("independence", "imputation"):
        raise ValueError(f"--other: only the procrustes part compares two tables, not the {part} part")
    if not 0.0 <= float(rho) < 1.0:
        raise ValueError(f"rho: the correlation given the label must be in [0, 1), not {rho}")
    names = [part] if part else list(PARTS)
    if "procrustes" in names:   # refused before the other parts run
        if table is None or len(table) == 0:
            raise ValueError("the procrustes part compares two tables of embeddings: give one (--table)")
        if other is not None:
            from mmstudio.analysis.principles.broken_rotation import matched

            matched(table, other)
    seed_values = seed_list(seed, seeds)
    results: dict[str, dict] = {}
    for i, name in enumerate(names):
        if job is not None:
            job.check()
            job.status(f"part {i + 1} of {len(names)}: {TITLES[name]}")
        if name == "independence":
            from mmstudio.analysis.principles.broken_independence import independence

            results[name] = independence(rho=float(rho), seeds=seed_values, job=job)
        elif name == "imputation":
            from mmstudio.analysis.principles.broken_imputation import imputation

            results[name] = imputation(seeds=seed_values, job=job)
        else:
            from mmstudio.analysis.principles.broken_rotation import rotation

            results[name] = rotation(table, other, seeds=seed_values, job=job)
    verdicts = {name: r["verdict"] for name, r in results.items()}
    verdict = _overall(list(verdicts.values()))
    checks = [Check(f"{name}: {c.claim}", c.held, c.evidence) for name, r in results.items() for c in r["checks"]]
    headline = {k: v for r in results.values() for k, v in r["headline"].items()}
    out = BrokenAssumptions(names, results.get("independence"), results.get("imputation"), results.get("procrustes"),
                            _statement(verdict, results), part_verdicts=verdicts)
    out.verdict, out.checks, out.seeds, out.headline = verdict, checks, seed_values, headline
    return out


def _overall(verdicts: list[str]) -> str:
    if all(v == SHOWN for v in verdicts):
        return SHOWN
    if all(v == NOT_SHOWN for v in verdicts):
        return NOT_SHOWN
    return MIXED


def _statement(verdict: str, results: dict[str, dict]) -> str:
    """One part: its statement. Several: the parts' statements numbered under one head that says
    which were shown."""
    if len(results) == 1:
        return next(iter(results.values()))["statement"]
    if verdict == SHOWN:
        head, strip = "Shown", "Shown: "
    elif verdict == NOT_SHOWN:
        head, strip = "Not shown on this data", "Not shown on this data: "
    else:
        by = {}
        for name, r in results.items():
            by.setdefault(r["verdict"], []).append(name)
        head = "Mixed: " + "; ".join(f"{v} for {', '.join(n)}" for v, n in by.items())
        strip = ""
    parts = []
    for i, (name, r) in enumerate(results.items()):
        text = r["statement"]
        text = text[len(strip):] if strip and text.startswith(strip) else text
        parts.append(f"({i + 1}) {TITLES[name]}: {text}")
    return f"{head}: " + " ".join(parts) if verdict != MIXED else f"{head}. " + " ".join(parts)


# --- text for the command line ---------------------------------------------------------------------
def _independence_lines(r: dict) -> list[str]:
    curves = r["curves"]
    methods = list(curves)
    lines = ["", f"(1) {TITLES['independence']}: {len(r['priors'])} classes, two views of dimension {r['dim']} "
             f"sharing the class centres, noise correlated by ρ given the label; {r['n_test']} test points per seed",
             "  NLL (mean over seeds)", "  " + f"{'ρ':>5} " + " ".join(f"{m:>20}" for m in methods)]
    for i, rho in enumerate(r["rhos"]):
        lines.append("  " + f"{rho:>5.2f} " + " ".join(f"{curves[m]['nll'][i]['mean']:>20.3f}" for m in methods))
    at = r["rhos"].index(r["rho"])
    lines.append(f"  at ρ = {r['rho']:g}: " + ", ".join(
        f"{m} ECE {curves[m]['ece'][at]['mean']:.3f}, confidence − accuracy {curves[m]['overconfidence'][at]['mean']:+.3f}"
        for m in methods[:3]))
    return lines


def _imputation_lines(r: dict) -> list[str]:
    acc = r["accuracy"]
    methods = list(acc)
    lines = ["", f"(2) {TITLES['imputation']}: two views of dimension {r['dim']} correlated by ρ, the second missing "
             f"at test time; {r['n_train']} training and {r['n_test']} test points per seed",
             "  " + f"{'ρ':>5} " + " ".join(f"{m:>17}" for m in methods) + f" {'gain':>7} {'R²':>6} {'ρ²':>6}"]
    for i, rho in enumerate(r["rhos"]):
        lines.append("  " + f"{rho:>5.2f} " + " ".join(f"{acc[m][i]['mean']:>17.3f}" for m in methods)
                     + f" {r['gain'][i]['mean']:>+7.3f} {r['r2'][i]['mean']:>6.3f} {rho ** 2:>6.3f}")
    return lines


def _procrustes_lines(r: dict) -> list[str]:
    lines = ["", f"(3) {TITLES['procrustes']}: {r['source']}",
             f"  {'modality':<9} {'matched':>7}  {'residual':<22} {'shuffled':<22} {'CKA':<22} {'shuffled CKA':<22} "
             "rotated copy"]
    for m in r["modalities"]:
        e = r["numbers"][m]

        def ci(key):
            return f"{e[key]['mean']:.3f} [{e[key]['ci95'][0]:.3f}, {e[key]['ci95'][1]:.3f}]"

        lines.append(f"  {m:<9} {r['matched'][m]:>7}  {ci('residual'):<22} {ci('shuffled residual'):<22} "
                     f"{ci('cka'):<22} {ci('shuffled cka'):<22} {r['control'][m]['residual']:.0e}")
    lines.append("  residual: held-out relative ‖A R − B‖² / ‖B‖² (rotation fitted on the other half); "
                 "shuffled: B's rows paired at random")
    return lines
