"""``mmstudio align IN.parquet [--json] [--out REPORT.html]``: how well the modalities of an embedding table line up."""

from __future__ import annotations

import json
import sys

from mmstudio.cli.argtypes import count, non_negative_float, positive_float, seed
from mmstudio.cli.html_out import add_out, out_problem, write_out
from mmstudio.core.values import num


def add_arguments(parser) -> None:
    parser.add_argument("table", metavar="IN", help="an embedding table written by `mmstudio embed` (.parquet, .npz or a folder of shards)")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON instead of text")
    parser.add_argument("--temperature", type=positive_float, default=None, metavar="T",
                        help="InfoNCE temperature (default: 0.07)")
    parser.add_argument("--margin", type=non_negative_float, default=None, metavar="M", help="triplet-loss margin (default: 0.2)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the train/held-out split and subsamples")
    add_out(parser)
    parser.add_argument("--queries", type=count, default=None, metavar="N",
                        help="score a random sample of N queries per retrieval direction (and N pairs for the "
                             "losses), each ranked among all items; 0: every query (exact). Default: exact up to "
                             "a size, then the sample that takes as long")


def run(args) -> int:
    from mmstudio.analysis.alignment.losses import MARGIN, TEMPERATURE
    from mmstudio.analysis.alignment.report import align_report
    from mmstudio.core.jobs import TqdmJob
    from mmstudio.core.tables.files import TableFormatError
    from mmstudio.core.tables.table import EmbeddingTable

    if out_problem(args, "align"):
        return 2
    try:
        table = EmbeddingTable.read(args.table)
    except (OSError, TableFormatError) as exc:
        print(f"mmstudio align: {exc}", file=sys.stderr)
        return 2
    job = TqdmJob("aligning")
    try:
        report = align_report(table, temperature=args.temperature or TEMPERATURE,
                              margin=MARGIN if args.margin is None else args.margin, queries=args.queries,
                              seed=args.seed, job=job)
    except ValueError as exc:
        print(f"mmstudio align: {args.table}: {exc}", file=sys.stderr)
        return 2
    finally:
        job.close()
    if args.json:
        json.dump(report, sys.stdout, indent=1, ensure_ascii=False, allow_nan=False)
        print()
    else:
        print(format_report(report, args.table))
    return write_out(args, "align", report, args.table)


def format_report(report: dict, name: str = "") -> str:
    """The report as readable text: a block per pair of modalities."""
    lines = [f"alignment of {name or 'the table'}: {report['rows']} rows, {len(report['modalities'])} modalities "
             f"({', '.join(report['modalities'])}), {report['dim']}-d" + (f", model {report['model']}" if report["model"] else ""),
             f"ties are broken {report['settings']['ties']}"]
    for pair in report["pairs"]:
        a, b = pair["modalities"]
        lines += ["", f"{a} ↔ {b}: {pair['n_pairs']} paired samples"]
        if "note" in pair:
            lines.append(f"  {pair['note']}")
            continue
        if "captions" in pair:
            lines += [f"  {pair['captions']['protocol']}", f"  ({pair['captions']['paired']})"]
        lines += _retrieval_lines(pair["retrieval"])
        lines += _gap_lines(pair["gap"], a, b)
        p = pair["procrustes"]
        lines.append(f"  Procrustes {a} → {b}: orthogonal residual {num(p['orthogonal_residual'])} "
                     f"(relative {num(p['orthogonal_relative'])}), similarity disparity "
                     f"{num(p['similarity_disparity'])}; linear CKA {num(p['linear_cka'])} ({p['scope']})")
        lines.append(f"  map {a} → {b}: {pair['maps']['sentence']}"
                     + (f" ({pair['maps']['scope']})" if "scope" in pair["maps"] else ""))
        loss = pair["losses"]
        lines.append(f"  losses: symmetric InfoNCE (τ = {loss['temperature']:g}) {num(loss['info_nce'], 4)}; "
                     f"triplet (margin {loss['margin']:g}, {a} → {b} / {b} → {a}) hardest "
                     f"{num(loss['triplet_hardest_ab'], 4)} / {num(loss['triplet_hardest_ba'], 4)}, semi-hard "
                     f"{num(loss['triplet_semihard_ab'], 4)} / {num(loss['triplet_semihard_ba'], 4)}")
        lines.append(f"    losses on: {loss['scope']['sentence']}")
        if "intervals" in loss:
            names = {"info_nce": "InfoNCE", "triplet_hardest_ab": f"hardest {a} → {b}",
                     "triplet_hardest_ba": f"hardest {b} → {a}", "triplet_semihard_ab": f"semi-hard {a} → {b}",
                     "triplet_semihard_ba": f"semi-hard {b} → {a}"}
            lines.append("    " + ", ".join(f"{label} {_interval(loss['intervals'][key], 4)}"
                                           for key, label in names.items()))
    return "\n".join(lines)


def _interval(bounds, digits: int = 3) -> str:
    low, high = bounds
    return f"{num(low, digits)}–{num(high, digits)}"


def _retrieval_lines(results: list[dict]) -> list[str]:
    width = max(len(f"{r['query']} → {r['gallery']}") for r in results)
    head = (f"  {'retrieval':<{width}}  {'R@1':>6} {'R@5':>6} {'R@10':>6} {'median':>7} {'mean':>7} {'mAP@10':>7}"
            f" {'label R@1':>10} {'label mAP@10':>13}")
    lines = [head]
    for r in results:
        lines.append(f"  {r['query'] + ' → ' + r['gallery']:<{width}}  {num(r['R@1']):>6} {num(r['R@5']):>6} "
                     f"{num(r['R@10']):>6} {num(r['median_rank'], 1):>7} {num(r['mean_rank'], 2):>7} "
                     f"{num(r['mAP@10']):>7} {num(r['label_R@1']):>10} {num(r['label_mAP@10']):>13}")
    for r in results:
        lines.append(f"  {r['query']} → {r['gallery']} scored on: {r['scope']['sentence']}")
        if "intervals" in r:
            iv = r["intervals"]
            parts = [f"R@{k} {_interval(iv[f'R@{k}'])}" for k in (1, 5, 10)]
            parts += [f"median rank {_interval(iv['median_rank'], 1)}", f"mean rank {_interval(iv['mean_rank'], 2)}",
                      f"mAP@10 {_interval(iv['mAP@10'])}"]
            parts += [f"{name.replace('_', ' ')} {_interval(iv[name])}" for name in ("label_R@1", "label_mAP@10")
                      if name in iv]
            lines.append("    over all queries: " + ", ".join(parts))
    for r in results:
        worst = ", ".join(f"{w['sample_id']}{_caption(w)} ({w['rank']})" for w in r["worst"][:5])
        among = " of the sampled queries" if r["scope"]["method"] == "sample" else ""
        lines.append(f"  worst aligned{among} {r['query']} → {r['gallery']} (rank): {worst}")
    return lines


def _caption(worst: dict) -> str:
    """`` caption 3`` for a caption query of the any-caption protocol (numbered from 1), else nothing."""
    return f" caption {worst['caption_index'] + 1}" if "caption_index" in worst else ""


def _gap_lines(gap: dict, a: str, b: str) -> list[str]:
    shift = gap["shift"]
    lines = [f"  modality gap {a} ↔ {b}: {num(gap['distance'])} (distance between the centroids of the normalised "
             f"embeddings); shifting {a} by −δ/2 and {b} by +δ/2 along it ({gap.get('scope') or str(shift['n']) + ' pairs'}):",
             f"    {'δ':>7} {'gap':>6} {'R@1 ' + a + '→' + b:>14} {'R@1 ' + b + '→' + a:>14} "
             f"{'mean rank':>10} {'':>8}"]
    deltas = shift["deltas"]
    shown = sorted(set(range(0, len(deltas), max(1, len(deltas) // 6))) | {len(deltas) - 1})
    for i in shown:
        mark = " (as is)" if deltas[i] == 0 else ""
        lines.append(f"    {num(deltas[i]):>7} {num(shift['gap_after'][i]):>6} {num(shift['R@1_ab'][i]):>14} "
                     f"{num(shift['R@1_ba'][i]):>14} {num(shift['mean_rank_ab'][i], 1):>5}/"
                     f"{num(shift['mean_rank_ba'][i], 1):<5}{mark}")
    lines.append(f"    best δ = {num(gap['best_delta'])}: R@1 {num(gap['best_R@1_ab'])} / {num(gap['best_R@1_ba'])}")
    return lines
