"""Figures as SVG text, drawn without a plotting library (the HTML report embeds them inline):
horizontal bar charts, grouped, with interval whiskers; line plots; a heat map (a PNG inside the
SVG) with its colour bar.

Every text is escaped: labels and sample ids come from the user's data. A mark that stands for a
number of a report carries that number's place in the report (``data-key``, a JSON list of the
dict keys and list positions) and a ``<title>`` (the browser's tooltip) with the value.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import math
from dataclasses import dataclass
from html import escape

import numpy as np

from mmstudio.core.values import num

# Okabe & Ito's colour-blind safe palette (less its yellow, faint on white), then a few of Tol's
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#882255",
           "#999933", "#44AA99", "#6E6E6E", "#AA4499")
DASHES = ("", "6 3", "2 3")
FONT = 11
_ids = itertools.count()


@dataclass
class Series:
    """One series of a chart: a value per category (None: not there), optional interval ends, and
    each value's key in the report (``data-key``)."""
    name: str
    values: list
    low: list | None = None
    high: list | None = None
    keys: list | None = None


def esc(text) -> str:
    return escape(str(text), quote=True)


def text_width(text: str, size: float = FONT) -> float:
    """A width estimate for ``text`` in a sans-serif font (no font metrics without a renderer)."""
    return 0.6 * size * len(str(text))


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def dash(i: int) -> str:
    return DASHES[(i // len(PALETTE)) % len(DASHES)]


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if hi <= lo:  # one value: a small range around it
        half = 0.1 * max(abs(lo), 1.0)
        lo, hi = lo - half, hi + half
    raw = (hi - lo) / max(n, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    return [round(i * step, 12) for i in range(first, max(last, first + 1) + 1)]


def tick_text(value: float, ticks: list[float]) -> str:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    if abs(value) < 1e-9 * max(step, 1e-300):
        value = 0.0  # never "−0.0"
    digits = 0
    while digits < 12 and abs(step * 10 ** digits - round(step * 10 ** digits)) > 1e-6:
        digits += 1
    return f"{round(value, digits) + 0.0:.{digits}f}".replace("-", "−")


def _key(key) -> str:
    return f' data-key="{esc(json.dumps(key))}"' if key is not None else ""


def _tip(*parts) -> str:
    return f"<title>{esc(' '.join(str(p) for p in parts if p != ''))}</title>"


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="figure" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="{esc(title)}" '
            f'font-family="sans-serif" font-size="{FONT}">' + "".join(body) + "</svg>")


def _legend(names: list[str], x: float, y: float, width: float, line: bool = False) -> tuple[list[str], float]:
    """Swatches and names in rows from (x, y) within ``width``; returns the marks and the height used."""
    out, cx, cy = [], x, y
    for i, name in enumerate(names):
        w = 18 + text_width(name) + 14
        if cx > x and cx + w > x + width:
            cx, cy = x, cy + 16
        if line:
            out.append(f'<line x1="{cx:.1f}" y1="{cy + 5:.1f}" x2="{cx + 14:.1f}" y2="{cy + 5:.1f}" '
                       f'stroke="{colour(i)}" stroke-width="2" stroke-dasharray="{dash(i)}"/>')
        else:
            out.append(f'<rect x="{cx:.1f}" y="{cy:.1f}" width="12" height="10" fill="{colour(i)}"/>')
        out.append(f'<text x="{cx + 18:.1f}" y="{cy + 9:.1f}">{esc(name)}</text>')
        cx += w
    return out, (cy - y) + 16 if names else 0


def bar_chart(categories: list[str], series: list[Series], *, title: str, x_label: str = "",
              lo: float | None = None, hi: float | None = None, width: int = 640, digits: int = 3) -> str:
    """Horizontal bars: a band per category, one bar per series in it, a whisker where the series has
    an interval. The value axis spans the values, their intervals, 0 and ``lo``/``hi`` when given."""
    bar_h = 12 if len(series) > 1 else 16
    band = bar_h * len(series) + 8
    left = 12 + min(260, max([text_width(c) for c in categories] + [30]))
    names = [s.name for s in series] if len(series) > 1 else []
    legend, legend_h = _legend(names, left, 26, width - left - 16)
    top = 30 + legend_h + 4
    plot_h = band * max(len(categories), 1)
    height = top + plot_h + 44
    found = [v for s in series for part in (s.values, s.low or [], s.high or []) for v in part
             if v is not None and math.isfinite(v)]
    ends = found + [0.0] + [v for v in (lo, hi) if v is not None]
    ticks = nice_ticks(min(ends), max(ends))
    x0, x1 = left, width - 16
    t0, t1 = ticks[0], ticks[-1]

    def sx(v):
        return x0 + (v - t0) / (t1 - t0) * (x1 - x0)

    body = [f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" font-size="{FONT + 2}" '
            f'font-weight="bold">{esc(title)}</text>', *legend]
    for t in ticks:
        body.append(f'<line x1="{sx(t):.1f}" y1="{top:.1f}" x2="{sx(t):.1f}" y2="{top + plot_h:.1f}" '
                    f'stroke="#ddd"/><text x="{sx(t):.1f}" y="{top + plot_h + 14:.1f}" '
                    f'text-anchor="middle">{esc(tick_text(t, ticks))}</text>')
    body.append(f'<line x1="{sx(0):.1f}" y1="{top:.1f}" x2="{sx(0):.1f}" y2="{top + plot_h:.1f}" stroke="#444"/>')
    body.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{top + plot_h + 32:.1f}" text-anchor="middle">{esc(x_label)}</text>')
    for ci, category in enumerate(categories):
        y = top + ci * band + 4
        label = category if text_width(category) <= 260 else category[:40] + "…"
        body.append(f'<text x="{left - 6:.1f}" y="{y + band / 2:.1f}" text-anchor="end" '
                    f'dominant-baseline="middle">{_tip(category)}{esc(label)}</text>')
        for si, s in enumerate(series):
            by = y + si * bar_h
            body += _bar(s, ci, category, by, bar_h, sx, colour(si), digits)
    return _svg(width, height, body, title)


def _bar(s: Series, i: int, category: str, y: float, h: float, sx, fill: str, digits: int) -> list[str]:
    value = s.values[i]
    key = s.keys[i] if s.keys else None
    name = f"{s.name}:" if s.name else ""
    if value is None or not math.isfinite(value):
        return [f'<text x="{sx(0) + 4:.1f}" y="{y + h / 2:.1f}" dominant-baseline="middle" fill="#888">'
                f'{_tip(category, name, "no value")}—</text>']
    a, b = sorted((sx(0), sx(value)))
    low = s.low[i] if s.low else None
    high = s.high[i] if s.high else None
    interval = f"[{num(low, digits)}, {num(high, digits)}]" if low is not None and high is not None else ""
    faint = ' fill-opacity="0.55"' if interval else ""  # the whisker stays visible across the bar
    if b - a < 2:  # a value at (or next to) 0 stays visible as a thin mark on the axis
        a, b = (a + b) / 2 - 1, (a + b) / 2 + 1
    out = [f'<rect class="bar" x="{a:.1f}" y="{y:.1f}" width="{b - a:.1f}" height="{h - 2:.1f}" '
           f'fill="{fill}"{faint}{_key(key)}>{_tip(category, name, num(value, digits), interval)}</rect>']
    if interval:
        cy = y + (h - 2) / 2
        out.append(f'<path class="whisker" d="M{sx(low):.1f} {cy:.1f}H{sx(high):.1f}M{sx(low):.1f} {cy - 3:.1f}'
                   f'V{cy + 3:.1f}M{sx(high):.1f} {cy - 3:.1f}V{cy + 3:.1f}" stroke="#222" stroke-width="1.2" '
                   f'fill="none"/>')
    return out


def line_plot(x: list[float], series: list[Series], *, title: str, x_label: str = "", y_label: str = "",
              lo: float | None = None, hi: float | None = None, width: int = 640, height: int = 300,
              marker_x: float | None = None, digits: int = 3) -> str:
    """Lines of ``series`` over ``x`` (a point per value, None breaks the line); a dotted vertical
    line at ``marker_x`` when given."""
    legend, legend_h = _legend([s.name for s in series], 56, 26, width - 72, line=True)
    top = 30 + legend_h + 4
    left, right, bottom = 56, width - 16, height - 40
    height_total = height + legend_h
    bottom += legend_h
    ys = [v for s in series for v in s.values if v is not None and math.isfinite(v)]
    yt = nice_ticks(min(ys + [v for v in (lo,) if v is not None] or [0.0]),
                    max(ys + [v for v in (hi,) if v is not None] or [1.0]), 5)
    xt = nice_ticks(min(x), max(x), 6)

    def sx(v):
        return left + (v - xt[0]) / (xt[-1] - xt[0]) * (right - left)

    def sy(v):
        return bottom - (v - yt[0]) / (yt[-1] - yt[0]) * (bottom - top)

    body = [f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" font-size="{FONT + 2}" '
            f'font-weight="bold">{esc(title)}</text>', *legend]
    for t in yt:
        body.append(f'<line x1="{left}" y1="{sy(t):.1f}" x2="{right}" y2="{sy(t):.1f}" stroke="#ddd"/>'
                    f'<text x="{left - 4}" y="{sy(t):.1f}" text-anchor="end" dominant-baseline="middle">'
                    f'{esc(tick_text(t, yt))}</text>')
    for t in xt:
        body.append(f'<text x="{sx(t):.1f}" y="{bottom + 14:.1f}" text-anchor="middle">{esc(tick_text(t, xt))}</text>')
    body.append(f'<rect x="{left}" y="{top:.1f}" width="{right - left}" height="{bottom - top:.1f}" fill="none" '
                f'stroke="#444"/>')
    body.append(f'<text x="{(left + right) / 2:.1f}" y="{bottom + 32:.1f}" text-anchor="middle">{esc(x_label)}</text>')
    body.append(f'<text transform="translate(14 {(top + bottom) / 2:.1f}) rotate(-90)" text-anchor="middle">'
                f'{esc(y_label)}</text>')
    if marker_x is not None and xt[0] <= marker_x <= xt[-1]:
        body.append(f'<line x1="{sx(marker_x):.1f}" y1="{top:.1f}" x2="{sx(marker_x):.1f}" y2="{bottom:.1f}" '
                    f'stroke="#888" stroke-dasharray="2 2"/>')
    for si, s in enumerate(series):
        runs, run = [], []
        for xv, yv in zip(x, s.values):
            if yv is None or not math.isfinite(yv):
                runs, run = runs + [run] if run else runs, []
            else:
                run.append(f"{sx(xv):.1f},{sy(yv):.1f}")
        runs += [run] if run else []
        for r in runs:
            body.append(f'<polyline class="line" points="{" ".join(r)}" fill="none" stroke="{colour(si)}" '
                        f'stroke-width="1.8" stroke-dasharray="{dash(si)}">{_tip(s.name)}</polyline>')
        for i, (xv, yv) in enumerate(zip(x, s.values)):
            if yv is not None and math.isfinite(yv):
                key = s.keys[i] if s.keys else None
                body.append(f'<circle cx="{sx(xv):.1f}" cy="{sy(yv):.1f}" r="2.2" fill="{colour(si)}"{_key(key)}>'
                            f'{_tip(s.name, f"at {num(xv, digits)}:", num(yv, digits))}</circle>')
    return _svg(width, height_total, body, title)


def png_data_uri(rgb: np.ndarray) -> str:
    """(h, w, 3) uint8 → a ``data:image/png;base64,…`` URI."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, np.uint8), "RGB").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def heat_map(matrix, *, title: str, row_label: str, column_label: str, lo: float, hi: float,
             cmap: str = "viridis", size: int = 360, digits: int = 2) -> str:
    """A matrix as a picture (one pixel per cell, drawn sharp at ``size``), its axes' names and a
    colour bar from ``lo`` to ``hi``. None cells are grey."""
    from mmstudio.export.colormaps import apply, lut

    values = np.array([[np.nan if v is None else v for v in row] for row in matrix], np.float64)
    rgb = apply(values, cmap, lo, hi)
    rgb[np.isnan(values)] = (200, 200, 200)
    left, top = 40, 30
    gid = f"cbar{next(_ids)}"
    stops = "".join(f'<stop offset="{i / 8:.3f}" stop-color="rgb{tuple(int(c) for c in lut(cmap)[round(i * 255 / 8)])}"/>'
                    for i in range(9))
    bar_x = left + size + 16
    body = [f'<text x="{left + size / 2:.1f}" y="16" text-anchor="middle" font-size="{FONT + 2}" '
            f'font-weight="bold">{esc(title)}</text>',
            f'<image x="{left}" y="{top}" width="{size}" height="{size}" preserveAspectRatio="none" '
            f'style="image-rendering:pixelated" href="{png_data_uri(rgb)}"/>',
            f'<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="none" stroke="#444"/>',
            f'<text x="{left + size / 2:.1f}" y="{top + size + 16:.1f}" text-anchor="middle">{esc(column_label)}</text>',
            f'<text transform="translate({left - 10} {top + size / 2:.1f}) rotate(-90)" text-anchor="middle">'
            f'{esc(row_label)}</text>',
            f'<defs><linearGradient id="{gid}" x1="0" y1="1" x2="0" y2="0">{stops}</linearGradient></defs>',
            f'<rect x="{bar_x}" y="{top}" width="14" height="{size}" fill="url(#{gid})" stroke="#444"/>',
            f'<text x="{bar_x + 18}" y="{top + 8}">{esc(num(hi, digits))}</text>',
            f'<text x="{bar_x + 18}" y="{top + size}">{esc(num(lo, digits))}</text>']
    return _svg(bar_x + 70, top + size + 26, body, title)
