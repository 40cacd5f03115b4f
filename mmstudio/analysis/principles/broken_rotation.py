"""Broken assumption 3: two encoders trained independently are a rotation of each other.

Methods that swap one model's embeddings for another's (or stitch two models) by an orthogonal
map assume the two spaces differ by a rotation. Two tables of the same samples (rows matched by
sample id and modality) test it, per modality:

- the **orthogonal Procrustes residual** (:func:`mmstudio.analysis.alignment.procrustes.orthogonal_procrustes`):
  each side centred and scaled to a mean squared row norm of 1, the rotation fitted on a random
  half of the samples and the relative residual ‖A R − B‖² / ‖B‖² measured on the other half
  (0 for a rotation; held out, so a wide space cannot fit noise);
- **linear CKA** (:func:`mmstudio.analysis.alignment.procrustes.linear_cka`) on the held-out half
  (1 for a rotation and scale);
- the same two numbers with B's rows **shuffled** (a random pairing), so the residual means
  something: two related spaces sit below it, two unrelated ones on it.

Each seed draws its own half split and its own shuffled pairing; the numbers are means over the
seeds with a Student-t 95 % interval. A control runs every time: the table against a random
rotation of itself leaves no residual.
"""

from __future__ import annotations

import numpy as np

from mmstudio.analysis.principles.result import (
    NOT_SHOWN,
    Check,
    above,
    ci_text,
    estimate,
    statement_of,
    verdict_of,
)

MIN_MATCHED = 50
STAND_IN_NOISE = 0.5       # the stand-in's noise, relative to the norm of the mapped vector
NOT_A_ROTATION = 0.1       # residual ≥ this share of the shuffled pairing's: not a rotation


class TooFewMatches(ValueError):
    """Fewer than the needed samples are in both tables (the message names how many are)."""


def matched(table, other, min_matched: int = MIN_MATCHED) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Modality → (rows of ``table``, rows of ``other``) of the samples both have in that modality
    (a sample id's first row on each side), for the modalities with at least ``min_matched``;
    a ``ValueError`` naming the counts when none has enough."""
    counts, pairs = {}, {}
    for m in [m for m in table.modalities if m in other.modalities]:
        rows_a, rows_b = table.rows(m), other.rows(m)
        first_b: dict = {}
        for r, sid in zip(rows_b.tolist(), other.sample_id[rows_b].tolist()):
            first_b.setdefault(sid, r)
        seen, ia, ib = set(), [], []
        for r, sid in zip(rows_a.tolist(), table.sample_id[rows_a].tolist()):
            if sid in first_b and sid not in seen:
                seen.add(sid)
                ia.append(r)
                ib.append(first_b[sid])
        counts[m] = len(ia)
        if len(ia) >= min_matched:
            pairs[m] = (np.asarray(ia), np.asarray(ib))
    if not pairs:
        each = ", ".join(f"{m} {c}" for m, c in counts.items()) or "no modality in common"
        best = max(counts.values(), default=0)
        raise TooFewMatches(f"only {best} sample ids match between the table and the other table ({each}); "
                         f"need at least {min_matched} in one modality")
    return pairs


def stand_in(table, seed: int = 0, noise: float = STAND_IN_NOISE):
    """The table through a random linear map (Gaussian entries: not a rotation) plus noise at
    ``noise`` of each mapped vector's norm, rows L2-normalised: what the page compares against when
    no second model's table is given."""
    from mmstudio.core.tables.table import EmbeddingTable

    rng = np.random.default_rng([seed, 5])
    d = table.dim
    mapped = table.vectors.astype(np.float64) @ (rng.standard_normal((d, d)) / np.sqrt(d))
    scale = np.linalg.norm(mapped, axis=1, keepdims=True)
    mapped += noise * scale * rng.standard_normal(mapped.shape) / np.sqrt(d)
    mapped /= np.maximum(np.linalg.norm(mapped, axis=1, keepdims=True), 1e-12)
    return EmbeddingTable(table.sample_id, table.modality, table.path, table.label, mapped.astype(np.float32),
                          model=f"{table.model or 'the table'} through a random linear map + noise")


def _prepare(x: np.ndarray, fit: np.ndarray) -> np.ndarray:
    x = x - x[fit].mean(axis=0)
    return x / max(float(np.sqrt((x[fit] ** 2).sum(axis=1).mean())), 1e-12)


def heldout(a: np.ndarray, b: np.ndarray, fit: np.ndarray, test: np.ndarray) -> tuple[float, float]:
    """(relative Procrustes residual of ``test`` rows with the rotation fitted on ``fit`` rows, linear
    CKA of the ``test`` rows), each side centred and scaled on ``fit``; the narrower side padded with zeros."""
    from mmstudio.analysis.alignment.procrustes import linear_cka, orthogonal_procrustes

    a, b = _prepare(np.asarray(a, np.float64), fit), _prepare(np.asarray(b, np.float64), fit)
    width = max(a.shape[1], b.shape[1])
    a = np.hstack([a, np.zeros((len(a), width - a.shape[1]))])
    b = np.hstack([b, np.zeros((len(b), width - b.shape[1]))])
    r = orthogonal_procrustes(a[fit], b[fit])
    resid = (a[test] @ r.u) @ r.vt - b[test]
    return float((resid ** 2).sum() / (b[test] ** 2).sum()), linear_cka(a[test], b[test])


def _modality(a: np.ndarray, b: np.ndarray, seeds: list[int], job) -> tuple[dict, tuple[float, float]]:
    """One modality's per-seed numbers (true and shuffled pairing) and the rotated-copy control."""
    n = len(a)
    per: dict[str, list[float]] = {"residual": [], "shuffled residual": [], "cka": [], "shuffled cka": []}
    for seed in seeds:
        if job is not None:
            job.check()
        rng = np.random.default_rng([seed, 3])
        order = rng.permutation(n)
        fit, test = order[: n // 2], order[n // 2:]
        shuffled = b[rng.permutation(n)]
        for tag, other in (("", b), ("shuffled ", shuffled)):
            res, cka = heldout(a, other, fit, test)
            per[f"{tag}residual"].append(res)
            per[f"{tag}cka"].append(cka)
    rng = np.random.default_rng([seeds[0], 4])
    q = np.linalg.qr(rng.standard_normal((a.shape[1], a.shape[1])))[0]
    order = rng.permutation(n)
    return per, heldout(a, a.astype(np.float64) @ q, order[: n // 2], order[n // 2:])


def rotation(table, other=None, *, seeds: list[int], job=None) -> dict:
    """The Procrustes residual and CKA between ``table`` and ``other`` per modality, against a shuffled
    pairing, with the rotated-copy control; ``other`` None: :func:`stand_in` (said in the statement)."""
    from mmstudio.analysis.fusion.ridge import one_blas_thread

    if table is None or len(table) == 0:
        raise ValueError("the procrustes part needs a table of embeddings")
    given = other is not None
    other = other if given else stand_in(table, seeds[0])
    pairs = matched(table, other)
    per: dict[str, dict[str, list[float]]] = {}
    control = {}
    with one_blas_thread():  # small factorisations: on a busy machine a second BLAS thread only waits
        for m, (ia, ib) in pairs.items():
            per[m], control[m] = _modality(table.vectors[ia], other.vectors[ib], seeds, job)
            if job is not None:
                job.progress(len(per), len(pairs))
    est = {m: {k: estimate(v) for k, v in d.items()} for m, d in per.items()}
    mods = list(pairs)
    worst_control = max(c[0] for c in control.values())
    worst_cka = min(c[1] for c in control.values())
    related = {m: above(np.subtract(per[m]["shuffled residual"], per[m]["residual"])) for m in mods}
    far = {m: est[m]["residual"]["ci95"][0] > NOT_A_ROTATION * est[m]["shuffled residual"]["mean"] for m in mods}
    cka_up = {m: above(np.subtract(per[m]["cka"], per[m]["shuffled cka"])) for m in mods}

    def each(key_a, key_b):
        return "; ".join(f"{m} {ci_text(est[m][key_a], 3)} vs shuffled {ci_text(est[m][key_b], 3)}" for m in mods)

    checks = [
        Check("two independently trained encoders are compared", given,
              "a second table was given (--other)" if given else
              "no second table was given: the stand-in is a linear map of this table, related to it by construction, "
              "so what it shows is an illustration, not a finding about two encoders"),
        Check("a table against a rotated copy of itself leaves no residual (control)",
              worst_control < 1e-6 and worst_cka > 1 - 1e-6,
              f"largest residual {worst_control:.1e}, smallest CKA {worst_cka:.6f}; criterion < 1e-6"),
        Check("the two tables share structure: residual below a shuffled pairing's", all(related.values()),
              f"held-out relative residual {each('residual', 'shuffled residual')}; claimed when the 95 % interval "
              "of the per-seed differences is above 0"),
        Check("the two tables are not a rotation of each other", all(far.values()),
              "residual's lower 95 % end vs " + ", ".join(
                  f"{m} {est[m]['residual']['ci95'][0]:.3f} vs {NOT_A_ROTATION:g} × {est[m]['shuffled residual']['mean']:.3f}"
                  for m in mods) + " (a rotation leaves 0)"),
        Check("CKA above a shuffled pairing's", all(cka_up.values()), f"CKA {each('cka', 'shuffled cka')}"),
    ]
    verdict = verdict_of(checks[:4], checks[4:])
    numbers = ", ".join(f"{m} {est[m]['residual']['mean']:.3f} vs {est[m]['shuffled residual']['mean']:.3f} "
                        f"(CKA {est[m]['cka']['mean']:.3f} vs {est[m]['shuffled cka']['mean']:.3f})" for m in mods)
    shown = "Shown" if given else "Shown on a stand-in for a second encoder (described below)"
    statement = statement_of(verdict, (
        f"{shown}: the two tables are related but not a rotation of each other: the held-out Procrustes residual is "
        f"far from 0 yet below a shuffled pairing's, per modality {numbers}; a table against a rotated copy of "
        f"itself leaves {worst_control:.0e}."), checks)
    if verdict == NOT_SHOWN:
        statement += f" Measured (residual vs shuffled): {numbers}."
    counts = {m: len(pairs[m][0]) for m in mods}
    if given:
        source = (f"Compared: {table.model or 'the table'} against {other.model or 'the other table'}, "
                  + ", ".join(f"{c} matched {m} samples" for m, c in counts.items()) + ".")
    else:
        source = ("Compared against a stand-in, not a second encoder: the same table through a random linear map "
                  f"with noise at {STAND_IN_NOISE:g} of the signal (training a second built-in model takes about 40 "
                  "minutes on a CPU); give --other B.parquet, the same samples embedded by another model, to test two "
                  "real encoders.")
    statement += " " + source
    headline = {}
    for m in mods:
        for key in ("residual", "shuffled residual", "cka", "shuffled cka"):
            headline[f"procrustes: {m} {key}"] = est[m][key]
    return {"verdict": verdict, "statement": statement, "checks": checks, "headline": headline,
            "modalities": mods, "matched": counts, "numbers": est,
            "control": {m: {"residual": c[0], "cka": c[1]} for m, c in control.items()},
            "other": other.model if given else None, "stand_in": not given, "source": source}
