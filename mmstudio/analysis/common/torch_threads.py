"""One torch thread for small problems.

Below some tens of millions of multiply-adds per training step, two threads win at best ~2×
on an idle machine, and on a busy one (another job on the other core, e.g. a UMAP fit in the
background) every parallel operation waits for a descheduled thread and they lose far more:
the diagnosis MLP on 300 pairs ran ~100× slower per step with two threads than with one on
the 2-core CPU while another process kept a core busy. ``torch.set_num_threads`` acts on the
calling thread only with torch's OpenMP backend (the CPU builds for Linux and Windows), so a
job on a worker thread slows down no one else; the previous value is restored on the way out.
"""

from __future__ import annotations

from contextlib import contextmanager

SMALL = 5e7  # multiply-adds per step below which one thread is used


@contextmanager
def threads_for(work: float, small: float = SMALL):
    """Run the block with one torch thread when ``work`` (multiply-adds per step) is small."""
    import torch

    before = torch.get_num_threads()
    if work < small and before > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
