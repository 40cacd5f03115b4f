"""``mmstudio export IN --format parquet|csv|npz|tensorboard --out PATH``: a table for other tools.

``--selection FILE`` keeps the samples listed in FILE: one sample id a line, or a CSV/TSV whose first
column is the sample id (a header ``sample_id`` is skipped), and whose second column, when it names a
modality, keeps only that row of the sample, so a CSV written by this command selects its own rows.
``--samples a,b`` lists the ids inline. ``--modality image,text`` keeps those modalities.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mmstudio.cli.argtypes import positive_int
from mmstudio.cli.outputs import output_problem
from mmstudio.export.embeddings import FORMATS


def add_arguments(parser) -> None:
    parser.add_argument("table", metavar="IN", help="an embedding table written by mmstudio (.parquet, .npz or a folder of shards)")
    parser.add_argument("--format", choices=tuple(FORMATS), default=None,
                        help="what to write (default: from the suffix of --out; no suffix: tensorboard)")
    parser.add_argument("--out", required=True, metavar="PATH",
                        help="the file to write, or the folder for tensorboard (made when missing)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--selection", metavar="IDS_FILE", help="export only the samples listed in this file")
    which.add_argument("--samples", metavar="ID,ID,...", help="export only these samples")
    parser.add_argument("--modality", metavar="M,M", default=None, help="export only these modalities")
    parser.add_argument("--tile", type=positive_int, default=None, metavar="PX",
                        help="tensorboard: largest sprite tile side (default: 64; smaller when many rows)")


def run(args) -> int:
    import numpy as np

    from mmstudio.core.jobs import TqdmJob
    from mmstudio.core.tables.files import TableFormatError
    from mmstudio.core.tables.table import EmbeddingTable
    from mmstudio.export.embeddings import export_table, format_for

    def fail(message: str) -> int:
        print(f"mmstudio export: {message}", file=sys.stderr)
        return 2

    fmt = args.format or format_for(args.out)
    if fmt is None:
        return fail(f"--out {args.out}: cannot tell the format from {Path(args.out).suffix}; give --format")
    problem = output_problem(args.out, None if fmt == "tensorboard" else (f".{fmt}",), make_parents=True,
                             folder=fmt == "tensorboard")
    if problem:
        return fail(f"--out {problem}")
    try:
        table = EmbeddingTable.read(args.table)
    except (OSError, TableFormatError) as exc:
        return fail(str(exc))
    keep = np.ones(len(table), dtype=bool)
    try:
        if args.selection is not None:
            keep &= select_samples(table, read_selection(args.selection), args.selection)
        elif args.samples is not None:
            ids = [(s.strip(), None) for s in args.samples.split(",") if s.strip()]
            keep &= select_samples(table, ids, "--samples")
        if args.modality is not None:
            keep &= select_modalities(table, args.modality)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return fail(str(exc))
    if not keep.any():
        return fail(f"{args.table}: no rows to export" + (" (nothing matches the selection)" if len(table) else ""))
    rows = None if keep.all() else np.flatnonzero(keep)
    options = {"max_tile": args.tile} if fmt == "tensorboard" and args.tile else {}
    job = TqdmJob("exporting")
    try:
        result = export_table(table, args.out, fmt, rows=rows, job=job, **options)
    except ValueError as exc:
        return fail(f"{args.table}: {exc}")
    except OSError as exc:
        print(f"mmstudio export: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    finally:
        job.close()
    for note in result.notes:
        print(f"mmstudio export: {note}", file=sys.stderr)
    print(f"exported {result.rows} rows of {args.table} as {fmt} → {result.path}", file=sys.stderr)
    return 0


def read_selection(path) -> list[tuple[str, str | None]]:
    """(sample id, modality or None) per line of an ids file; see the module's docstring."""
    import csv

    from mmstudio.core.media.formats import MODALITIES

    file = Path(path)
    if not file.is_file():
        raise ValueError(f"{path}: no such file")
    text = file.read_text(encoding="utf-8-sig")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first else ","
    out = []
    for k, row in enumerate(csv.reader(text.splitlines(), delimiter=delimiter)):
        cells = [c.strip() for c in row]
        if not cells or not cells[0] or cells[0].startswith("#"):
            continue
        if k == 0 and cells[0].lower() == "sample_id":
            continue
        modality = cells[1] if len(cells) > 1 and cells[1] in MODALITIES else None
        out.append((cells[0], modality))
    if not out:
        raise ValueError(f"{path}: lists no sample ids")
    return out


def select_samples(table, wanted, source) -> "np.ndarray":  # noqa: F821
    """The rows of the listed (sample id, modality or None) pairs; ValueError naming ids not in the table."""
    import numpy as np

    ids = table.sample_id.astype(str)
    whole = {s for s, m in wanted if m is None}
    rows = {(s, m) for s, m in wanted if m is not None}
    keep = np.isin(ids, list(whole)) if whole else np.zeros(len(table), bool)
    if rows:
        keep |= np.array([(s, m) in rows for s, m in zip(ids.tolist(), table.modality.tolist())], bool)
    present = set(ids.tolist())
    missing = sorted({s for s, _ in wanted if s not in present})
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ValueError(f"{source}: {len(missing)} sample id{'s' if len(missing) != 1 else ''} "
                         f"not in the table: {shown}")
    return keep


def select_modalities(table, names: str):
    from mmstudio.core.media.formats import MODALITIES

    wanted = [m.strip() for m in names.split(",") if m.strip()]
    unknown = [m for m in wanted if m not in MODALITIES]
    if unknown or not wanted:
        raise ValueError(f"--modality {names}: choose from {', '.join(MODALITIES)}")
    import numpy as np

    return np.isin(table.modality.astype(str), wanted)
