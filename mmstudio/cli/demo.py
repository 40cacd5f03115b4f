"""``mmstudio demo make DIR`` writes the demo world; ``mmstudio demo train --out DIR`` trains the built-in model."""

from __future__ import annotations

import sys
from pathlib import Path

from mmstudio.cli.argtypes import positive_int, seed


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    make = sub.add_parser("make", help="write scenes as PNG/WAV/TXT files and a manifest.csv")
    make.add_argument("folder", metavar="DIR", help="an empty or new folder")
    make.add_argument("--n", type=positive_int, default=200, help="number of scenes (default: %(default)s)")
    make.add_argument("--seed", type=seed, default=0)
    make.add_argument("--force", action="store_true",
                      help="write into a folder that is not empty (files of the same names are replaced)")
    make.add_argument("--objects", choices=("1", "2", "mixed"), default="mixed")
    make.add_argument("--corrupt", action="append", default=[], metavar="MODALITY=FRACTION[:swap|noise]",
                      help="replace a fraction of one modality with another scene's content (swap, the default) "
                           "or noise; may be repeated")
    train = sub.add_parser("train", help="train the built-in model from scratch (about 40 minutes on 2 CPU cores)")
    train.add_argument("--out", required=True, metavar="DIR")
    train.add_argument("--seed", type=seed, default=0)
    train.add_argument("--steps", type=positive_int, default=None, help="optimisation steps (default: as shipped)")
    train.add_argument("--scenes", type=positive_int, default=None, help="training scenes (default: as shipped)")
    train.add_argument("--eval-scenes", type=positive_int, default=None,
                       help="held-out scenes for the metrics (default: 2000)")


def run(args) -> int:
    if args.action == "make":
        return _make(args)
    return _train(args)


def _make(args) -> int:
    from mmstudio.core.jobs import TqdmJob
    from mmstudio.demo.make import Corruption, make_world

    try:
        corrupt = [Corruption.parse(c) for c in args.corrupt]
    except ValueError as exc:
        print(f"mmstudio demo make: {exc}", file=sys.stderr)
        return 2
    problem = _folder_problem(args.folder, args.force)
    if problem:
        print(f"mmstudio demo make: {problem}", file=sys.stderr)
        return 2
    job = TqdmJob("rendering")
    try:
        manifest = make_world(args.folder, n=args.n, seed=args.seed, objects=args.objects, corrupt=corrupt, job=job)
    finally:
        job.close()
    print(f"wrote {args.n} scenes (image, sound, caption) and {manifest}", file=sys.stderr)
    return 0


def _folder_problem(folder: str, force: bool) -> str | None:
    from mmstudio.cli.outputs import output_problem

    path = Path(folder).expanduser()
    if path.is_dir() and not force and any(path.iterdir()):
        return f"{folder} is not empty; give a new or empty folder, or --force to write into it"
    return output_problem(folder, make_parents=True, folder=True)


def _train(args) -> int:
    from dataclasses import replace

    from mmstudio.cli.outputs import output_problem
    from mmstudio.core.jobs import TqdmJob
    from mmstudio.demo.train import TrainSettings, train

    problem = output_problem(args.out, make_parents=True, folder=True)
    if problem:
        print(f"mmstudio demo train: --out {problem}", file=sys.stderr)
        return 2
    settings = TrainSettings(seed=args.seed)
    if args.steps:
        settings = replace(settings, steps=args.steps)
    if args.scenes:
        settings = replace(settings, scenes=args.scenes)
    if args.eval_scenes:
        settings = replace(settings, eval_scenes=args.eval_scenes)
    job = TqdmJob("training")
    try:
        train(args.out, settings, log=lambda line: print(line, file=sys.stderr), job=job)
    finally:
        job.close()
    return 0
