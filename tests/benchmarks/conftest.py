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


@pytest.fixture(scope="session")
def rsdf_workspace(tmp_path_factory):
    """A tiny trained ER-NeRF + RSDF workspace (head stage, 20 steps) on a 1 s, 32 px studio
    folder: what the scripts that read trained workspaces need. Never modify it."""
    from lokitalk_plugins.cli import main
    from lokitalk_plugins.data.studio import write_identity

    root = tmp_path_factory.mktemp("rsdf_ws")
    data = write_identity(root / "id000", seconds=1.0, size=32, seed=0)
    ws = root / "run"
    code = main([
        "train", "--config", "configs/er_nerf_odr.gin", "--config", "configs/studio_quick.gin",
        "--data", str(data), "--workspace", str(ws), "--quiet",
        "--bind", "head/Trainer.steps = 20", "--bind", "Trainer.val_every = 20",
        "--bind", "ERNeRF.grid_size = 32", "--bind", "TalkingHeadSystem.num_rays = 256",
        "--bind", "train.stages = ('head',)",
    ])  # fmt: skip
    assert code == 0
    return ws
