"""Optimisers from a system's named parameter groups, and the exponential LR schedule.

Learning rates by group name: a system's ``parameter_groups()`` returns dicts with "name"
(e.g. "grid", "mlp", "audio_att"), "params" and a default "lr". The trainer's ``lr`` mapping
(``{"grid": 5e-3, "mlp": 5e-4}``) overrides the default of each group it names; a name that
matches no group of the stage is an error (a typo must not pass silently), so stage-specific
names go in stage-scoped bindings (``head/Trainer.lr = {...}``).

Schedule (both originals): lr(step) = lr_0 * decay ** (step / steps), so after ``steps``
steps every group runs at ``decay`` times its initial rate (0.1 RAD-NeRF, 0.5 ER-NeRF).

Implementation (``implementation``): PyTorch's Adam runs as a per-tensor loop, as grouped
``foreach`` kernels, or fused into one kernel per group. On a CPU the fused kernel takes the
optimiser step about 4x faster over a wrapped backbone's hash tables and many small MLP tensors
(``benchmarks/optimizer_step.py``) and agrees with the loop to float32 rounding, so ``"auto"``
fuses when every parameter is a floating-point CPU tensor and keeps PyTorch's own choice
elsewhere (CUDA untested here); ``"loop"`` is the reference twin. A resumed checkpoint keeps
the implementation asked for now, not the one it was written with
(:func:`load_optimizer_state`).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lokitalk_plugins.errors import OptionError

__all__ = [
    "IMPLEMENTATIONS",
    "OPTIMIZERS",
    "build_optimizer",
    "build_scheduler",
    "implementation_flags",
    "load_optimizer_state",
    "lr_multiplier",
]

OPTIMIZERS = ("adam", "adamw")
IMPLEMENTATIONS = ("auto", "fused", "foreach", "loop")
_FLAG_KEYS = ("fused", "foreach")


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
    implementation: str = "auto",
) -> torch.optim.Optimizer:
    """Adam or AdamW over named groups; ``weight_decay`` None keeps PyTorch's default
    (0 for Adam, 0.01 for AdamW) unless a group sets its own; ``implementation`` one of
    :data:`IMPLEMENTATIONS` (see the module's docstring)."""
    kind = optimizer.lower()
    if kind not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    checked = _checked_groups(groups, lr)
    kwargs: dict[str, Any] = {"betas": tuple(float(b) for b in betas), "eps": float(eps)}
    if weight_decay is not None:
        kwargs["weight_decay"] = float(weight_decay)
    kwargs.update(implementation_flags([p for g in checked for p in g["params"]], implementation))
    cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
    return cls(checked, **kwargs)


def implementation_flags(params: list[torch.Tensor], implementation: str) -> dict[str, Any]:
    """The ``fused`` / ``foreach`` keyword arguments of Adam for ``implementation``."""
    if implementation not in IMPLEMENTATIONS:
        raise OptionError(
            f"Trainer.optimizer_implementation must be one of {IMPLEMENTATIONS}, got "
            f"{implementation!r}"
        )
    fusable = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    if implementation == "auto":
        cpu = fusable and all(p.device.type == "cpu" for p in params)
        return {"fused": True} if cpu else {}
    if implementation == "fused":
        if not fusable:
            raise OptionError(
                "Trainer.optimizer_implementation = 'fused' needs every parameter to be a "
                "floating-point CPU or CUDA tensor; use 'auto' or 'loop'"
            )
        return {"fused": True}
    return {"foreach": implementation == "foreach", "fused": False}


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """``optimizer.load_state_dict(state)``, keeping ``optimizer``'s own implementation
    (fused / foreach / loop): PyTorch would take the checkpoint's, so a run written with the
    loop would resume with the loop whatever the trainer now asks for."""
    kept = [{k: g[k] for k in _FLAG_KEYS if k in g} for g in optimizer.param_groups]
    optimizer.load_state_dict(state)
    for group, flags in zip(optimizer.param_groups, kept, strict=True):
        for key in _FLAG_KEYS:
            group.pop(key, None)
        group.update(flags)


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
