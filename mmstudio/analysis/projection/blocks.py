"""Work over blocks of rows shared by a few threads, each with one BLAS thread.

numpy's OpenBLAS splits a matrix product among its own threads, which wait for each other by spinning:
on a 2-core machine that other work keeps busy, a 100,000 × 512 Gram matrix took 1.7–3.5 s on two BLAS
threads and 0.25 s on one (measured; ``benchmarks/README.md``). :func:`run_blocks` keeps BLAS on one thread
and gives each of ``os.cpu_count()`` threads its own blocks instead (numpy and the numba kernels release
the GIL), so two cores are used when they are free and nothing spins when they are not.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from mmstudio.core.jobs import Job

_lock = threading.Lock()
_held = {"count": 0, "limiter": None}


@contextmanager
def one_blas_thread():
    """numpy's BLAS on one thread while any thread is inside the block (a no-op without threadpoolctl):
    the first to enter sets the limit, the last to leave restores what was there before."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - comes with scikit-learn
        yield
        return
    with _lock:
        if _held["count"] == 0:
            _held["limiter"] = threadpool_limits(1, user_api="blas")
        _held["count"] += 1
    try:
        yield
    finally:
        with _lock:
            _held["count"] -= 1
            if _held["count"] == 0:
                _held["limiter"].restore_original_limits()
                _held["limiter"] = None


def workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def run_blocks(fn, n: int, rows: int, *, job=None, done=None) -> None:
    """``fn(start, stop)`` for consecutive blocks of ``rows`` rows covering ``range(n)``, on
    :func:`workers` threads with one BLAS thread each. ``job`` is checked before each block (a
    cancelled job raises :class:`~mmstudio.core.jobs.Cancelled` once the running blocks end) and gets
    progress as blocks end; ``done(start, stop, value)``, if given, is called on the calling thread with
    what ``fn`` returned for each block, once it and every block before it have ended (in order)."""
    job = job or Job()
    rows = max(1, int(rows))
    starts = list(range(0, n, rows))
    if not starts:
        return
    with one_blas_thread(), ThreadPoolExecutor(min(workers(), len(starts))) as pool:
        pending = []
        try:
            for start in starts:
                job.check()
                pending.append((start, pool.submit(fn, start, min(n, start + rows))))
                while len(pending) > workers() or (pending and pending[0][1].done()):
                    _finish(pending.pop(0), n, rows, job, done)
            while pending:
                _finish(pending.pop(0), n, rows, job, done)
        finally:
            for _, future in pending:
                future.cancel()


def _finish(item, n, rows, job, done) -> None:
    start, future = item
    value = future.result()
    stop = min(n, start + rows)
    job.progress(stop, n)
    if done is not None:
        done(start, stop, value)
    job.check()
