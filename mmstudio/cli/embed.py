"""``mmstudio embed PATHS... --out FILE``: encode files, folders and manifests into a table."""

from __future__ import annotations

import sys
import time
from collections import Counter, defaultdict

from mmstudio.cli.argtypes import non_empty_text, non_negative_float, positive_int
from mmstudio.cli.outputs import output_problem
from mmstudio.encoders.registry import DEFAULT_MODEL


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="files, folders, manifests (.csv, .jsonl), caption files (COCO captions .json, "
                             "AudioCaps or Clotho .csv), WebDataset shards (.tar, a folder of them, "
                             "shard-{000000..000009}.tar) and Hugging Face datasets (Parquet or Arrow files, "
                             "save_to_disk folders), mixed")
    parser.add_argument("--out", required=True, metavar="FILE",
                        help="output table: FILE.parquet or FILE.npz; with --engine ray a folder of Parquet shards")
    parser.add_argument("--model", default=DEFAULT_MODEL, type=non_empty_text,
                        help=f"'{DEFAULT_MODEL}', a Hugging Face hub id or a local model folder (default: %(default)s)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                        help="where the model runs (default: CUDA, then MPS, then CPU)")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "fp16", "bf16"),
                        help="autocast precision on a GPU (default: bf16 where supported, else fp16; fp32 on CPU)")
    parser.add_argument("--batch-size", type=positive_int, default=None, metavar="N", help="items per model call")
    parser.add_argument("--workers", type=positive_int, default=None, metavar="N",
                        help="decoding threads; with --engine ray, encoder actors (default: one per GPU group, "
                             "or half the CPUs)")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the embedding cache")
    parser.add_argument("--tokens", action="store_true",
                        help="also keep each item's token features (image patches, audio frames, text tokens) in "
                             "the table, for token-level cross-attention in `mmstudio fuse`; Parquet only, much "
                             "larger files, and every item runs through the model (the cache holds vectors only)")
    parser.add_argument("--captions", default="first", choices=("first", "all"),
                        help="samples with several captions (COCO, AudioCaps, Clotho): embed the first as the "
                             "sample's text row, or each as its own text row of the sample, numbered in a "
                             "caption_index column (default: first)")
    parser.add_argument("--images", type=_folder, default=None, metavar="DIR",
                        help="the pictures of a COCO captions file (default: a folder beside it named like its "
                             "split, e.g. val2017/, or images/)")
    parser.add_argument("--audio", type=_folder, default=None, metavar="DIR",
                        help="the sounds of an AudioCaps or Clotho CSV (default: a folder beside it named like "
                             "the CSV or its split, or audio/)")
    parser.add_argument("--engine", default="local", choices=("local", "ray"),
                        help="local: this process; ray: a Ray cluster, needs mmstudio[distributed] (default: local)")
    parser.add_argument("--address", default=None, metavar="ADDR",
                        help="with --engine ray: the cluster to join (e.g. ray://head:10001 or auto; "
                             "default: RAY_ADDRESS, else a local Ray instance)")
    hf = parser.add_argument_group("Hugging Face datasets", "the columns are chosen from the dataset's features; "
                                                            "these override the choice")
    for option, what in (("image", "the images (an Image feature or bytes)"), ("audio", "the sounds (an Audio feature "
                         "or bytes)"), ("text", "the captions (strings)"), ("label", "the labels")):
        hf.add_argument(f"--{option}-column", default=None, type=non_empty_text, metavar="COL", help=f"the column of {what}")
    hf.add_argument("--split", default=None, type=non_empty_text, metavar="NAME",
                    help="embed this split only (default: every split, with a 'split' column)")
    parser.add_argument("--gpus-per-worker", type=non_negative_float, default=0, metavar="G",
                        help="with --engine ray: GPUs per encoder actor (default: 0, CPU)")


def run(args) -> int:
    from mmstudio.core.cache import EmbeddingCache
    from mmstudio.core.jobs import TqdmJob
    from mmstudio.core.tables.files import READERS, TableFormatError
    from mmstudio.encoders.base import ModelError
    from mmstudio.encoders.embed import embed_dataset
    from mmstudio.encoders.registry import load_encoder

    if args.tokens and args.engine == "ray":
        print("mmstudio embed: --tokens: the Ray engine writes vectors only; leave out --engine ray", file=sys.stderr)
        return 2
    if args.captions == "all" and args.engine == "ray":
        print("mmstudio embed: --captions all: the Ray engine embeds each sample's first caption; leave out "
              "--engine ray", file=sys.stderr)
        return 2
    if args.engine == "ray":
        chosen = [f"--{o}-column" for o in ("image", "audio", "text", "label") if getattr(args, f"{o}_column")]
        if chosen or args.split:
            print(f"mmstudio embed: {(chosen or ['--split'])[0]}: the Ray engine takes the columns chosen from the "
                  "features; leave out --engine ray", file=sys.stderr)
            return 2
        return run_ray(args)
    problem = output_problem(args.out, (".parquet",) if args.tokens else tuple(READERS), make_parents=True)
    if problem and args.tokens:
        problem += " (--tokens keeps token features in Parquet only)"
    if problem:
        print(f"mmstudio embed: --out {problem}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    dataset = load_dataset(args)
    if dataset is None:
        return 2
    cache = None if args.no_cache else EmbeddingCache()
    try:
        encoder = load_encoder(args.model, device=args.device, precision=args.precision, cache=cache)
    except ModelError as exc:
        print(f"mmstudio embed: {exc}", file=sys.stderr)
        return 2
    print_duplicates(dataset.duplicates)
    warn_unfamiliar(dataset, encoder)
    job = TqdmJob("embedding")
    try:
        table = embed_dataset(dataset, encoder, batch_size=args.batch_size, cache=cache, job=job,
                              workers=args.workers, tokens=args.tokens, captions=args.captions)
    finally:
        job.close()
    if not len(table):  # nothing done: no empty table in place of what the user expected
        print(f"mmstudio embed: nothing could be embedded; {args.out} not written", file=sys.stderr)
        print_skipped(table.errors)
        print_notes(table.notes)
        return 1
    try:
        table.write(args.out)
    except (OSError, TableFormatError) as exc:
        print(f"mmstudio embed: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    counts = Counter(table.modality.tolist())
    detail = ", ".join(f"{counts[m]} {m}" for m in table.modalities)
    print(f"embedded {len(table)} items ({detail or 'none'}) of {len(dataset)} samples with {encoder.describe()} "
          f"in {elapsed:.1f} s → {args.out}", file=sys.stderr)
    print_skipped(table.errors)
    print_notes(table.notes)
    return 0 if len(table) else 1


def load_dataset(args):
    """The paths as a dataset, with the columns the user chose; None (the reason printed) when the
    data has no such column or split."""
    from mmstudio.core.sources.hf_columns import ColumnChoice, SourceError
    from mmstudio.core.sources.inputs import load_paths

    choice = ColumnChoice(image=args.image_column, audio=args.audio_column, text=args.text_column,
                          label=args.label_column, split=args.split)
    try:
        return load_paths(args.paths, choice, _folders(args))
    except SourceError as exc:
        flag = "--split" if exc.option == "split" else f"--{exc.option}-column"
        print(f"mmstudio embed: {flag}: {exc}", file=sys.stderr)
        return None


def run_ray(args) -> int:
    """``--engine ray``: the same listing and rows, encoded on a Ray cluster into Parquet shards in a folder."""
    from pathlib import Path

    from mmstudio.core.jobs import TqdmJob
    from mmstudio.core.media.formats import MODALITIES
    from mmstudio.encoders.base import ModelError
    from mmstudio.encoders.distributed.engine import DistributedError, embed_with_ray

    if Path(args.out).suffix.lower() == ".npz" or Path(args.out).is_file():
        print(f"mmstudio embed: --out {args.out}: --engine ray writes a folder of Parquet shards; give a folder",
              file=sys.stderr)
        return 2
    problem = output_problem(args.out, make_parents=True, folder=True)
    if problem:
        print(f"mmstudio embed: --out {problem}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    job = TqdmJob("embedding")
    try:
        result = embed_with_ray(args.paths, args.out, args.model, address=args.address,
                                gpus_per_worker=args.gpus_per_worker, workers=args.workers,
                                batch_size=args.batch_size, cache=not args.no_cache, device=args.device,
                                precision=args.precision, folders=_folders(args), job=job)
    except (DistributedError, ModelError) as exc:
        print(f"mmstudio embed: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"mmstudio embed: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    finally:
        job.close()
    detail = ", ".join(f"{result.counts[m]} {m}" for m in MODALITIES if result.counts[m])
    print(f"embedded {result.rows} items ({detail or 'none'}) with {result.described} in "
          f"{time.perf_counter() - start:.1f} s → {args.out} ({len(result.files)} shard"
          f"{'s' if len(result.files) != 1 else ''})", file=sys.stderr)
    print_skipped(result.errors)
    return 0 if result.rows else 1


def print_duplicates(duplicates, limit: int = 5, stream=None) -> None:
    """One warning line per sample whose id was taken already (kept under a new id), the first few."""
    stream = stream or sys.stderr
    for entry in duplicates[:limit]:
        print(f"mmstudio embed: warning: {entry}", file=stream)
    if len(duplicates) > limit:
        print(f"mmstudio embed: warning: and {len(duplicates) - limit} more duplicate sample ids, each kept "
              "under a new id", file=stream)


def warn_unfamiliar(dataset, encoder, stream=None) -> None:
    """With the built-in model, a warning when the data is not like the demo world it was trained on
    (:mod:`mmstudio.encoders.builtin.domain`): the numbers and the criterion."""
    from mmstudio.encoders.builtin.domain import builtin_fit

    fit = builtin_fit(dataset, encoder)
    note = fit.note() if fit is not None else None
    if note:
        stream = stream or sys.stderr
        print(f"mmstudio embed: warning: {note}. Give another model with --model (`mmstudio models` lists "
              "those in the Hugging Face cache)", file=stream)
        print(f"  {fit.criterion()}", file=stream)


def _folder(text: str) -> str:
    """An existing folder (``--images``, ``--audio``)."""
    import argparse
    import os

    if not os.path.isdir(os.path.expanduser(text)):
        raise argparse.ArgumentTypeError(f"{text}: {'not a folder' if os.path.exists(text) else 'no such folder'}")
    return os.path.expanduser(text)


def _folders(args) -> dict:
    """modality → the folder of a caption file's media (``--images``, ``--audio``)."""
    return {m: f for m, f in (("image", args.images), ("audio", args.audio)) if f is not None}


def print_skipped(errors, limit: int = 5, stream=None) -> None:
    """The skipped-items summary: one line per reason, the files it hit (the first few)."""
    _print_grouped(f"skipped {len(errors)} item{'s' if len(errors) != 1 else ''}:", errors, limit, stream)


def print_notes(notes, limit: int = 5, stream=None) -> None:
    """The notes summary: items used with a remark (text decoded as cp1252 or cut to 1 MB, a WAV
    shorter than its header, silent audio) and changes to the input (a path given twice, a renamed
    column), one line per remark. Items read from the cache were decoded before: no remark."""
    _print_grouped(f"note{'s' if len(notes) != 1 else ''}:", notes, limit, stream)


def _print_grouped(title: str, entries, limit: int, stream) -> None:
    from mmstudio.core.names import shown

    stream = stream or sys.stderr
    if not entries:
        return
    by_reason = defaultdict(list)
    for entry in entries:  # names that are not UTF-8 are shown with U+FFFD
        where = entry.path or entry.sample_id
        by_reason[shown(entry.reason)].append(shown(where) if where else None)
    print(title, file=stream)
    for reason, paths in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
        paths = [p for p in paths if p]
        if not paths:
            print(f"  {reason}", file=stream)
            continue
        listed = ", ".join(paths[:limit]) + (f" and {len(paths) - limit} more" if len(paths) > limit else "")
        print(f"  {reason} ({len(paths)}): {listed}" if len(paths) > 1 else f"  {reason}: {listed}", file=stream)
