"""Optimisers from a system's named parameter groups, and the exponential LR schedule.

Learning rates by group name: a system's ``parameter_groups()`` returns dicts with "name"
(e.g. "grid", "mlp", "audio_att"), "params" and a default "lr". The trainer's ``lr`` mapping
(``{"grid": 5e-3, "mlp": 5e-4}``) overrides the default of each group it names; a name that
matches no group of the stage is an error (a typo must not pass silently), so stage-specific
names go in stage-scoped bindings (``head/Trainer.lr = {...}``).

Schedule (both originals): lr(step) = lr_0 * decay ** (step / steps), so after ``steps``
steps every group runs at ``decay`` times its initial rate (0.1 RAD-NeRF, 0.5 ER-NeRF).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lokitalk_plugins.errors import OptionError

__all__ = ["OPTIMIZERS", "build_optimizer", "build_scheduler", "lr_multiplier"]

OPTIMIZERS = ("adam", "adamw")


def lr_multiplier(step: int, steps: int, decay: float) -> float:
    """decay ** (step / steps): 1 at step 0, ``decay`` at step ``steps``."""
    return float(decay) ** (step / max(int(steps), 1))


def _checked_groups(groups: list[dict[str, Any]], lr: dict[str, float] | None) -> list[dict]:
    """Copy the groups, apply the ``lr`` overrides by name, validate names and params."""
    if not groups:
        raise ValueError("the system returned no parameter groups: nothing to train")
    out, names = [], []
    for i, g in enumerate(groups):
        if "params" not in g:
            raise ValueError(f"parameter group {i} has no 'params'")
        name = str(g.get("name", f"group{i}"))
        if name in names:
            raise ValueError(f"two parameter groups are named {name!r}")
        params = [p for p in g["params"] if p.requires_grad]
        if not params:
            raise ValueError(f"parameter group {name!r} holds no trainable parameter")
        names.append(name)
        group = {**g, "name": name, "params": params}
        if lr is not None and name in lr:
            group["lr"] = float(lr[name])
        if "lr" not in group:
            raise ValueError(f"parameter group {name!r} has no lr and none is configured")
        if not (math.isfinite(float(group["lr"])) and float(group["lr"]) >= 0):
            raise OptionError(
                f"the learning rate of parameter group {name!r} is {group['lr']}: it must be a "
                "finite number >= 0 (check Trainer.lr)"
            )
        out.append(group)
    unknown = sorted(set(lr or {}) - set(names))
    if unknown:
        raise ValueError(
            f"learning rates configured for {unknown}, but this stage's parameter groups are "
            f"{names}; fix the name or bind it in a stage scope (e.g. head/Trainer.lr)"
        )
    return out


def build_optimizer(
    groups: list[dict[str, Any]],
    optimizer: str = "adam",
    lr: dict[str, float] | None = None,
    betas: tuple[float, float] = (0.9, 0.99),
    eps: float = 1e-15,
    weight_decay: float | None = None,
) -> torch.optim.Optimizer:
    """Adam or AdamW over named groups; ``weight_decay`` None keeps PyTorch's default
    (0 for Adam, 0.01 for AdamW) unless a group sets its own."""
    kind = optimizer.lower()
    if kind not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    checked = _checked_groups(groups, lr)
    kwargs: dict[str, Any] = {"betas": tuple(float(b) for b in betas), "eps": float(eps)}
    if weight_decay is not None:
        kwargs["weight_decay"] = float(weight_decay)
    cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
    return cls(checked, **kwargs)


def build_scheduler(
    optimizer: torch.optim.Optimizer, steps: int, decay: float = 0.1
) -> torch.optim.lr_scheduler.LambdaLR:
    """Every group's lr follows lr_0 * decay ** (step / steps); call ``.step()`` once per
    optimiser step. Its state_dict holds numbers only."""
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"lr_decay must be in (0, 1], got {decay}")
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_multiplier(step, steps, decay)
    )
