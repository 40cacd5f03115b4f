"""The base of every principle's result: plain data (arrays, numbers, a statement) and
``to_dict()`` for JSON."""

from __future__ import annotations

import dataclasses
import math

import numpy as np


class Result:
    """Mixin for the principles' result dataclasses: ``to_dict()`` turns arrays into lists."""

    statement: str
    name: str

    def to_dict(self) -> dict:
        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def summary(self) -> list[str]:  # pragma: no cover - every result overrides it
        return []


def plain(value):
    """Numbers, strings, lists and dicts only (NaN and infinities become None)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value
