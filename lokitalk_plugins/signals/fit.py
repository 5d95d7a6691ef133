"""The training loop and checkpoint loading the signal models share (Audio2Motion, Audio2Exp).

``fit`` runs Adam with a cosine decay to lr / 10 over ``steps``, calling ``step_loss(step)``
for a dict of scalar terms with a "loss" to minimise; ``model_from_checkpoint`` reads a
weights-only checkpoint of one ``kind`` back into its model class with errors naming the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from tqdm import tqdm

from lokitalk_plugins.train.checkpoint import CheckpointError, atomic_save, load_checkpoint

__all__ = ["fit", "loss_trend", "model_from_checkpoint", "save_model_checkpoint"]


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


def save_model_checkpoint(out, kind: str, model: torch.nn.Module, summary: dict, **extra) -> None:
    """Write {"kind", "config": model.config(), "state_dict", **extra, "summary" (without its
    "out")} to ``out`` atomically; tensors and plain containers only (weights-only loadable)."""
    ckpt = {"kind": kind, "config": model.config(), "state_dict": model.state_dict(), **extra}
    ckpt["summary"] = {k: v for k, v in summary.items() if k != "out"}
    atomic_save(ckpt, out)


def model_from_checkpoint(
    path: str | Path,
    kind: str,
    cls: type,
    label: str,
    audio_in_dim: int | None = None,
    command: str = "",
    map_location="cpu",
) -> tuple[torch.nn.Module, dict]:
    """(model in eval mode, checkpoint) of a weights-only checkpoint {"kind", "config",
    "state_dict", ...} holding a ``cls`` (``label`` names it in errors).

    audio_in_dim: the K of the features you will feed it, or None; ``command`` (e.g.
    "lokitalk audio2motion") is suggested when K differs. Raises CheckpointError naming the
    file: another kind, a config the class refuses, weights that do not fit, another K.
    """
    ckpt = load_checkpoint(path, map_location=map_location)
    if ckpt.get("kind") != kind or not isinstance(ckpt.get("config"), dict):
        raise CheckpointError(f"{path}: not an {label} checkpoint (kind {ckpt.get('kind')!r})")
    config = ckpt["config"]
    try:
        model = cls(**config)
    except TypeError as err:
        raise CheckpointError(f"{path}: {label} config {config} does not fit: {err}") from None
    if audio_in_dim is not None and int(audio_in_dim) != model.audio_in_dim:
        raise CheckpointError(
            f"{path}: this {label} was trained on audio features with "
            f"K={model.audio_in_dim} channels, but K={audio_in_dim} was asked for; "
            f"train one on these features ({command} --audio-file ...)"
        )
    try:
        model.load_state_dict(ckpt["state_dict"])
    except (RuntimeError, KeyError) as err:
        raise CheckpointError(
            f"{path}: weights do not fit the saved config {config}: {err}"
        ) from None
    return model.eval(), ckpt
