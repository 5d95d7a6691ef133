"""What a training checkpoint holds, and putting it back.

Only tensors, plain containers, numbers, strings and None, so it loads with
``torch.load(weights_only=True)``::

    format "lokitalk-train", version 1, stage, step (steps done), steps (of the stage),
    model (system.state_dict()), ema (EMA.state_dict() or None), optimizer, scheduler,
    scaler (GradScaler state, {} without fp16), rng (capture_rng: torch CPU / CUDA, the
    trainer's generator, python random, numpy), wall_time (s), last_loss, gin_config
    (operative config text), settings (the trainer's plain settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from lokitalk_plugins.train.ema import EMA
from lokitalk_plugins.train.optim import load_optimizer_state
from lokitalk_plugins.train.rng import capture_rng, restore_rng
from lokitalk_plugins.train.runtime import Precision

__all__ = [
    "FORMAT",
    "TrainingParts",
    "training_state",
    "restore_training_state",
    "optimizer_settings",
    "reapply_optimizer_settings",
]

FORMAT = "lokitalk-train"
VERSION = 1


@dataclass
class TrainingParts:
    """The stateful pieces of one stage's training."""

    system: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    ema: EMA | None
    precision: Precision
    generator: torch.Generator


def training_state(
    parts: TrainingParts,
    stage: str,
    step: int,
    steps: int,
    wall_time: float,
    last_loss: float | None,
    gin_config: str,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """The checkpoint dict of ``parts`` after ``step`` completed steps."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "stage": stage,
        "step": int(step),
        "steps": int(steps),
        "model": parts.system.state_dict(),
        "ema": parts.ema.state_dict() if parts.ema is not None else None,
        "optimizer": parts.optimizer.state_dict(),
        "scheduler": parts.scheduler.state_dict(),
        "scaler": parts.precision.state_dict(),
        "rng": capture_rng(parts.generator),
        "wall_time": float(wall_time),
        "last_loss": None if last_loss is None else float(last_loss),
        "gin_config": gin_config,
        "settings": settings,
    }


def restore_training_state(parts: TrainingParts, state: dict[str, Any], where: str) -> None:
    """Load every piece of ``state`` into ``parts`` (strict: a mismatch is an error)."""
    if state.get("format") != FORMAT:
        raise ValueError(f"{where} is not a training checkpoint of this trainer")
    parts.system.load_state_dict(state["model"], strict=True)
    try:
        load_optimizer_state(parts.optimizer, state["optimizer"])
    except ValueError as e:
        raise ValueError(f"{where}: optimiser state does not fit this stage's groups: {e}") from e
    parts.scheduler.load_state_dict(state["scheduler"])
    if parts.ema is not None:
        if state["ema"] is None:
            raise ValueError(f"{where} was written without EMA; set ema_decay=None to resume it")
        parts.ema.load_state_dict(state["ema"])
    parts.precision.load_state_dict(state["scaler"])
    restore_rng(state["rng"], parts.generator)


_HYPER = ("initial_lr", "betas", "eps", "weight_decay")


def optimizer_settings(optimizer: torch.optim.Optimizer) -> list[dict[str, Any]]:
    """{name, initial_lr, betas, eps, weight_decay} of each group, as configured now (take it
    before ``restore_training_state``, which puts the checkpoint's values back)."""
    return [
        {"name": g.get("name"), **{k: g.get(k) for k in _HYPER}} for g in optimizer.param_groups
    ]


def reapply_optimizer_settings(parts: TrainingParts, configured: list[dict[str, Any]]) -> list[str]:
    """Give the restored optimiser the ``configured`` rates and hyper-parameters where they
    differ from the checkpoint's: a new base lr follows the schedule from the resumed step
    (lr = new base * the schedule's multiplier now). Returns what changed, as readable text;
    nothing is touched when nothing differs (an unchanged resume stays bit-exact)."""
    changed, scheduler = [], parts.scheduler
    for i, (group, want) in enumerate(zip(parts.optimizer.param_groups, configured)):
        for key in _HYPER:
            old, new = group.get(key), want[key]
            if new is None or _plain(old) == _plain(new):
                continue
            changed.append(f"{want['name']}.{'lr' if key == 'initial_lr' else key} {old} -> {new}")
            group[key] = new
            if key == "initial_lr":
                scheduler.base_lrs[i] = new
                group["lr"] = new * scheduler.lr_lambdas[i](scheduler.last_epoch)
    return changed


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, (list, tuple)) else value
