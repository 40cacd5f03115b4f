"""The base of every principle's result: plain data (arrays, numbers, a statement) and
``to_dict()`` for JSON."""

from __future__ import annotations

import dataclasses

from mmstudio.core.values import plain


class Result:
    """Mixin for the principles' result dataclasses: ``to_dict()`` turns arrays into lists."""

    statement: str
    name: str

    def to_dict(self) -> dict:
        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def summary(self) -> list[str]:  # pragma: no cover - every result overrides it
        return []
