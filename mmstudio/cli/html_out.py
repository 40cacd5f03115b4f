"""``--out REPORT.html`` of ``compare``, ``align`` and ``fuse``: the option, its check before any
work, and the page written after it (:mod:`mmstudio.export.html_report`)."""

from __future__ import annotations

import sys

from mmstudio.cli.outputs import output_problem

SUFFIXES = (".html", ".htm")


def add_out(parser) -> None:
    parser.add_argument("--out", metavar="REPORT.html",
                        help="also write the result as one self-contained HTML page (figures and tables, nothing "
                             "fetched) to share; the text or --json output is printed as usual")


def out_problem(args, command: str) -> bool:
    """True (after saying why in one line) when ``--out`` cannot be written."""
    problem = output_problem(args.out, SUFFIXES, make_parents=True) if args.out else None
    if problem:
        print(f"mmstudio {command}: --out {problem}", file=sys.stderr)
    return problem is not None


def write_out(args, command: str, report, *names: str) -> int:
    """Write the page when ``--out`` was given: 0, or 2 after one line when it cannot be written."""
    if not args.out:
        return 0
    from mmstudio.export.html_report import write_html_report

    try:
        write_html_report(command, report, args.out, *names)
    except OSError as exc:
        print(f"mmstudio {command}: --out {args.out}: cannot write ({exc.strerror or exc})", file=sys.stderr)
        return 2
    print(f"wrote {args.out}", file=sys.stderr)
    return 0
