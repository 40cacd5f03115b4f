"""One self-contained HTML file per command's result (``mmstudio compare|align|fuse --out REPORT.html``):
the figures (inline SVG) and the tables, readable in any browser, with nothing fetched.

The sections of each command live beside this module (``html_compare``, ``html_align``, ``html_fuse``),
the page's pieces in :mod:`mmstudio.export.html_page`, the figures in :mod:`mmstudio.export.svg_figures`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from mmstudio.core.values import plain


def _sections(kind: str):
    from mmstudio.export.html_align import align_sections
    from mmstudio.export.html_compare import compare_sections
    from mmstudio.export.html_fuse import fuse_sections

    return {"compare": compare_sections, "align": align_sections, "fuse": fuse_sections}[kind]


KINDS = ("compare", "align", "fuse")
SUFFIXES = (".html", ".htm")


def html_report(kind: str, report, *names: str, when: datetime | None = None) -> str:
    """The page of ``report`` (the dict the command prints with ``--json``); ``names``: the inputs'
    names as the command was given them (compare: A and B; align: the table)."""
    from mmstudio import __version__
    from mmstudio.export.html_page import esc, page

    if kind not in KINDS:
        raise ValueError(f"no HTML report for {kind!r}; one of {', '.join(KINDS)}")
    when = when or datetime.now().astimezone()
    title, meta, body = _sections(kind)(plain(report), *names)
    stamp = f"written by mmstudio {__version__} on {when.isoformat(timespec='seconds')}"
    return page(title, meta + [esc(stamp)], body, f"{stamp}; the numbers are those of `mmstudio {kind} --json`.")


def write_html_report(kind: str, report, path, *names: str) -> Path:
    """Write the page atomically (the old file stays whole until the new one is complete)."""
    from mmstudio.core.atomic import atomic_write_text

    text = html_report(kind, report, *names)
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, text)
