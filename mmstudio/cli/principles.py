"""``mmstudio principles NAME [--json] [--table T.parquet]``: a textbook principle of multimodal
learning, demonstrated on the demo world (or a table of yours) and printed as numbers."""

from __future__ import annotations

import argparse
import json
import sys

from mmstudio.analysis.principles.registry import PRINCIPLES
from mmstudio.cli.argtypes import float_list, non_negative_float, positive_int, seed

TABLE_FREE_PARTS = ("independence", "imputation")   # broken-assumptions' parts that need no table


def add_arguments(parser) -> None:
    names = "\n".join(f"  {name}: {p.help}" for name, p in PRINCIPLES.items())
    parser.epilog = f"principles:\n{names}"
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("name", metavar="NAME", help="one of: " + ", ".join(PRINCIPLES))
    parser.add_argument("--json", action="store_true", help="print the whole result (curves, grids) as JSON")
    parser.add_argument("--table", metavar="T", default=None,
                        help="an embedding table (.parquet, .npz, a folder of shards) instead of the demo world's, built once "
                             "into the cache folder (complementarity, redundancy, dominance, sample-complexity, "
                             "negative-transfer, interactions)")
    parser.add_argument("--task", default=None, help="label column (complementarity, sample-complexity and "
                                                     "interactions: xor; dominance and negative-transfer: shape)")
    parser.add_argument("--modalities", default=None, metavar="A,B", help="the two modalities (default: image,audio)")
    parser.add_argument("--seed", type=seed, default=None, help="seed of splits, noise and initialisation (default: 0)")
    parser.add_argument("--seeds", type=positive_int, default=None, metavar="N",
                        help="how many seeds the principles that learn run, each with its own split and initialisation; "
                             "headline numbers are means with a 95 %% interval over them (default 5)")
    parser.add_argument("--part", choices=("independence", "imputation", "procrustes"), default=None,
                        help="broken-assumptions: run one part only (default: all three)")
    parser.add_argument("--other", metavar="B", default=None,
                        help="broken-assumptions: a second embedding table of the same samples from another model, "
                             "compared with --table (or the demo world's) by Procrustes and CKA; without it, a "
                             "stand-in (the table through a noisy linear map) is used and the output says so")
    parser.add_argument("--alpha", type=non_negative_float, default=None,
                        help="dominance: the OGM-GE α the verdict is about (default 0.5; alone, it is the only α run)")
    parser.add_argument("--alphas", type=non_negative_list, default=None, metavar="A1,A2,…",
                        help="dominance: the α swept (default 0,0.1,0.3,0.5,1)")
    parser.add_argument("--noise", type=noise_levels, default=None, metavar="LEVEL|M=LEVEL,…",
                        help="dominance and sample-complexity: Gaussian noise added to each modality's embeddings, in "
                             "units of each coordinate's spread: one level for every modality, per modality "
                             "(image=1,audio=2.5) or 0 for none (defaults: dominance image=1,audio=2.5; "
                             "sample-complexity 3 on shape, none on other tasks)")
    parser.add_argument("--epochs", type=positive_int, default=None, help="dominance: epochs (default 20)")
    parser.add_argument("--means", type=float_list, default=None, metavar="M1,M2", help="poe-moe: the experts' means")
    parser.add_argument("--variances", type=float_list, default=None, metavar="V1,V2",
                        help="poe-moe: the experts' variances")
    parser.add_argument("--weights", type=float_list, default=None, metavar="W1,W2", help="poe-moe: mixture weights")
    parser.add_argument("--strengths", type=shares, default=None, metavar="F1,F2,…",
                        help="negative-transfer: shares of rows whose second modality is swapped with another "
                             "sample's (default 0,0.2,0.4,0.6,0.8; 0 is always included)")


def run(args) -> int:
    from mmstudio.analysis.principles.registry import run_principle
    from mmstudio.core.jobs import TqdmJob

    if args.name not in PRINCIPLES:
        print(f"mmstudio principles: unknown principle {args.name!r}; choose one of: {', '.join(PRINCIPLES)}",
              file=sys.stderr)
        return 2
    unused = _unused_options(args)
    if unused:
        who = f"{args.name} --part {args.part}" if args.part else args.name
        print(f"mmstudio principles: {who} does not use {' or '.join(unused)}", file=sys.stderr)
        return 2
    table = None
    if args.table and PRINCIPLES[args.name].uses_table:
        from mmstudio.core.tables.files import TableFormatError
        from mmstudio.core.tables.table import EmbeddingTable

        try:
            table = EmbeddingTable.read(args.table)
        except (OSError, TableFormatError) as exc:
            print(f"mmstudio principles: {exc}", file=sys.stderr)
            return 2
    other = None
    if args.other:
        from mmstudio.core.tables.files import TableFormatError
        from mmstudio.core.tables.table import EmbeddingTable

        try:
            other = EmbeddingTable.read(args.other)
        except (OSError, TableFormatError) as exc:
            print(f"mmstudio principles: --other {args.other}: {exc}", file=sys.stderr)
            return 2
    options = {"task": args.task, "seed": args.seed, "seeds": args.seeds, "alpha": args.alpha, "epochs": args.epochs,
               "part": args.part, "other": other, "strengths": args.strengths,
               "alphas": args.alphas}
    if args.alpha is not None and args.alphas is None:
        options["alphas"] = [args.alpha]      # --alpha alone: that α only, no sweep
    if args.name == "poe-moe":
        options.update(means=args.means, variances=args.variances, weights=args.weights)
    if args.modalities:
        modalities = tuple(m.strip() for m in args.modalities.split(",") if m.strip())
        from mmstudio.core.media.formats import MODALITIES

        unknown = [m for m in modalities if m not in MODALITIES]
        if unknown:
            print(f"mmstudio principles: --modalities {args.modalities}: unknown modality {unknown[0]!r}; "
                  f"choose from {', '.join(MODALITIES)}", file=sys.stderr)
            return 2
        if len(modalities) != 2 or modalities[0] == modalities[1]:
            print(f"mmstudio principles: --modalities {args.modalities}: give two names of different modalities, "
                  "e.g. image,audio", file=sys.stderr)
            return 2
        options["modalities"] = modalities
    if args.noise is not None:
        names = options.get("modalities") or ("image", "audio")
        options["noise"] = {m: args.noise.get(m, args.noise.get("*", 0.0)) for m in names}
        extra = sorted(set(args.noise) - set(names) - {"*"})
        if extra:
            print(f"mmstudio principles: --noise: {extra[0]!r} is not one of the modalities used "
                  f"({', '.join(names)})", file=sys.stderr)
            return 2
    job = TqdmJob(args.name)
    try:
        if table is None and PRINCIPLES[args.name].uses_table and args.part not in TABLE_FREE_PARTS:
            from mmstudio.demo.table import demo_table

            table = demo_table(job=job)
        result = run_principle(args.name, table, job=job, **options)
    except ValueError as exc:
        from mmstudio.analysis.principles.broken_rotation import TooFewMatches

        where = f"--other {args.other}: " if args.other and isinstance(exc, TooFewMatches) else ""
        print(f"mmstudio principles {args.name}: {where}{exc}", file=sys.stderr)
        return 2
    finally:
        job.close()
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=1, ensure_ascii=False, allow_nan=False)
        print()
    else:
        print(f"{args.name}: {result.statement}\n")
        if result.sample_note:
            print(f"data: {result.sample_note} of the table\n")
        print("\n".join(result.summary()))
    return 0


def shares(text: str) -> list[float]:
    """Comma-separated shares of rows, each from 0 to 1 (argparse prints the reason and exits 2)."""
    values = float_list(text)
    for v in values:
        if not 0 <= v <= 1:
            raise argparse.ArgumentTypeError(f"{v:g} is not a share of rows: give numbers from 0 to 1")
    return values


def non_negative_list(text: str) -> list[float]:
    """Comma-separated numbers, each 0 or more."""
    values = float_list(text)
    bad = [v for v in values if v < 0]
    if bad:
        raise argparse.ArgumentTypeError(f"{bad[0]:g} is out of range: give numbers 0 or more")
    return values


def noise_levels(text: str) -> dict:
    """``LEVEL`` (every modality; key ``*``) or ``M=LEVEL,…``: noise levels, each a finite number ≥ 0."""
    levels = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, value = part.rpartition("=")
        level = non_negative_float(value.strip())
        levels[name.strip() or "*"] = level
    if not levels:
        raise argparse.ArgumentTypeError("give a level (e.g. 3) or modality=level pairs (e.g. image=1,audio=2.5)")
    return levels


def _unused_options(args) -> list[str]:
    """The options given that this principle would ignore (a silent no-op reads as an answer)."""
    import inspect

    from mmstudio.analysis.principles.registry import function

    accepted = inspect.signature(function(args.name)).parameters
    given = {"--seed": (args.seed, "seed"), "--table": (args.table, "table"), "--task": (args.task, "task"),
             "--seeds": (args.seeds, "seeds"), "--part": (args.part, "part"), "--other": (args.other, "other"),
             "--alphas": (args.alphas, "alphas"), "--noise": (args.noise, "noise"),
             "--alpha": (args.alpha, "alpha"), "--epochs": (args.epochs, "epochs"), "--modalities": (args.modalities, "modalities"),
             "--means": (args.means, "means"), "--variances": (args.variances, "variances"),
             "--weights": (args.weights, "weights"), "--strengths": (args.strengths, "strengths")}
    unused = [option for option, (value, name) in given.items() if value is not None and name not in accepted]
    if args.part in TABLE_FREE_PARTS:  # broken-assumptions' synthetic parts read no table
        unused += [o for o, value in (("--table", args.table), ("--other", args.other)) if value and o not in unused]
    if args.table is not None and not PRINCIPLES[args.name].uses_table and "--table" not in unused:
        unused.insert(0, "--table")
    return unused
