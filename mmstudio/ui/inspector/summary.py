"""The inspector's summary of a multi-selection: how many items, of which modalities and labels, a
strip of their first pictures and the first few names."""

from __future__ import annotations

import html
from collections import Counter

from mmstudio.ui.thumbnail_loader import PENDING

THUMBS = 6          # pictures in the strip
NAMES = 5           # sample ids named
LABELS = 6          # labels counted by name (the rest summed)
THUMB = {"image": (48, 48), "audio": (64, 24)}


def _counted(values, limit: int) -> str:
    ranked = sorted(Counter("—" if v is None else str(v) for v in values).items(), key=lambda p: (-p[1], p[0]))
    parts = [f"{html.escape(name)} {n:,}" for name, n in ranked[:limit]]
    rest = ranked[limit:]
    if rest:
        parts.append(f"{len(rest):,} more ({sum(n for _, n in rest):,} items)")
    return " · ".join(parts)


def summary_html(table, rows, pictures) -> tuple[str, set]:
    """The summary's rich text and the keys of the pictures still being decoded (``pictures``: a
    :class:`~mmstudio.ui.thumbnail_loader.QtThumbnails`; a picture not ready yet is left out)."""
    rows = [int(r) for r in rows]
    samples = list(dict.fromkeys(str(table.sample_id[r]) for r in rows))
    lines = [f"<b>{len(rows):,} items selected</b> ({len(samples):,} sample{'s' if len(samples) != 1 else ''})",
             f"modality: {_counted(table.modality[rows], 3)}",
             f"label: {_counted(table.label[rows], LABELS)}"]
    strip, waiting = [], set()
    pictured = [r for r in rows if str(table.modality[r]) in THUMB and table.path[r]][:THUMBS]
    for r in pictured:
        modality = str(table.modality[r])
        key = pictures.key(modality, str(table.path[r]), *THUMB[modality], form="uri")
        uri = pictures.get(*key[:4], form="uri")
        if uri is PENDING:
            waiting.add(key)
        elif uri is not None:
            strip.append(f'<img src="{uri}"> ')
    if strip:
        lines.append("".join(strip))
    more = f", … ({len(samples) - NAMES:,} more)" if len(samples) > NAMES else ""
    lines.append("samples: " + ", ".join(html.escape(s) for s in samples[:NAMES]) + more)
    return "<br>".join(lines), waiting
