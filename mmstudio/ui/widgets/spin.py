"""Spin boxes for the panels' numeric settings: the value counts once typing is finished."""

from __future__ import annotations

from PySide6 import QtWidgets


def spin(low: float, high: float, value: float, step: float, decimals: int = 2, tip: str = "") -> QtWidgets.QDoubleSpinBox:
    box = QtWidgets.QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setValue(value)
    box.setKeyboardTracking(False)
    if tip:
        box.setToolTip(tip)
    return box


def int_spin(low: int, high: int, value: int, tip: str = "") -> QtWidgets.QSpinBox:
    box = QtWidgets.QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setKeyboardTracking(False)
    if tip:
        box.setToolTip(tip)
    return box
