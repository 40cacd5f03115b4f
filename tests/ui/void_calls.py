"""Counting the Qt calls that return nothing, for the None-refcount regression test.

PySide6 6.12.0 on Python 3.11 drops a reference to ``None`` on each such call. The set of
void methods comes from the type stubs PySide6 ships (``-> None`` in every overload); the
calls themselves are seen with ``sys.setprofile`` (shiboken methods are reported as C calls).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MODULES = ("QtCore", "QtGui", "QtWidgets")


def void_methods() -> set[str]:
    """``"Class.method"`` for every method of QtCore/QtGui/QtWidgets whose overloads all return None."""
    import PySide6

    void: set[str] = set()
    for module in MODULES:
        tree = ast.parse((Path(PySide6.__file__).parent / f"{module}.pyi").read_text())
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            returns: dict[str, set[bool]] = {}
            for fn in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
                is_none = isinstance(fn.returns, ast.Constant) and fn.returns.value is None
                returns.setdefault(fn.name, set()).add(is_none)
            void |= {f"{cls.name}.{name}" for name, kinds in returns.items() if kinds == {True}}
    return void


class VoidCallCounter:
    """``with VoidCallCounter() as counter: ...`` counts the void Qt calls made from Python inside."""

    def __init__(self):
        self.void = void_methods()
        self.calls: dict[str, int] = {}

    def _profile(self, frame, event, arg) -> None:
        if event != "c_call":
            return
        owner = getattr(arg, "__self__", None)
        name = getattr(arg, "__name__", "")
        if isinstance(owner, type):        # a static method: QToolTip.hideText
            key = f"{owner.__name__}.{name}"
        else:
            key = getattr(arg, "__qualname__", name)
        if key in self.void:
            self.calls[key] = self.calls.get(key, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def __enter__(self) -> "VoidCallCounter":
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc) -> None:
        sys.setprofile(None)
