"""``mmstudio fuse IN.parquet --label COL``: every fusion method, trained once, scored under the knobs."""

from __future__ import annotations

import json
import sys

from mmstudio.cli.argtypes import count, float_in, seed, unit_interval
from mmstudio.cli.html_out import add_out, out_problem, write_out
from mmstudio.core.values import num, plain

IMPUTE = {"zero": "zero", "mean": "mean", "cross": "cross-modal", "cross-modal": "cross-modal", "dropout": "dropout"}


def add_arguments(parser) -> None:
    parser.add_argument("table", metavar="IN", help="an embedding table written by `mmstudio embed` (.parquet, .npz or a folder of shards)")
    parser.add_argument("--label", required=True, metavar="COL",
                        help="the column to predict (`label` or any metadata column, e.g. shape)")
    parser.add_argument("--methods", default="all", metavar="LIST",
                        help="all (default) or a comma-separated list of early-linear, early-mlp, late-logit, "
                             "late-prob, poe, moe, cross-attention, gated")
    parser.add_argument("--modalities", metavar="LIST", help="the modalities to fuse (default: every one in the table)")
    parser.add_argument("--missing", metavar="MOD=RATE,…",
                        help="remove each modality from that fraction of test samples, e.g. audio=0.5 (or 0.3 for all)")
    parser.add_argument("--impute", choices=sorted(IMPUTE), default="zero",
                        help="how the early methods fill a missing modality: zero, mean (training mean), cross "
                             "(ridge maps from the present modalities) or dropout (heads trained with modality dropout)")
    parser.add_argument("--noise", metavar="MOD=LEVEL,…",
                        help="Gaussian noise in embedding space, as a fraction of the vector's norm, e.g. image=0.3")
    parser.add_argument("--mismatch", metavar="MOD=FRACTION,…",
                        help="replace that fraction of a modality's test vectors by another sample's, e.g. text=0.2")
    parser.add_argument("--gate", type=unit_interval, default=0.5, metavar="T",
                        help="agreement threshold of the gated fusion in [0, 1] (default 0.5; 0 never closes)")
    parser.add_argument("--trust", choices=("confidence", "clean-accuracy", "oracle"), default="confidence",
                        help="which modality the gate keeps when the experts disagree: the more confident expert on that "
                             "sample (label-free, default), the one more accurate on clean validation data, or 'oracle': "
                             "the one more accurate under the test-time corruption itself (needs labels of the "
                             "corrupted data; an upper bound)")
    parser.add_argument("--agreement", choices=("js", "cosine"), default="js",
                        help="the gate's agreement measure: 1 − Jensen–Shannon divergence (default) or cosine")
    parser.add_argument("--dropout", type=float_in(0.0, 1.0, open_high=True), default=0.5, metavar="P",
                        help="modality-dropout probability of the dropout-trained heads (default 0.5; 0 skips them)")
    parser.add_argument("--attention", choices=("tokens", "pooled"), default="tokens",
                        help="cross-attention over each item's token features (patches, frames, text tokens) where "
                             "the table has them (`mmstudio embed --tokens`; default), or over one vector per modality")
    parser.add_argument("--curve", action="append", default=[], metavar="KNOB[:MOD]",
                        help="also a robustness curve: accuracy vs missing, noise or mismatch (e.g. missing:audio); "
                             "may be repeated")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the split, the training and the test-time draws")
    parser.add_argument("--train-limit", type=count, default=None, metavar="N",
                        help="train on a stratified random sample of N training samples when there are more "
                             "(default 50,000; 0: all); validation and test are always scored whole")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON instead of text")
    add_out(parser)


def _fail(name: str, message: str) -> int:
    print(f"mmstudio fuse: {name}: {message}" if name else f"mmstudio fuse: {message}", file=sys.stderr)
    return 2


def run(args) -> int:
    from mmstudio.analysis.fusion.curves import KNOBS, robustness_curve
    from mmstudio.analysis.fusion.data import fusion_data
    from mmstudio.analysis.fusion.knobs import Knobs, parse_levels
    from mmstudio.analysis.fusion.lab import TRAIN_LIMIT, FusionLab, parse_methods
    from mmstudio.analysis.fusion.missing import rates
    from mmstudio.core.jobs import TqdmJob
    from mmstudio.core.tables.files import TableFormatError
    from mmstudio.core.tables.table import EmbeddingTable

    if out_problem(args, "fuse"):
        return 2
    try:
        table = EmbeddingTable.read(args.table)
    except (OSError, TableFormatError) as exc:
        return _fail("", str(exc))
    try:
        methods = parse_methods(args.methods)
        knobs = Knobs(missing=parse_levels(args.missing, "--missing"), noise=parse_levels(args.noise, "--noise"),
                      mismatch=parse_levels(args.mismatch, "--mismatch"), impute=IMPUTE[args.impute],
                      gate=args.gate, agreement=args.agreement, trust=args.trust, seed=args.seed)
        knobs.check()
        curves = [_parse_curve(text, KNOBS) for text in args.curve]
        if knobs.impute == "dropout" and not args.dropout > 0:
            raise ValueError("--impute dropout needs --dropout above 0")
        mods = [m.strip() for m in args.modalities.split(",") if m.strip()] if args.modalities else None
        if mods is not None and len(set(mods)) != len(mods):
            raise ValueError(f"--modalities {args.modalities}: a modality is given twice")
        data = fusion_data(table, args.label, mods)
        for values in (knobs.missing, knobs.noise, knobs.mismatch, {m: 0 for _, m in curves}):
            rates({k: 0 for k in values}, list(data.modalities))   # unknown modality names fail here
    except ValueError as exc:
        return _fail(args.table, str(exc))
    job = TqdmJob("fusing")
    try:
        lab = FusionLab.fit(data, methods=methods, seed=args.seed, dropout=args.dropout, attention=args.attention,
                            train_limit=TRAIN_LIMIT if args.train_limit is None else args.train_limit, job=job)
        scores = lab.score(knobs)
        curve_results = [robustness_curve(lab, knob, modality, base=knobs) for knob, modality in curves]
    except ValueError as exc:
        return _fail(args.table, str(exc))
    finally:
        job.close()
    report = {"file": str(args.table), "label": args.label, "lab": lab.info(), "scores": scores.to_dict(),
              "curves": [c.to_dict() for c in curve_results]}
    if args.json:
        json.dump(plain(report), sys.stdout, indent=1, ensure_ascii=False, allow_nan=False)
        print()
    else:
        print(format_report(report))
    return write_out(args, "fuse", report, table.model or "")


def _parse_curve(text: str, knobs) -> tuple[str, str]:
    knob, _, modality = text.partition(":")
    if knob not in knobs:
        raise ValueError(f"--curve {text!r}: write KNOB[:MODALITY] with KNOB one of {', '.join(knobs)}")
    return knob, modality.strip() or "all"


def _levels(values: dict) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in values.items()) or "none"


def format_report(report: dict) -> str:
    """The result as readable text: one line per method, then the gate, trust, attention and curves."""
    from mmstudio.analysis.fusion.attention import attention_words

    lab, sc = report["lab"], report["scores"]
    knobs = sc["knobs"]
    split = lab["split"]
    lines = [f"fusion of {report['file']} on {report['label']!r}: {len(lab['classes'])} classes, modalities "
             f"{', '.join(lab['modalities'])}; {split['train']} train / {split['val']} validation / "
             f"{split['test']} test samples; {lab['fits']} heads trained in "
             f"{sum(lab['fit_seconds'].values()):.2f} s",
             f"{split['scope']}",
             f"knobs: missing {_levels(knobs['missing'])} (imputed: {knobs['impute']}), noise {_levels(knobs['noise'])}, "
             f"mismatch {_levels(knobs['mismatch'])}, gate threshold {knobs['gate']:g} ({knobs['agreement']})"]
    lines += [f"several captions per sample: {lab['captions']}"] if lab.get("captions") else []
    lines.append("")
    mods = lab["modalities"]
    width = max(len(name) for name in sc["methods"])
    head = (f"{'method':<{width}}  {'accuracy':>8} {'macro-F1':>8} {'NLL':>7} {'ECE':>6} {'entropy':>7}  "
            + " ".join(f"{'Δ ' + m:>9}" for m in mods))
    lines.append(head)
    for name, m in sc["methods"].items():
        contrib = " ".join(f"{num(m['contribution'].get(mod), 3):>9}" for mod in mods)
        lines.append(f"{name:<{width}}  {num(m['accuracy']):>8} {num(m['macro_f1']):>8} {num(m['nll']):>7} "
                     f"{num(m['ece']):>6} {num(m['entropy']):>7}  {contrib}")
    lines.append("(Δ modality: accuracy lost when that modality is removed from every test sample)")
    gated = sc["methods"].get("gated")
    if gated is not None:
        kind = {"confidence": "each expert's confidence per sample (label-free); clean validation accuracy",
                "clean-accuracy": "clean validation accuracy",
                "oracle": "ORACLE: validation accuracy under these knobs, which needs labels of the corrupted data"}
        lines.append(f"gate: open for {100 * gated['gate_open_rate']:.1f}% of test samples at threshold "
                     f"{knobs['gate']:g}; trust: {kind[knobs['trust']]}: "
                     + ", ".join(f"{k} {num(v)}" for k, v in sc["trust"].items()))
    for name in ("poe", "moe"):
        if name in sc["methods"]:
            extra = sc["methods"][name]["extra"]
            weights = ", ".join(f"{k} {num(v)}" for k, v in extra.get("mean_weight", {}).items())
            more = f"; disagreement {num(extra['disagreement'])} nats" if "disagreement" in extra else ""
            lines.append(f"{name}: mean expert weight {weights}{more}")
    if "cross-attention" in sc["methods"]:
        lines.append(attention_words(sc["methods"]["cross-attention"]["extra"]))
    for c in report["curves"]:
        lines += ["", f"robustness: {c['metric']} vs {c['knob']} ({c['modality']}), levels "
                  f"{c['levels'][0]:g}…{c['levels'][-1]:g}; effective robustness against {c['baseline']}",
                  f"  {'method':<{width}}  {'clean':>6} {'worst':>6} {'area':>6} {'relative':>8} {'effective':>9}"]
        for name, s in c["summary"].items():
            lines.append(f"  {name:<{width}}  {num(s['clean']):>6} {num(s['worst_level']):>6} {num(s['area']):>6} "
                         f"{num(s['relative']):>8} {num(s['effective']):>9}")
    return "\n".join(lines)
