"""Suite-wide settings.

Under ``pytest -n N`` (the README's test command runs two workers on this two-core machine)
every worker would otherwise start PyTorch with one thread per core, and so would the
subprocesses the tests start: more busy threads than cores. OpenMP's threads then wait for
each other at every operation, and a test that takes 0.6 s alone took 95 s in CI beside the
other worker. Each worker, and what it starts, uses one thread instead.
"""

from __future__ import annotations

import os

import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


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
