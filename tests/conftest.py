"""Suite-wide settings.

Under ``pytest -n N`` (the README's test command runs two workers on this two-core machine)
every worker would otherwise start PyTorch with one thread per core, and so would the
subprocesses the tests start: more busy threads than cores. OpenMP's threads then wait for
each other at every operation, and a test that takes 0.6 s alone took 95 s in CI beside the
other worker. Each worker, and what it starts, uses one thread instead.
"""

from __future__ import annotations

import os

import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
