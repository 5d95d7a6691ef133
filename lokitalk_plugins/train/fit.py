"""Training the signal models (Audio2Motion, Audio2Exp, the lip-sync module) on the one loop
of :mod:`lokitalk_plugins.train.loop`.

``fit`` runs Adam with a cosine decay to lr / 10 over ``steps``, calling ``step_loss(step)``
for a dict of scalar terms with a "loss" to minimise; ``loss_trend`` summarises the losses.
Their checkpoints: :mod:`lokitalk_plugins.train.signal_checkpoints`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from lokitalk_plugins.train.loop import Update, run_steps

__all__ = ["fit", "loss_trend"]


def fit(
    params: Iterable[torch.nn.Parameter],
    step_loss: Callable[[int], dict],
    steps: int,
    lr: float,
    desc: str,
    progress: bool = True,
    shown: tuple[str, ...] = (),
) -> list[float]:
    """Minimise ``step_loss(step)["loss"]`` for ``steps`` steps; returns the losses.

    Adam at ``lr``, cosine-annealed to lr / 10; the progress bar shows the loss and the
    ``shown`` terms every 20 steps.
    """
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1), eta_min=lr / 10)
    losses: list[float] = []

    def forward(step: int) -> tuple[torch.Tensor, dict]:
        terms = step_loss(step)
        return terms["loss"], terms

    def on_done(done: int, loss: torch.Tensor, terms: dict, bar: Any) -> None:
        losses.append(loss.item())
        if (done - 1) % 20 == 0:
            shown_terms = {k: f"{terms[k].item():.3f}" for k in shown}
            bar.set_postfix(loss=f"{losses[-1]:.4f}", **shown_terms)

    run_steps(forward, Update(opt, sched), 0, steps, desc=desc, progress=progress, on_done=on_done)
    return losses


def loss_trend(losses: list[float], steps: int) -> dict:
    """{"loss_first", "loss_last"}: the mean loss of the first and of the last k steps,
    k = min(50, steps // 10) (at least 1); NaN without steps."""
    k = max(1, min(50, steps // 10))
    if not losses:
        return {"loss_first": float("nan"), "loss_last": float("nan")}
    return {"loss_first": sum(losses[:k]) / k, "loss_last": sum(losses[-k:]) / k}
