"""Metrics reports (alignment, fusion…) as JSON and as a flat two-column CSV.

A report is a nested dict, e.g. :func:`mmstudio.analysis.alignment.report.align_report`'s, or any object
with ``to_dict()`` (or a dataclass). numpy scalars and arrays become plain numbers and lists,
tuples and sets lists, paths text; NaN and infinities become ``null`` (JSON has no such numbers).

The CSV has a header ``key,value`` and one row per leaf: the key is the path of dict keys and list
positions joined by dots (``pairs.0.retrieval.1.R@1``); a value is a number, ``true``/``false``,
text, or blank for null. Empty dicts and lists are leaves written as ``{}`` and ``[]``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from mmstudio.core.values import plain


def flatten(report) -> list[tuple[str, object]]:
    """(key path, leaf value) pairs of a report, in its order."""
    return _flatten(plain(report), "")


def _flatten(value, prefix: str) -> list[tuple[str, object]]:
    if isinstance(value, dict) and value:
        items = value.items()
    elif isinstance(value, list) and value:
        items = enumerate(value)
    else:
        return [(prefix, value)]
    return [pair for k, v in items for pair in _flatten(v, f"{prefix}.{k}" if prefix else str(k))]


def csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def write_json(report, path) -> Path:
    from mmstudio.core.atomic import atomic_write

    path = Path(path)
    text = json.dumps(plain(report), indent=1, ensure_ascii=False, allow_nan=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"))
    return path


def write_csv(report, path) -> Path:
    from mmstudio.core.atomic import atomic_write

    path = Path(path)
    rows = flatten(report)

    def write(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh, lineterminator="\n")
            out.writerow(["key", "value"])
            out.writerows((key, csv_value(value)) for key, value in rows)

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, write)
    return path


WRITERS = {".json": write_json, ".csv": write_csv}


def write_report(report, path) -> Path:
    """Write a report as JSON or CSV, chosen by the suffix of ``path``."""
    writer = WRITERS.get(Path(path).suffix.lower())
    if writer is None:
        raise ValueError(f"{path}: a report is written as .json or .csv")
    return writer(report, path)
