"""``mmstudio.train_aligner``: a head trained to map one modality's vectors into another's space (the
Alignment panel's aligner trainer), kept with the samples it was trained on and those it held out,
so that a table before and after it can be compared on samples it never saw."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.api.arguments import as_table, checked, choice, job_for

OPTIONS = ("batch_size", "lr", "temperature", "margin", "negatives", "hidden", "eval_every")


@dataclass
class Aligner:
    """A trained head from ``source`` rows into ``target``'s space, and the samples it used.

    ``history`` is :class:`~mmstudio.analysis.alignment.aligner.AlignerHistory` (the loss at every
    step, held-out R@1 at every evaluation, ``identity_r1``: the held-out R@1 with no head at all);
    ``train_ids`` and ``heldout_ids`` are sample ids. Numbers measured on the training samples say
    how well the head fits them, not how well it aligns: compare on :meth:`held_out` rows."""

    source: str
    target: str
    history: object = field(repr=False)
    train_ids: np.ndarray = field(repr=False)
    heldout_ids: np.ndarray = field(repr=False)
    dim: int = 0
    model: str = ""

    def apply(self, table):
        """The table with every ``source`` row mapped into ``target``'s space by the head (the other
        rows as they are; token features are dropped: they stay in the old space); its model is
        named ``MODEL + aligner (SOURCE → TARGET)``.

        ``after = aligner.apply(table)``"""
        from mmstudio.core.tables.table import EmbeddingTable

        t, _ = as_table(table)
        if t.dim != self.dim:
            raise ValueError(f"the aligner was trained on {self.dim}-d vectors; this table's are {t.dim}-d")
        rows = t.rows(self.source)
        vectors = t.vectors.copy()
        if len(rows):
            vectors[rows] = self.history.project(t.vectors[rows])
        return EmbeddingTable(t.sample_id, t.modality, t.path, t.label, vectors, dict(t.columns),
                              f"{t.model or 'table'} + aligner ({self.source} → {self.target})", dict(t.info),
                              list(t.errors))

    def held_out(self, table):
        """The rows of the samples the head never saw in training (every modality of them).

        ``mmstudio.compare(aligner.held_out(table), aligner.held_out(aligner.apply(table)))``"""
        t, _ = as_table(table)
        return t.take(np.isin(t.sample_id, self.heldout_ids))

    def __str__(self) -> str:
        h = self.history
        before = "" if h.identity_r1 is None else f" (as they are: {h.identity_r1:.3f})"
        return (f"aligner {self.source} → {self.target} ({h.head}, {h.loss_name}, {len(h.loss)} steps): trained on "
                f"{h.n_train} samples; held-out R@1 {self.source} → {self.target} {h.final_r1:.3f} on "
                f"{h.n_test} samples{before}")


def train_aligner(table, source: str = "image", target: str = "text", *, head: str = "linear",
                  loss: str = "infonce", steps: int = 200, test_fraction: float = 0.5, seed: int = 0,
                  progress=None, **options) -> Aligner:
    """Train a head mapping ``source`` rows onto their ``target`` partners (paired by sample id, a
    sample's first caption), on a seeded share of the samples; the rest (``test_fraction``) is held out.

    ``aligner = mmstudio.train_aligner(table, "image", "text"); print(aligner)``

    ``head``: ``"linear"`` or ``"mlp"``; ``loss``: ``"infonce"`` or ``"triplet"``; ``options``:
    batch_size, lr, temperature, margin, negatives, hidden, eval_every
    (:func:`mmstudio.analysis.alignment.aligner.train_aligner`)."""
    from mmstudio.analysis.alignment.aligner import HEADS, LOSSES, heldout_split
    from mmstudio.analysis.alignment.aligner import train_aligner as train
    from mmstudio.analysis.common.pairing import pair_rows
    from mmstudio.cli.argtypes import float_in, non_negative_float, positive_float, positive_int
    from mmstudio.cli.argtypes import seed as seed_type

    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(f"train_aligner: unknown option {unknown[0]!r}; the options are {', '.join(OPTIONS)}")
    rules = {"batch_size": positive_int, "hidden": positive_int, "eval_every": positive_int, "lr": positive_float,
             "temperature": positive_float, "margin": non_negative_float}
    options = {k: choice(k, v, ("semihard", "hardest")) if k == "negatives" else checked(k, v, rules[k])
               for k, v in options.items()}
    choice("head", head, HEADS)
    choice("loss", loss, LOSSES)
    steps = checked("steps", steps, positive_int)
    test_fraction = checked("test_fraction", test_fraction, float_in(0.0, 1.0, open_low=True, open_high=True))
    seed = checked("seed", seed, seed_type)
    t, where = as_table(table)
    present = t.modalities
    for name, modality in (("source", source), ("target", target)):
        if modality not in present:
            raise ValueError(f"{name}={modality!r}: the table has no such rows (it has {', '.join(present) or 'none'})")
    if source == target:
        raise ValueError(f"source and target are both {source!r}: the head maps one modality onto another")
    pairs = pair_rows(t, source, target)
    with job_for(progress, "training") as job:
        try:
            history = train(t.vectors[pairs.rows_a], t.vectors[pairs.rows_b], head=head, loss=loss, steps=steps,
                            test_fraction=test_fraction, seed=seed, job=job, **options)
        except ValueError as exc:
            raise ValueError(f"{where or 'the table'}: {source} → {target}: {exc}") from None
    heldout, training = heldout_split(len(pairs), test_fraction, seed)   # the split train() drew first
    return Aligner(source, target, history, pairs.sample_ids[training], pairs.sample_ids[heldout], t.dim, t.model)
