"""``mmstudio principles NAME [--json] [--table T.parquet]``: a textbook principle of multimodal
learning, demonstrated on the demo world (or a table of yours) and printed as numbers."""

from __future__ import annotations

import argparse
import json
import sys

from mmstudio.analysis.principles.registry import PRINCIPLES
from mmstudio.cli.argtypes import float_list, non_negative_float, positive_int, seed


def add_arguments(parser) -> None:
    names = "\n".join(f"  {name}: {p.help}" for name, p in PRINCIPLES.items())
    parser.epilog = f"principles:\n{names}"
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("name", metavar="NAME", help="one of: " + ", ".join(PRINCIPLES))
    parser.add_argument("--json", action="store_true", help="print the whole result (curves, grids) as JSON")
    parser.add_argument("--table", metavar="T", default=None,
                        help="an embedding table (.parquet, .npz, a folder of shards) instead of the demo world's, built once "
                             "into the cache folder (complementarity, redundancy, dominance, sample-complexity, interactions)")
    parser.add_argument("--task", default=None, help="label column (complementarity, sample-complexity and "
                                                     "interactions: xor; dominance: shape)")
    parser.add_argument("--modalities", default=None, metavar="A,B", help="the two modalities (default: image,audio)")
    parser.add_argument("--seed", type=seed, default=None, help="seed of splits, noise and initialisation (default: 0)")
    parser.add_argument("--seeds", type=positive_int, default=None, metavar="N",
                        help="how many seeds the principles that learn run, each with its own split and initialisation; "
                             "headline numbers are means with a 95 %% interval over them (default 5)")
    parser.add_argument("--alpha", type=non_negative_float, default=None, help="dominance: OGM-GE's α (default 0.5)")
    parser.add_argument("--epochs", type=positive_int, default=None, help="dominance: epochs (default 20)")
    parser.add_argument("--means", type=float_list, default=None, metavar="M1,M2", help="poe-moe: the experts' means")
    parser.add_argument("--variances", type=float_list, default=None, metavar="V1,V2",
                        help="poe-moe: the experts' variances")
    parser.add_argument("--weights", type=float_list, default=None, metavar="W1,W2", help="poe-moe: mixture weights")


def run(args) -> int:
    from mmstudio.analysis.principles.registry import run_principle
    from mmstudio.core.jobs import TqdmJob

    if args.name not in PRINCIPLES:
        print(f"mmstudio principles: unknown principle {args.name!r}; choose one of: {', '.join(PRINCIPLES)}",
              file=sys.stderr)
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
    options = {"task": args.task, "seed": args.seed, "seeds": args.seeds, "alpha": args.alpha, "epochs": args.epochs}
    if args.name == "poe-moe":
        options.update(means=args.means, variances=args.variances, weights=args.weights)
    unused = _unused_options(args)
    if unused:
        print(f"mmstudio principles: {args.name} does not use {' or '.join(unused)}", file=sys.stderr)
        return 2
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
    job = TqdmJob(args.name)
    try:
        if table is None and PRINCIPLES[args.name].uses_table:
            from mmstudio.demo.table import demo_table

            table = demo_table(job=job)
        result = run_principle(args.name, table, job=job, **options)
    except ValueError as exc:
        print(f"mmstudio principles {args.name}: {exc}", file=sys.stderr)
        return 2
    finally:
        job.close()
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=1, ensure_ascii=False, allow_nan=False)
        print()
    else:
        print(f"{args.name}: {result.statement}\n")
        print("\n".join(result.summary()))
    return 0


def _unused_options(args) -> list[str]:
    """The options given that this principle would ignore (a silent no-op reads as an answer)."""
    import inspect

    from mmstudio.analysis.principles.registry import function

    accepted = inspect.signature(function(args.name)).parameters
    given = {"--seed": (args.seed, "seed"), "--table": (args.table, "table"), "--task": (args.task, "task"),
             "--seeds": (args.seeds, "seeds"),
             "--alpha": (args.alpha, "alpha"), "--epochs": (args.epochs, "epochs"), "--modalities": (args.modalities, "modalities"),
             "--means": (args.means, "means"), "--variances": (args.variances, "variances"),
             "--weights": (args.weights, "weights")}
    unused = [option for option, (value, name) in given.items() if value is not None and name not in accepted]
    if args.table is not None and not PRINCIPLES[args.name].uses_table and "--table" not in unused:
        unused.insert(0, "--table")
    return unused
