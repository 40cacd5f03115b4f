"""``mmstudio compare A.parquet B.parquet [--json] [--out REPORT.html]``: two embedding tables of the same items side by side."""

from __future__ import annotations

import json
import sys

from mmstudio.cli.argtypes import positive_int, seed
from mmstudio.cli.html_out import add_out, out_problem, write_out
from mmstudio.core.values import num

TABLE_HELP = "an embedding table written by `mmstudio embed` (.parquet, .npz or a folder of shards)"


def add_arguments(parser) -> None:
    parser.add_argument("a", metavar="A", help=TABLE_HELP)
    parser.add_argument("b", metavar="B", help=TABLE_HELP + " of the same samples (another model)")
    parser.add_argument("--json", action="store_true", help="print the whole comparison as JSON instead of text")
    parser.add_argument("--min-samples", type=positive_int, default=10, metavar="N",
                        help="refuse when fewer than N samples are in both tables (default: 10)")
    parser.add_argument("--min-label-queries", type=positive_int, default=10, metavar="N",
                        help="list a label's change of R@1 when it has at least N queries (default: 10)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the permutations, splits and resamples")
    add_out(parser)


def run(args) -> int:
    from mmstudio.analysis.alignment.compare import TooFewMatches, compare_tables
    from mmstudio.core.jobs import TqdmJob
    from mmstudio.core.tables.files import TableFormatError
    from mmstudio.core.tables.table import EmbeddingTable

    if out_problem(args, "compare"):
        return 2
    tables = []
    for path in (args.a, args.b):
        try:
            tables.append(EmbeddingTable.read(path))
        except (OSError, TableFormatError) as exc:
            print(f"mmstudio compare: {exc}", file=sys.stderr)
            return 2
    job = TqdmJob("comparing")
    try:
        report = compare_tables(*tables, min_samples=args.min_samples, min_label_queries=args.min_label_queries,
                                seed=args.seed, job=job)
    except TooFewMatches as exc:
        print(f"mmstudio compare: {args.a} and {args.b}: {exc}", file=sys.stderr)
        return 2
    finally:
        job.close()
    if args.json:
        json.dump(report, sys.stdout, indent=1, ensure_ascii=False, allow_nan=False)
        print()
    else:
        print(format_comparison(report, args.a, args.b))
    return write_out(args, "compare", report, args.a, args.b)


def _ci(d: dict, digits: int = 3) -> str:
    mark = "" if d["excludes_0"] else ", contains 0"
    return f"{round(d['value'], digits) + 0.0:+.{digits}f} [{num(d['low'], digits)}, {num(d['high'], digits)}{mark}]"


def _side(side: dict, name: str) -> str:
    model = f"model {side['model']}, " if side["model"] else ""
    return f"{name} ({model}{side['rows']} rows, {side['samples']} samples, {side['dim']}-d)"


def format_comparison(report: dict, name_a: str = "A", name_b: str = "B") -> str:
    """The comparison as readable text: a block per modality, then one per pair of modalities."""
    s = report["settings"]
    lines = [f"A = {_side(report['A'], name_a)}", f"B = {_side(report['B'], name_b)}",
             f"{report['matched']['samples']} samples ({report['matched']['rows']} rows) in both, matched by "
             f"{report['matched']['by']}",
             f"intervals: {s['interval']} ({s['resamples']} resamples, the same for A and B), B − A; "
             f"baselines: {s['permutations']} shuffles of B's rows"]
    for m in report["modalities"]:
        lines += ["", f"{m['modality']}: {m['rows']} rows, {m['dim_a']}-d in A, {m['dim_b']}-d in B"]
        if "note" in m:
            lines.append(f"  {m['note']}")
            continue
        c, maps, nb = m["cka"], m["maps"], m["neighbours"]
        lines.append(f"  linear CKA A vs B {num(c['value'])} (shuffled B: mean {num(c['permuted_mean'])}, "
                     f"95 % quantile {num(c['permuted_q95'])}; 1 = the same up to rotation and scale)")
        fits = f"linear {num(maps['linear'])} (shuffled: {num(maps['linear_permuted_mean'])})"
        if "orthogonal" in maps:
            fits += (f", rotation + scale {num(maps['orthogonal'])} "
                     f"(shuffled: {num(maps['orthogonal_permuted_mean'])})")
        lines.append(f"  map A → B fitted on {maps['train']} rows, residual on {maps['held_out']} held out "
                     f"(share of B's variance left; 0 = exact): {fits}")
        changed = ", ".join(f"{e['sample_id']}{_caption(e)} ({e['jaccard']:.2f})" for e in nb["most_changed"][:5]) or "none"
        lines.append(f"  {nb['k']} nearest neighbours (cosine): mean Jaccard A vs B {num(nb['mean_jaccard'])} "
                     f"(chance {num(nb['chance'])}; 1 = unchanged); changed most: {changed}")
    for pair in report["pairs"]:
        a, b = pair["modalities"]
        lines += ["", f"{a} ↔ {b}: {pair['n_pairs']} paired samples"]
        if "note" in pair:
            lines.append(f"  {pair['note']}")
            continue
        if "captions" in pair:
            lines.append(f"  {pair['captions']['protocol']}")
        lines += _retrieval_lines(pair["retrieval"], s["min_label_queries"])
        g = pair["gap"]
        lines.append(f"  modality gap {a} ↔ {b}: A {num(g['A'])}, B {num(g['B'])}, B − A {_ci(g['difference'])}")
    return "\n".join(lines)


def _caption(entry: dict) -> str:
    return f" caption {entry['caption_index'] + 1}" if "caption_index" in entry else ""


def _retrieval_lines(results: list[dict], min_queries: int) -> list[str]:
    width = max(len(f"{r['query']} → {r['gallery']}") for r in results) + 8
    lines = [f"  {r['query']} → {r['gallery']} scored on: {r['A']['scope']['sentence']}"
             for r in results if r["A"].get("scope", {}).get("method") == "sample"]
    lines.append(f"  {'retrieval':<{width}} {'A':>6} {'B':>6}  B − A [95 % interval]")
    for r in results:
        for metric in ("R@1", "R@5", "mAP@10"):
            label = f"{r['query']} → {r['gallery']} {metric}"
            lines.append(f"  {label:<{width}} {num(r['A'][metric]):>6} {num(r['B'][metric]):>6}  "
                         f"{_ci(r['difference'][metric])}")
    for r in results:
        if "labels" not in r:
            continue
        direction = f"{r['query']} → {r['gallery']}"
        if not r["labels"]:
            lines.append(f"  by label ({direction}): no label has {min_queries} queries")
            continue
        shown = r["labels"][:3] + [e for e in r["labels"][-3:] if e not in r["labels"][:3]]
        parts = [f"{e['label']} {num(e['R@1_A'])} → {num(e['R@1_B'])} {_ci(e['difference'], 2)}" for e in shown]
        clear = sum(e["difference"]["excludes_0"] for e in r["labels"])
        lines.append(f"  R@1 by label ({direction}, labels with ≥ {min_queries} queries, most gained to most lost; "
                     f"{clear} of {len(r['labels'])} with an interval excluding 0): " + "; ".join(parts))
    return lines
