"""Fixtures shared by the benchmark scripts' tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def run_script():
    """run_script(name, *args, timeout=900): ``benchmarks/<name>`` in a subprocess (the
    scripts install global hooks), one thread; returns the CompletedProcess with text output."""

    def run(name: str, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        env = dict(os.environ, OMP_NUM_THREADS="1")
        return subprocess.run([sys.executable, str(BENCH / name), *args], capture_output=True,
                              text=True, env=env, timeout=timeout)  # fmt: skip

    return run
