"""Every command × every bad input of the cases_*.py modules (see harness.py for what is asserted)."""

from __future__ import annotations

import hashlib
import importlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402


def _cases() -> list[harness.Case]:
    cases = []
    for module in sorted(HERE.glob("cases_*.py")):
        cases += importlib.import_module(module.stem).CASES
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return cases


def _digest(path: Path) -> str | None:
    if not path.exists():
        return None
    if path.is_dir():
        return "dir:" + ",".join(sorted(f"{p.relative_to(path)}={_digest(p)}" for p in path.rglob("*") if p.is_file()))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Outcome:
    argv: list
    work: Path
    before: dict
    done: subprocess.CompletedProcess | None     # None: it hung


def _prepare(case: harness.Case, tmp: Path) -> tuple:
    work = tmp / "case"
    work.mkdir()
    argv = case.argv(work)
    before = {k: _digest(work / k) for k in case.keeps}
    env = dict(os.environ, MMSTUDIO_CACHE_DIR=str(tmp / "cache"), MMSTUDIO_LOG_DIR=str(tmp / "log"),
               QT_QPA_PLATFORM="offscreen", PYTHONFAULTHANDLER="1")
    env.update({k: v.replace("{DIR}", str(work)) for k, v in case.env.items()})
    return argv, work, before, env


def _run(case: harness.Case, argv, work, before, env) -> Outcome:
    try:
        done = subprocess.run([sys.executable, "-m", "mmstudio", *argv], cwd=work, env=env, capture_output=True,
                              text=True, timeout=case.timeout, input=case.stdin, errors="replace")
    except subprocess.TimeoutExpired:
        done = None
    return Outcome(argv, work, before, done)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict:
    """Every case's run. The inputs are built one after the other (they share what they build); the
    commands then run two at a time (each is a fresh interpreter, mostly importing: the matrix takes
    about half the time it took one by one)."""
    prepared = [(case, _prepare(case, tmp_path_factory.mktemp("case"))) for case in _cases()]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {case.id: pool.submit(_run, case, *args) for case, args in prepared}
        return {key: future.result() for key, future in futures.items()}


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c.id)
def test_bad_input(case: harness.Case, outcomes):
    run = outcomes[case.id]
    argv, work, done = run.argv, run.work, run.done
    if done is None:
        pytest.fail(f"hung: mmstudio {' '.join(argv)} did not end within {case.timeout:.0f} s")
    err = done.stderr
    shown = f"\n$ mmstudio {' '.join(argv)}\nexit {done.returncode}\n{err[-3000:]}"
    assert "Traceback" not in err and "Fatal Python error" not in err, shown
    assert "internal error" not in err, shown
    assert done.returncode in case.codes, shown
    for text in case.says:
        assert text in err, f"{text!r} not said:{shown}"
    for key, digest in run.before.items():
        assert _digest(work / key) == digest, f"{key} was {'created' if digest is None else 'changed'}:{shown}"
