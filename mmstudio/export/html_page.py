"""The pieces of an HTML report: one self-contained page (inline CSS, figures as inline SVG, no
script, nothing fetched), sections, paragraphs, tables and figures.

A number taken from a report is a :class:`Num`: shown rounded, it carries its exact value
(``data-value``) and its place in the report (``data-key``: the JSON list of dict keys and list
positions), so the page can be checked against the command's ``--json``. Every text is escaped.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from html import escape

from mmstudio.core.values import MISSING

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1040px;margin:24px auto;
padding:0 16px;color:#1a1a1a;line-height:1.45;background:#fff}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:1.6em}
h3{font-size:1.05em;margin-top:1.3em}
.meta{color:#555;font-size:.9em;margin:0}.settings{font-size:.92em;color:#333}
table{border-collapse:collapse;margin:.6em 0 1em;font-size:.88em}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.yes{color:#0a6b2e}td.no{color:#8a5a00}
figure{margin:.8em 0}figcaption{font-size:.85em;color:#555;max-width:720px}
svg.figure{max-width:100%;height:auto}details{margin:.4em 0 1em}summary{cursor:pointer;color:#333}
.note{background:#fff8e1;border-left:3px solid #e0a800;padding:4px 10px}
caption{caption-side:top;text-align:left;font-weight:600;padding:2px 0;white-space:nowrap}
.row{display:flex;flex-wrap:wrap;gap:4px 28px;align-items:flex-start}.row>figure,.row>table{margin-top:.4em}
footer{margin-top:2.5em;font-size:.8em;color:#777}
"""


def esc(text) -> str:
    return escape(str(text), quote=True)


@dataclass
class Num:
    """A number of the report at ``key``: shown with ``digits`` decimals (an int as it is)."""
    value: object
    key: list
    digits: int = 3
    signed: bool = False

    def text(self) -> str:
        v = self.value
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, int):
            return str(v)
        if v is None or not math.isfinite(v):
            return MISSING
        v = round(v, self.digits) + 0.0     # a value that rounds to -0 is shown as 0
        return f"{v:+.{self.digits}f}" if self.signed else f"{v:.{self.digits}f}"

    def attrs(self) -> str:
        return f' data-key="{esc(json.dumps(self.key))}" data-value="{esc(json.dumps(self.value))}"'

    def html(self) -> str:
        return f"<span{self.attrs()}>{esc(self.text())}</span>"


def at(report: dict, key: list, digits: int = 3, signed: bool = False) -> Num:
    """The number of ``report`` at ``key`` (dict keys and list positions)."""
    value = report
    for part in key:
        value = value[part]
    return Num(value, list(key), digits, signed)


def inline(*parts) -> str:
    """Text and numbers as one run of HTML."""
    return "".join(p.html() if isinstance(p, Num) else esc(p) for p in parts)


def para(*parts, cls: str = "") -> str:
    return f'<p{f" class={chr(34)}{cls}{chr(34)}" if cls else ""}>{inline(*parts)}</p>'


def cell(value) -> str:
    if isinstance(value, Num):
        return f'<td class="num"{value.attrs()}>{esc(value.text())}</td>'
    if isinstance(value, tuple):  # several parts in one cell
        return f"<td>{inline(*value)}</td>"
    return f"<td>{esc(value)}</td>"


def table(headers: list[str], rows: list[list], caption: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure(svg: str, caption: str = "") -> str:
    return f"<figure>{svg}" + (f"<figcaption>{esc(caption)}</figcaption>" if caption else "") + "</figure>"


def row(*parts: str) -> str:
    """Parts side by side, wrapping onto the next line where the page is narrow."""
    return f'<div class="row">{"".join(parts)}</div>'


def heading(text: str, level: int = 2) -> str:
    return f"<h{level}>{esc(text)}</h{level}>"


def details(summary: str, *parts: str) -> str:
    return f"<details><summary>{esc(summary)}</summary>{''.join(parts)}</details>"


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def page(title: str, meta: list[str], body: list[str], footer: str) -> str:
    """The whole document: a title, a few meta lines (HTML, e.g. from :func:`inline`), the body's
    parts in order, a footer."""
    lines = "".join(f'<p class="meta">{m}</p>' for m in meta)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{esc(title)}</h1>{lines}{''.join(body)}<footer>{esc(footer)}</footer></body></html>\n")
