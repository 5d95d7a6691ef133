"""The training loop the signal models share (Audio2Motion, Audio2Exp).

``fit`` runs Adam with a cosine decay to lr / 10 over ``steps``, calling ``step_loss(step)``
for a dict of scalar terms with a "loss" to minimise; ``loss_trend`` summarises the losses.
Their checkpoints: :mod:`lokitalk_plugins.signals.checkpoints`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from tqdm import tqdm

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
    bar = tqdm(range(steps), desc=desc, disable=not progress)
    for step in bar:
        terms = step_loss(step)
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        opt.step()
        sched.step()
        losses.append(terms["loss"].item())
        if step % 20 == 0:
            shown_terms = {k: f"{terms[k].item():.3f}" for k in shown}
            bar.set_postfix(loss=f"{losses[-1]:.4f}", **shown_terms)
    return losses


def loss_trend(losses: list[float], steps: int) -> dict:
    """{"loss_first", "loss_last"}: the mean loss of the first and of the last k steps,
    k = min(50, steps // 10) (at least 1); NaN without steps."""
    k = max(1, min(50, steps // 10))
    if not losses:
        return {"loss_first": float("nan"), "loss_last": float("nan")}
    return {"loss_first": sum(losses[:k]) / k, "loss_last": sum(losses[-k:]) / k}
