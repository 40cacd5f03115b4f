"""``mmstudio project IN --out OUT``: a 2-D map (UMAP or PCA) of a table, as ``x``/``y`` columns."""

from __future__ import annotations

import gc
import sys
import time
from os.path import isdir

from mmstudio.cli.argtypes import count, int_at_least, landmarks, seed, unit_interval
from mmstudio.cli.outputs import output_problem
from mmstudio.core.media.formats import MODALITIES

SEED_HELP = ("fixed random seed: the same map every time, but umap-learn then runs single-threaded (slower); "
             "default: none (all cores)")


def add_arguments(parser) -> None:
    parser.add_argument("input", metavar="IN", help="an embedding table (.parquet, .npz or a folder of Parquet shards, from `mmstudio embed`)")
    parser.add_argument("--out", required=True, metavar="OUT", help="the table with x and y columns (.parquet or .npz)")
    parser.add_argument("--method", default="umap", choices=("umap", "pca"), help="default: %(default)s")
    parser.add_argument("--neighbors", type=int_at_least(2), default=15, metavar="K",
                        help="UMAP neighbours: small K keeps local detail, large K the global shape (default: 15)")
    parser.add_argument("--min-dist", type=unit_interval, default=0.1, metavar="D",
                        help="UMAP minimum distance between points on the map, 0 to 1 (default: 0.1)")
    parser.add_argument("--metric", default="cosine", choices=("cosine", "euclidean"), help="default: %(default)s")
    parser.add_argument("--epochs", type=count, default=None, metavar="N",
                        help="UMAP optimisation epochs (default: 200; 0 = umap-learn's own default)")
    parser.add_argument("--seed", type=seed, default=None, metavar="S", help=SEED_HELP)
    parser.add_argument("--reference", choices=MODALITIES, default=None, metavar="MODALITY",
                        help="fit the map on this modality's rows (image, audio or text) and place the others on it")
    parser.add_argument("--landmarks", type=landmarks, default="auto", metavar="auto|off|N",
                        help="large tables: fit UMAP on N landmark rows (covering every modality and region) and "
                             "place the others on it; 'auto' (default) above a measured size, 'off' never")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the layout cache")


def _usage_error(args) -> str | None:
    for name in (args.input, args.out):
        if name.lower().rsplit(".", 1)[-1] not in ("parquet", "npz") and not (name is args.input and isdir(name)):
            return f"{name}: use a .parquet or .npz file" + (" (or a folder of Parquet shards)" if name is args.input
                                                            else "")
    problem = output_problem(args.out, (".parquet", ".npz"), make_parents=True)
    return f"--out {problem}" if problem else None


def run(args) -> int:
    from mmstudio.analysis.projection.project import DEFAULT_EPOCHS, project_table_result, with_xy
    from mmstudio.core.jobs import Cancelled, TqdmJob
    from mmstudio.core.tables.files import TableFormatError
    from mmstudio.core.tables.table import EmbeddingTable

    problem = _usage_error(args)
    if problem:
        print(f"mmstudio project: {problem}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    _quick_exit()
    try:
        table = EmbeddingTable.read(args.input)
    except (OSError, TableFormatError) as exc:
        print(f"mmstudio project: cannot read {args.input}: {exc}", file=sys.stderr)
        return 2
    if len(table) == 0:
        print(f"mmstudio project: {args.input} has no embedded rows", file=sys.stderr)
        return 2
    epochs = DEFAULT_EPOCHS if args.epochs is None else (args.epochs or None)
    job = TqdmJob("projecting")
    try:
        result = project_table_result(table, args.method, reference=args.reference, n_neighbors=args.neighbors,
                                      min_dist=args.min_dist, metric=args.metric, seed=args.seed, n_epochs=epochs,
                                      cache=not args.no_cache, preview=False, landmarks=args.landmarks, job=job)
    except ValueError as exc:
        print(f"mmstudio project: {exc}", file=sys.stderr)
        return 2
    except Cancelled:  # Ctrl-C (KeyboardInterrupt) is answered once for every command, in __main__
        print("mmstudio project: interrupted", file=sys.stderr)
        return 130
    finally:
        job.close()
    try:
        with_xy(table, result.xy).write(args.out)
    except (OSError, TableFormatError) as exc:
        print(f"mmstudio project: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    how = result.method + (f", kNN {result.knn}" if result.knn else "") + (", from the cache" if result.cached else "")
    how += f", fitted on {args.reference}" if args.reference and result.method == "umap" else ""
    notes = [result.note] if result.note else []
    used = result.params.get("n_neighbors_used")
    if used is not None and used < args.neighbors:  # fewer rows than neighbours asked for
        notes.append(f"--neighbors {args.neighbors}: {used} used, the most these rows allow")
    note = f" ({'; '.join(notes)})" if notes else ""
    steps = ", ".join(f"{k} {v:.2f} s" for k, v in result.timing.items() if k != "other")
    print(f"projected {len(table):,} rows ({how}) in {time.perf_counter() - start:.1f} s → {args.out}{note}"
          + (f"\n  steps: {steps}" if steps else ""), file=sys.stderr)
    return 0


def _quick_exit() -> None:
    """When the process ends, skip the interpreter's last garbage collection over every object
    torch, numba and umap-learn made: 0.5–1 s of a command's exit (benchmarks/README.md).
    ``atexit`` runs before that collection; until then nothing changes."""
    import atexit

    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
