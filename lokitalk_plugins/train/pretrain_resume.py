"""Resuming multi-identity pre-training (``pretrain(..., resume=True)``) from its ``latest.pt``.

The checkpoint holds the unwrapped model, optimiser, schedule, the step, the settings and rank
0's random states. Resume rules: the same ``steps`` and identities (else refused, saying what
to do); one process continues exactly (same identities, samples and weights as without the
stop); with several ranks every rank restores the weights, optimiser and schedule and seeds
its generator with ``seed + rank + world_size * step`` (rank 0's saved state is one rank's).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from lokitalk_plugins.errors import OptionError
from lokitalk_plugins.train import checkpoint as ckpt
from lokitalk_plugins.train.distributed import DistributedContext
from lokitalk_plugins.train.optim import load_optimizer_state
from lokitalk_plugins.train.rng import restore_rng
from lokitalk_plugins.train.state import TrainingParts

__all__ = ["resume_pretraining"]


def resume_pretraining(
    folder: Path,
    parts: TrainingParts,
    ctx: DistributedContext,
    steps: int,
    identities: Sequence[int],
    seed: int,
) -> int:
    """Load ``folder/latest.pt`` into ``parts`` (system, optimizer, scheduler, generator);
    returns the steps already done (0 when there is no checkpoint yet)."""
    latest = Path(folder) / ckpt.LATEST
    if not latest.is_file():
        return 0
    state = ckpt.load_checkpoint(latest, map_location=ctx.device)
    if "format" in state or "identities" not in state:
        raise OptionError(f"{latest} is not a pre-training checkpoint: pre-train into a new folder")
    saved = [int(i) for i in state["identities"]]
    if int(state["steps"]) != steps or saved != [int(i) for i in identities]:
        raise OptionError(
            f"{latest} was pre-trained for {state['steps']} steps on identities {saved}: resume "
            "with the same steps and identities, or pre-train into a new folder"
        )
    parts.system.load_state_dict(state["model"])
    load_optimizer_state(parts.optimizer, state["optimizer"])
    parts.scheduler.load_state_dict(state["scheduler"])
    step = int(state["step"])
    if ctx.world_size == 1 and state.get("world_size") == 1 and "rng" in state:
        restore_rng(state["rng"], parts.generator)
    else:
        parts.generator.manual_seed(seed + ctx.rank + ctx.world_size * step)
        torch.manual_seed(seed + ctx.rank + ctx.world_size * step)
    return step
