"""numba's disk cache for umap-learn's and pynndescent's kernels (umap_fit._enable_numba_caching):
a kernel whose compiled overload cannot be saved still runs (it stays compiled in memory)."""

import sys
import types

import pytest


def test_a_kernel_whose_overload_cannot_be_saved_still_returns_its_result(monkeypatch, tmp_path):
    numba = pytest.importorskip("numba")
    from mmstudio.analysis.projection.umap_fit import _enable_numba_caching

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    module = types.ModuleType("pynndescent_probe")
    module.__file__ = str(tmp_path / "pynndescent_probe.py")

    def twice(x):
        return 2 * x

    twice.__module__ = module.__name__
    module.twice = numba.njit(twice)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    assert _enable_numba_caching(("pynndescent_probe",)) == 1

    def vanished(*_args):  # what numba raises pickling a signature that holds a function it lost
        raise ReferenceError("underlying object has vanished")

    monkeypatch.setattr(type(module.twice._cache._cache_file), "save", vanished)
    assert module.twice(21) == 42
    assert module.twice.signatures  # compiled, kept in memory
