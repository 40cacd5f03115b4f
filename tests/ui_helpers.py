"""Helpers for the window tests (tests/ui/)."""

from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"


def settled(window) -> bool:
    """Nothing but the UMAP warm-up running, a table, and its final layout."""
    ws = window.workspace
    busy = [j for j in window.runner.running if j.kind != "warm-up"]
    return not busy and ws.table is not None and ws.layout_final
