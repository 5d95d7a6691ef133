"""Random states as tensors and plain lists, so checkpoints load with ``weights_only=True``.

``capture_rng(generator)`` / ``restore_rng(state, generator)`` cover the trainer's own
``torch.Generator`` (frame order, ray sampling), torch's global CPU and CUDA generators
(dropout, anything drawing without a generator), Python's ``random`` and numpy's global
generator; a resumed run therefore draws exactly what an uninterrupted one would.
"""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["seed_everything", "capture_rng", "restore_rng"]


def seed_everything(seed: int) -> None:
    """Seed Python ``random``, numpy's global generator and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _python_state() -> dict:
    version, internal, gauss = random.getstate()
    return {
        "version": version,
        "internal": torch.tensor(internal, dtype=torch.int64),
        "gauss": gauss,
    }


def _numpy_state() -> dict:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "kind": str(kind),
        "keys": torch.from_numpy(keys.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached": float(cached),
    }


def capture_rng(generator: torch.Generator | None = None) -> dict:
    """Every random state as uint8 / int64 tensors, ints, floats and strings."""
    state = {
        "torch_cpu": torch.get_rng_state(),
        "torch_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": _python_state(),
        "numpy": _numpy_state(),
    }
    if generator is not None:
        state["generator"] = generator.get_state()
    return state


def restore_rng(state: dict, generator: torch.Generator | None = None) -> None:
    """Put back what ``capture_rng`` returned (CUDA states only where CUDA is present)."""
    torch.set_rng_state(state["torch_cpu"].cpu())
    if state["torch_cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["torch_cuda"]])
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["internal"].tolist()), py["gauss"]))
    nps = state["numpy"]
    keys = nps["keys"].numpy().astype(np.uint32)
    np.random.set_state((nps["kind"], keys, nps["pos"], nps["has_gauss"], nps["cached"]))
    if generator is not None:
        if "generator" not in state:
            raise KeyError("the saved random state has no trainer generator")
        generator.set_state(state["generator"].cpu())
