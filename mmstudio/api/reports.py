"""``mmstudio.project``, ``align``, ``compare`` and ``fuse``: what ``mmstudio project`` writes and what
``mmstudio align``, ``compare`` and ``fuse`` print as ``--json``, from the same functions."""

from __future__ import annotations

import json
from functools import partial

from mmstudio.api.arguments import as_table, checked, choice, job_for


class Report(dict):
    """What a command prints with ``--json``, as the dict ``json.loads`` would give; ``print(report)``
    (and a notebook's display of it) shows the command's text instead."""

    def __init__(self, data: dict, text=None, kind: str | None = None, names: tuple[str, ...] = ()):
        super().__init__(data)
        self._text = text
        self._kind, self._names = kind, names

    def __str__(self) -> str:
        return self._text(dict(self)) if self._text is not None else self.to_json()

    def _repr_pretty_(self, printer, cycle) -> None:   # IPython and Jupyter
        printer.text(str(self))

    def to_json(self, indent: int | None = 1) -> str:
        """The JSON text the command prints with ``--json``."""
        return json.dumps(self, indent=indent, ensure_ascii=False, allow_nan=False)

    def save_html(self, path):
        """The command's ``--out REPORT.html``: one self-contained page (figures and tables) to share;
        returns its path. ``mmstudio.compare(a, b).save_html("a-vs-b.html")``"""
        from mmstudio.export.html_report import SUFFIXES, write_html_report

        if self._kind is None:
            raise ValueError("this report has no HTML page (align, compare and fuse have one)")
        if not str(path).lower().endswith(SUFFIXES):
            raise ValueError(f"{path}: an HTML report's name ends in .html or .htm")
        return write_html_report(self._kind, dict(self), path, *self._names)


def project(table, method: str = "umap", *, neighbors: int = 15, min_dist: float = 0.1, metric: str = "cosine",
            epochs: int | None = None, seed: int | None = None, reference: str | None = None, cache: bool = True,
            landmarks="auto", progress=None):
    """The table with ``x`` and ``y`` columns: the 2-D map ``mmstudio project`` writes, with its options.

    ``mapped = mmstudio.project(table, "pca"); mapped.to_pandas().plot.scatter("x", "y")``

    ``table``: an EmbeddingTable or its file. ``epochs``: UMAP's (None: 200; 0: umap-learn's own
    default); ``seed``: the same map every time (umap-learn then runs on one thread); ``reference``:
    fit on this modality's rows and place the others on them; ``cache``: the layout cache;
    ``landmarks``: large tables are mapped from a landmark sample above a measured size (``"auto"``), from
    this many landmarks (a number), or every row by UMAP (``"off"`` or None)."""
    from mmstudio.analysis.projection.project import DEFAULT_EPOCHS, METHODS, METRICS, project_table_result, with_xy
    from mmstudio.cli.argtypes import count, int_at_least, unit_interval
    from mmstudio.cli.argtypes import landmarks as landmarks_type
    from mmstudio.cli.argtypes import seed as seed_type
    from mmstudio.core.media.formats import MODALITIES

    choice("method", method, METHODS)
    neighbors = checked("neighbors", neighbors, int_at_least(2))
    min_dist = checked("min_dist", min_dist, unit_interval)
    choice("metric", metric, METRICS)
    epochs = DEFAULT_EPOCHS if epochs is None else (checked("epochs", epochs, count) or None)
    seed = None if seed is None else checked("seed", seed, seed_type)
    if reference is not None:
        choice("reference", reference, MODALITIES)
    landmarks = checked("landmarks", "off" if landmarks is None else landmarks, landmarks_type)
    t, where = as_table(table)
    if not len(t):
        raise ValueError(f"{where or 'the table'} has no embedded rows")
    with job_for(progress, "projecting") as job:
        result = project_table_result(t, method, reference=reference, n_neighbors=neighbors, min_dist=min_dist,
                                      metric=metric, seed=seed, n_epochs=epochs, cache=cache, preview=False,
                                      landmarks=landmarks, job=job)
    return with_xy(t, result.xy)


def align(table, *, temperature: float | None = None, margin: float | None = None, seed: int = 0,
          progress=None) -> Report:
    """How well the modalities of a table line up: what ``mmstudio align --json`` prints.

    ``report = mmstudio.align(table); print(report); report["pairs"][0]["retrieval"]``"""
    from mmstudio.analysis.alignment.losses import MARGIN, TEMPERATURE
    from mmstudio.analysis.alignment.report import align_report
    from mmstudio.cli.align import format_report
    from mmstudio.cli.argtypes import non_negative_float, positive_float
    from mmstudio.cli.argtypes import seed as seed_type

    temperature = TEMPERATURE if temperature is None else checked("temperature", temperature, positive_float)
    margin = MARGIN if margin is None else checked("margin", margin, non_negative_float)
    seed = checked("seed", seed, seed_type)
    t, where = as_table(table)
    with job_for(progress, "aligning") as job:
        try:
            report = align_report(t, temperature=temperature, margin=margin, seed=seed, job=job)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}" if where else str(exc)) from None
    return Report(report, partial(format_report, name=where), "align", (where or "table",))


def compare(a, b, *, min_samples: int = 10, min_label_queries: int = 10, seed: int = 0, progress=None) -> Report:
    """Two tables of the same samples (two models) side by side: what ``mmstudio compare --json`` prints.

    ``print(mmstudio.compare("clip.parquet", "siglip.parquet"))``

    Rows are matched by sample id, modality and caption index; fewer than ``min_samples`` samples in
    both is a ValueError (``TooFewMatches``) saying how many are."""
    from mmstudio.analysis.alignment.compare import TooFewMatches, compare_tables
    from mmstudio.cli.argtypes import positive_int
    from mmstudio.cli.argtypes import seed as seed_type
    from mmstudio.cli.compare import format_comparison

    min_samples = checked("min_samples", min_samples, positive_int)
    min_label_queries = checked("min_label_queries", min_label_queries, positive_int)
    seed = checked("seed", seed, seed_type)
    ta, where_a = as_table(a, "a")
    tb, where_b = as_table(b, "b")
    with job_for(progress, "comparing") as job:
        try:
            report = compare_tables(ta, tb, min_samples=min_samples, min_label_queries=min_label_queries, seed=seed,
                                    job=job)
        except TooFewMatches as exc:
            raise TooFewMatches(f"{where_a or 'a'} and {where_b or 'b'}: {exc}") from None
    return Report(report, partial(format_comparison, name_a=where_a or "A", name_b=where_b or "B"), "compare",
                  (where_a or "A", where_b or "B"))


def fuse(table, label: str, *, methods="all", modalities=None, missing=None, impute: str = "zero", noise=None,
         mismatch=None, gate: float = 0.5, trust: str = "confidence", agreement: str = "js", dropout: float = 0.5,
         attention: str = "tokens", curves=(), seed: int = 0, progress=None) -> Report:
    """The fusion lab on a table: what ``mmstudio fuse --label LABEL --json`` prints.

    ``mmstudio.fuse(table, "shape", missing={"audio": 0.5})["scores"]["methods"]["gated"]["accuracy"]``

    ``missing``, ``noise``, ``mismatch``: ``{"audio": 0.5}``, a number for every modality, or the
    command's text (``"audio=0.5,image=0.2"``); ``methods``: ``"all"``, a list or ``"early,gated"``;
    ``curves``: ``["missing:audio", …]``. The other options are the command's, with its defaults."""
    from mmstudio.analysis.fusion.curves import KNOBS, robustness_curve
    from mmstudio.analysis.fusion.data import fusion_data
    from mmstudio.analysis.fusion.knobs import AGREEMENT, TRUST, Knobs
    from mmstudio.analysis.fusion.lab import FusionLab, parse_methods
    from mmstudio.analysis.fusion.missing import rates
    from mmstudio.cli.argtypes import float_in, unit_interval
    from mmstudio.cli.argtypes import seed as seed_type
    from mmstudio.cli.fuse import IMPUTE, _parse_curve, format_report
    from mmstudio.core.values import plain

    if not isinstance(label, str) or not label:
        raise ValueError(f"label={label!r}: give the column to predict (label or a metadata column)")
    t, where = as_table(table)
    knobs = Knobs(missing=_levels("missing", missing), noise=_levels("noise", noise),
                  mismatch=_levels("mismatch", mismatch), impute=IMPUTE[choice("impute", impute, tuple(IMPUTE))],
                  gate=checked("gate", gate, unit_interval), agreement=choice("agreement", agreement, AGREEMENT),
                  trust=choice("trust", trust, TRUST), seed=checked("seed", seed, seed_type))
    dropout = checked("dropout", dropout, float_in(0.0, 1.0, open_high=True))
    choice("attention", attention, ("tokens", "pooled"))
    if isinstance(curves, str):
        curves = [curves]
    try:
        names = parse_methods(methods)
        knobs.check()
        parsed = [_parse_curve(text, KNOBS) for text in curves]
        if knobs.impute == "dropout" and not dropout > 0:
            raise ValueError("impute='dropout' needs dropout above 0")
        mods = [m.strip() for m in modalities.split(",") if m.strip()] if isinstance(modalities, str) else modalities
        if mods is not None and len(set(mods)) != len(mods):
            raise ValueError(f"modalities={modalities!r}: a modality is given twice")
        data = fusion_data(t, label, mods)
        for values in (knobs.missing, knobs.noise, knobs.mismatch, {m: 0 for _, m in parsed}):
            rates({k: 0 for k in values}, list(data.modalities))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}" if where else str(exc)) from None
    with job_for(progress, "fusing") as job:
        lab = FusionLab.fit(data, methods=names, seed=knobs.seed, dropout=dropout, attention=attention, job=job)
        scores = lab.score(knobs)
        curve_results = [robustness_curve(lab, knob, modality, base=knobs) for knob, modality in parsed]
    report = {"file": where, "label": label, "lab": lab.info(), "scores": scores.to_dict(),
              "curves": [c.to_dict() for c in curve_results]}
    return Report(plain(report), format_report, "fuse", (where or "table",))


def _levels(name: str, value) -> dict:
    """``{"audio": 0.5}``, a number (every modality) or the command's ``"audio=0.5,…"`` → a dict of
    finite numbers (their ranges are the knobs' to check)."""
    import math

    from mmstudio.analysis.fusion.knobs import parse_levels

    if value is None:
        return {}
    if isinstance(value, str):
        return parse_levels(value, name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = {"all": value}
    if not isinstance(value, dict):
        raise TypeError(f"{name}: expected a dict such as {{'audio': 0.5}}, a number or text, not "
                        f"{type(value).__name__}")
    out = {}
    for key, level in value.items():
        if not isinstance(key, str) or isinstance(level, bool) or not isinstance(level, (int, float)) \
                or not math.isfinite(level):
            raise ValueError(f"{name}={value!r}: give modality names and finite numbers, e.g. {{'audio': 0.5}}")
        out[key] = float(level)
    return out
