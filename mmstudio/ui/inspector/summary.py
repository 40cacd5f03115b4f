"""The inspector's summary of a multi-selection: how many items, of which modalities and labels, a
strip of their first pictures and the first few names."""

from __future__ import annotations

import html

import numpy as np

from mmstudio.core.tables.categories import categories, value_counts
from mmstudio.ui.thumbnail_loader import PENDING

THUMBS = 6          # pictures in the strip
NAMES = 5           # sample ids named
LABELS = 6          # labels counted by name (the rest summed)
THUMB = {"image": (48, 48), "audio": (64, 24)}


def _counted(table, column: str, rows: np.ndarray, limit: int) -> str:
    """The rows' values of ``column`` counted, most frequent first."""
    counted = value_counts(table, column, rows)
    ranked = sorted(counted.items(), key=lambda p: (-p[1], p[0]))
    parts = [f"{html.escape(name)} {k:,}" for name, k in ranked[:limit]]
    rest = ranked[limit:]
    if rest:
        parts.append(f"{len(rest):,} more ({sum(k for _, k in rest):,} items)")
    return " · ".join(parts)


def summary_html(table, rows, pictures) -> tuple[str, set]:
    """The summary's rich text and the keys of the pictures still being decoded (``pictures``: a
    :class:`~mmstudio.ui.thumbnail_loader.QtThumbnails`; a picture not ready yet is left out). Vectorised
    over the rows: no Python object per selected row."""
    rows = np.asarray(rows, np.int64)
    found = categories(table, "sample_id")
    sample = found.codes[rows]
    seen = np.bincount(sample + 1, minlength=len(found.names) + 1)   # per sample code (+1: no id): O(rows)
    samples = int(np.count_nonzero(seen))
    lines = [f"<b>{len(rows):,} items selected</b> ({samples:,} sample{'s' if samples != 1 else ''})",
             f"modality: {_counted(table, 'modality', rows, 3)}",
             f"label: {_counted(table, 'label', rows, LABELS)}"]
    strip, waiting = [], set()
    for r in _pictured(table, rows):
        modality = str(table.modality[r])
        key = pictures.key(modality, str(table.path[r]), *THUMB[modality], form="uri")
        uri = pictures.get(*key[:4], form="uri")
        if uri is PENDING:
            waiting.add(key)
        elif uri is not None:
            strip.append(f'<img src="{uri}"> ')
    if strip:
        lines.append("".join(strip))
    named: list[str] = []                  # the first samples in the order selected
    for start in range(0, len(rows), 64):
        for row in rows[start:start + 64].tolist():
            name = str(table.sample_id[row])
            if name not in named:
                named.append(name)
        if len(named) >= NAMES:
            break
    named = named[:NAMES]
    more = f", … ({samples - NAMES:,} more)" if samples > NAMES else ""
    lines.append("samples: " + ", ".join(html.escape(s) for s in named) + more)
    return "<br>".join(lines), waiting


def _pictured(table, rows: np.ndarray) -> list[int]:
    """The first ``THUMBS`` of ``rows`` with a picture (an image or a sound with a file), by the codes of
    the modality and path columns."""
    modality, path = categories(table, "modality"), categories(table, "path")
    wanted = np.append(np.isin(modality.names, list(THUMB)), False)      # code -1 (no modality): the last
    codes = path.codes[rows]
    empty = len(path.names) > 0 and path.names[0] == ""                 # "" sorts first
    keep = wanted[modality.codes[rows]] & (codes >= 0) & ~((codes == 0) & empty)
    return [int(r) for r in rows[keep][:THUMBS].tolist()]
