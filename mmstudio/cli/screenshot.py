"""``mmstudio screenshot OUT.png [PATHS...]``: the window, offscreen, once loading and projection are done."""

from __future__ import annotations

import sys

from mmstudio.cli.argtypes import non_empty_text, positive_float, size


def add_arguments(parser) -> None:
    parser.add_argument("out", metavar="OUT.png", help="the picture to write (.png, .jpg or .bmp)")
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="files, folders, manifests, tables or a project (default: the demo world)")
    parser.add_argument("--panel", type=non_empty_text,
                        help="raise this panel (Alignment, Fusion lab, Principles, Log, …); PANEL/TAB also picks one "
                             "of its tabs, e.g. 'Alignment/Aligner trainer'")
    parser.add_argument("--size", type=size, default=(1400, 860), metavar="WxH",
                        help="window size in pixels (default: 1400x860)")
    parser.add_argument("--select", metavar="ID", type=non_empty_text, help="select the items of this sample id")
    parser.add_argument("--query", metavar="TEXT", type=non_empty_text, help="type this query")
    parser.add_argument("--timeout", type=positive_float, default=600,
                        help="seconds to wait for the window to settle (default: %(default)s)")


def run(args) -> int:
    from mmstudio.cli.outputs import output_problem
    from mmstudio.ui.screenshot import FORMATS, ScreenshotError, screenshot

    problem = output_problem(args.out, tuple(FORMATS), make_parents=True)
    if problem:
        print(f"mmstudio screenshot: {problem}", file=sys.stderr)
        return 2
    try:
        out = screenshot(args.out, args.paths, panel=args.panel, size=args.size, select=args.select,
                         query=args.query, timeout=args.timeout)
    except ScreenshotError as exc:
        print(f"mmstudio screenshot: {exc}", file=sys.stderr)
        return exc.code
    print(f"wrote {out}", file=sys.stderr)
    return 0
