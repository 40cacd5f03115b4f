"""Values as people and JSON read them: one converter to JSON-safe data and one number formatter,
used by every report, command and panel."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

MISSING = "—"  # how a number that is not there (None, NaN, an infinity) is shown


def plain(value):
    """``value`` with only dicts, lists, str, int, float, bool and None inside (JSON-ready): numpy
    arrays and scalars become Python ones, NaN and infinities None, sets sorted lists, paths and
    bytes text, objects with ``to_dict()`` and dataclasses their fields."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [plain(v) for v in sorted(value, key=str)]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return plain(value.item())
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if hasattr(value, "to_dict"):
        return plain(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return str(value)


def num(value, digits: int = 3) -> str:
    """``value`` with ``digits`` decimals, or "—" when there is no finite number."""
    if value is None:
        return MISSING
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(value):
        return MISSING
    return f"{round(value, digits) + 0.0:.{digits}f}"   # + 0.0: a value that rounds to -0 is 0
