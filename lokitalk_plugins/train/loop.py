"""The one optimisation loop of every trainer here: a stage (``Trainer.run``), multi-identity
pre-training (``pretrain``) and the signal models (``fit``: Audio2Motion, Audio2Exp, lip sync).

>>> update = Update(optimizer, scheduler, ema=ema, precision=precision)
>>> run_steps(lambda step: (loss_of(step), logs), update, start, steps, desc="head",
...           after_step=system_after_step, on_done=log_and_checkpoint)

Every step: ``loss, out = forward(step)``; zero the gradients; backward and optimiser step
(through the precision policy's GradScaler when there is one); scheduler step; EMA update;
``after_step(step)`` (buffers, no gradients); the tqdm bar advances; ``on_done(done, loss,
out, bar)`` with ``done = step + 1`` (logging, validation, checkpoints: the caller's). What
differs between the trainers (what a step draws, where checkpoints go, what is logged) stays
in the callbacks; the order above is the same for all of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from tqdm import tqdm

__all__ = ["Update", "run_steps", "due", "finite_loss"]


@dataclass
class Update:
    """What one step changes after its loss: optimiser, schedule, EMA, GradScaler.

    precision: a :class:`~lokitalk_plugins.train.runtime.Precision` (its GradScaler for fp16),
    or None for a plain ``loss.backward(); optimizer.step()``.
    """

    optimizer: torch.optim.Optimizer
    scheduler: Any
    ema: Any = None
    precision: Any = None

    def apply(self, loss: torch.Tensor) -> None:
        """Backward ``loss`` (a scalar tensor) and take one step of everything."""
        self.optimizer.zero_grad(set_to_none=True)
        if self.precision is not None:
            self.precision.backward_and_step(loss, self.optimizer)
        else:
            loss.backward()
            self.optimizer.step()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update()

    def learning_rates(self) -> dict[str, float]:
        """{"lr/<group name>": lr} of every parameter group now (unnamed: its index)."""
        groups = self.optimizer.param_groups
        return {f"lr/{g.get('name', i)}": g["lr"] for i, g in enumerate(groups)}


def run_steps(
    forward: Callable[[int], tuple[torch.Tensor, Any]],
    update: Update,
    start: int,
    steps: int,
    *,
    desc: str,
    progress: bool = True,
    after_step: Callable[[int], None] | None = None,
    on_done: Callable[[int, torch.Tensor, Any, tqdm], None] | None = None,
) -> None:
    """Steps ``start .. steps - 1`` (0-based) in the order of the module docstring.

    forward(step) -> (scalar loss tensor, anything the caller's ``on_done`` reads); the bar
    (tqdm, ETA; hidden without ``progress``) counts from ``start`` to ``steps``.
    """
    bar = tqdm(
        total=steps, initial=start, desc=desc, unit="step", disable=not progress, dynamic_ncols=True
    )
    try:
        for step in range(start, steps):
            loss, out = forward(step)
            update.apply(loss)
            if after_step is not None:
                after_step(step)
            bar.update(1)
            if on_done is not None:
                on_done(step + 1, loss, out, bar)
    finally:
        bar.close()


def due(every: int | None, done: int, steps: int | None = None) -> bool:
    """True at ``done`` steps when ``every`` (0 / None: never) divides it, or at the last
    step (``done == steps``; None: no last-step rule)."""
    return done == steps or bool(every) and done % int(every) == 0


def finite_loss(value: float, label: str, done: int) -> float:
    """``value``, or FloatingPointError("<label> step <done>: loss is nan") when not finite."""
    if not math.isfinite(value):
        raise FloatingPointError(f"{label} step {done}: loss is {value}")
    return value
