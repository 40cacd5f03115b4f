"""Argument types that refuse a value out of range while the command line is parsed.

Each is a callable for argparse's ``type=``: it returns the parsed value or raises
``argparse.ArgumentTypeError`` with the reason, which argparse prints as
``mmstudio CMD: error: argument --opt: REASON`` with exit code 2, before any work starts.
"""

from __future__ import annotations

import argparse
import math


def _number(text: str, kind):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None


def int_at_least(low: int):
    def parse(text: str) -> int:
        value = _number(text, int)
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is too small: give {low} or more")
        return value

    parse.__name__ = f"integer ≥ {low}"
    return parse


positive_int = int_at_least(1)
count = int_at_least(0)


def seed(text: str) -> int:
    """A random seed: 0 to 2**32 − 1 (what numpy, torch and umap-learn all take)."""
    value = int_at_least(0)(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"{value} is too large: give 0 to {2**32 - 1}")
    return value


def finite_float(text: str) -> float:
    value = _number(text, float)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number")
    return value


def float_in(low: float, high: float | None = None, *, open_low: bool = False, open_high: bool = False):
    """A finite float from ``low`` to ``high`` (``None``: no upper bound); ``open_*`` leave an end out."""
    def parse(text: str) -> float:
        value = finite_float(text)
        too_low = value <= low if open_low else value < low
        too_high = high is not None and (value >= high if open_high else value > high)
        if too_low or too_high:
            lower = f"above {low:g}" if open_low else f"{low:g} or more"
            if high is not None:
                lower = f"from {low:g}{' (excluded)' if open_low else ''} to {high:g}{' (excluded)' if open_high else ''}"
            raise argparse.ArgumentTypeError(f"{text} is out of range: give a number {lower}")
        return value

    parse.__name__ = "number"
    return parse


positive_float = float_in(0.0, open_low=True)
non_negative_float = float_in(0.0)
unit_interval = float_in(0.0, 1.0)


def non_empty_text(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty")
    return text


def size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` in pixels, each from 64 to 16384."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text}: write WIDTHxHEIGHT, e.g. 1400x860") from None
    if not (64 <= width <= 16384 and 64 <= height <= 16384):
        raise argparse.ArgumentTypeError(f"{text}: width and height must be from 64 to 16384 pixels")
    return width, height


def float_list(text: str) -> list[float]:
    """Comma-separated finite numbers."""
    values = [v for v in text.split(",") if v.strip()]
    if not values:
        raise argparse.ArgumentTypeError("give comma-separated numbers")
    return [finite_float(v.strip()) for v in values]


def landmarks(text: str):
    """``auto``, ``off`` or a number of landmarks (10 or more)."""
    if text in ("auto", "off"):
        return None if text == "off" else text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not 'auto', 'off' or a number of landmarks") from None
    if value < 10:
        raise argparse.ArgumentTypeError(f"{value} is too few landmarks: give 10 or more (or 'off')")
    return value
