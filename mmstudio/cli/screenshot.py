"""``mmstudio screenshot OUT.png [PATHS...]``: the window, offscreen, once loading and projection are done."""

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("out", metavar="OUT.png")
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files, folders or manifests (default: the demo world)")
    parser.add_argument("--panel", help="bring this panel to the front (Log, Library, Inspector, …)")
    parser.add_argument("--size", default="1400x860", help="window size WxH (default: %(default)s)")
    parser.add_argument("--select", metavar="ID", help="select the items of this sample id")
    parser.add_argument("--query", metavar="TEXT", help="type this query")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the window to settle")


def run(args) -> int:
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"mmstudio screenshot: --size {args.size}: write WIDTHxHEIGHT, e.g. 1400x860", file=sys.stderr)
        return 2
    from mmstudio.ui.screenshot import screenshot

    try:
        out = screenshot(args.out, args.paths, panel=args.panel, size=(width, height), select=args.select,
                         query=args.query, timeout=args.timeout)
    except (TimeoutError, ValueError) as exc:
        print(f"mmstudio screenshot: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out}", file=sys.stderr)
    return 0
