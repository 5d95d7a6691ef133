"""Multi-identity pre-training, one process or many (``torchrun --nproc_per_node N``).

>>> ctx = init_distributed()
>>> out = pretrain(system.to(ctx.device), range(12), 50_000, context=ctx, out_dir="runs/pre",
...                checkpoint_every=5000, max_buffers=("density_grid",))
>>> cleanup_distributed()

The system is an nn.Module with ``forward(identity, step, total_steps, generator) ->
(loss, {name: float})`` (it samples a frame and a reference frame of that identity itself),
``parameter_groups() -> [{"name", "params", "lr"}]`` and optionally ``after_step(step,
generator)`` (buffers only, under no_grad).

Each rank trains the identities ``shard_identities(identities, rank, world_size)`` gives it;
every step it draws one of them with its own generator (seeded ``seed + rank``). With more
than one rank the system is wrapped in DistributedDataParallel:

- identical initial weights: DDP broadcasts rank 0's parameters and buffers when it is built,
  so each rank may construct the system with any seed (this loop also broadcasts the buffers
  itself, for torch versions whose ``broadcast_buffers=False`` skips them at construction);
- ``find_unused_parameters=True``: a step of one identity may leave parameters out of the
  graph (another identity's code or head), which plain DDP refuses at the next step;
- buffers are NOT re-broadcast before every forward (``forward_sync_buffers=False``, older
  torch ``broadcast_buffers=False``): that would overwrite each rank's occupancy refresh
  with rank 0's, losing the identities only other ranks train. The buffers named in
  ``max_buffers`` are max-reduced over ranks after ``after_step`` at every step index that is
  a multiple of ``buffer_sync_every`` (0: never during training), before every checkpoint and
  at the end; at the end every other buffer is copied from rank 0, so all ranks return the
  model that the checkpoint holds.

Rank 0 alone shows the tqdm bar (with ETA), writes ``out_dir/logs/pretrain.csv`` (loss: mean
over ranks; the system's other scalars and lr/<group>: rank 0's own) and the checkpoints
``out_dir/checkpoints/pretrain_step{N}.pt`` + ``latest.pt`` (atomic; {"model": unwrapped
state_dict, "optimizer", "scheduler", "step", "rng" (rank 0's), ...}); ``resume=True``
continues from ``latest.pt`` (see :mod:`~lokitalk_plugins.train.pretrain_resume`). The loop
itself is the one of every trainer here (:mod:`~lokitalk_plugins.train.loop`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from lokitalk_plugins.train import checkpoint as ckpt
from lokitalk_plugins.train.distributed import (
    DistributedContext,
    all_reduce_buffers_max,
    broadcast_buffers_from_main,
    mean_over_ranks,
    shard_identities,
    wrap_ddp,
)
from lokitalk_plugins.train.logs import ScalarLogger
from lokitalk_plugins.train.loop import Update, due, finite_loss, run_steps
from lokitalk_plugins.train.optim import build_optimizer, build_scheduler
from lokitalk_plugins.train.pretrain_resume import resume_pretraining
from lokitalk_plugins.train.rng import capture_rng, seed_everything
from lokitalk_plugins.train.runtime import system_device
from lokitalk_plugins.train.state import TrainingParts

__all__ = ["STAGE", "pretrain"]

STAGE = "pretrain"


def _default_context(system: nn.Module) -> DistributedContext:
    """The existing process group's place, or a single process, on the system's device."""
    device = system_device(system)
    if dist.is_available() and dist.is_initialized():
        local = int(os.environ.get("LOCAL_RANK", 0))
        ws, backend = dist.get_world_size(), dist.get_backend()
        return DistributedContext(dist.get_rank(), ws, local, backend, device)
    return DistributedContext(device=device)


def pretrain(
    system: nn.Module,
    identities: Sequence[int],
    steps: int,
    *,
    context: DistributedContext | None = None,
    lr_decay_to: float = 0.1,
    seed: int = 0,
    out_dir: str | Path | None = None,
    checkpoint_every: int = 0,
    log_every: int = 10,
    progress: bool = True,
    max_buffers: Sequence[str] = (),
    buffer_sync_every: int = 16,
    keep_checkpoints: int | None = 3,
    optimizer: dict | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Pre-train ``system`` on ``identities`` for ``steps`` optimiser steps on every rank.

    context: from ``init_distributed`` (None: the existing process group, else one process);
    the system is moved to its device. Adam (betas 0.9, 0.99) over ``parameter_groups()``, or
    ``optimizer``: keyword arguments of :func:`~lokitalk_plugins.train.optim.build_optimizer`
    (e.g. the backbone config's ``{"optimizer": "adamw", "betas": (0.0, 0.99)}``),
    lr(step) = lr * lr_decay_to ** (step / steps). seed: this rank's generator and the global
    RNGs get seed + rank. out_dir: None writes nothing; checkpoint_every: also save every N
    steps (0: only at the end); log_every: CSV row and loss check every N steps (0: never);
    max_buffers / buffer_sync_every: see the module docstring; keep_checkpoints: newest step
    files kept (None: all); resume: continue from ``out_dir``'s latest.pt when there is one
    (same steps and identities). Every rank must call it with the same arguments.

    Returns {"losses": this rank's loss per step run, "identities": identity trained per step
    run, "start_step" (0, or where a resume began), "shard", "final_step", "wall_time" (s),
    "world_size", "rank", "checkpoint" (latest.pt on rank 0 with out_dir, else None)}.
    Raises FloatingPointError on every rank when the mean loss of a logged step is not finite.
    """
    steps = int(steps)
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    ctx = context if context is not None else _default_context(system)
    shard = shard_identities(identities, ctx.rank, ctx.world_size)
    system.to(ctx.device)
    seed_everything(seed + ctx.rank)
    generator = torch.Generator(device=ctx.device).manual_seed(seed + ctx.rank)
    max_buffers = tuple(max_buffers)
    unknown = sorted(set(max_buffers) - {n for n, _ in system.named_buffers()})
    if unknown:
        raise KeyError(f"max_buffers names no buffer of the system: {unknown}")
    broadcast_buffers_from_main(system)  # identical buffers at the start on every torch
    model = wrap_ddp(system, ctx)
    optimizer = build_optimizer(system.parameter_groups(), **(optimizer or {"optimizer": "adam"}))
    scheduler = build_scheduler(optimizer, steps, lr_decay_to)
    after_step = getattr(system, "after_step", None)
    main_writes = ctx.is_main and out_dir is not None
    ckpt_dir = Path(out_dir) / "checkpoints" if out_dir is not None else None
    if resume and ckpt_dir is None:
        raise ValueError("resume=True needs the out_dir that holds the checkpoints")
    if main_writes and ckpt_dir.is_dir():
        ckpt.remove_stale_temp_files(ckpt_dir)
    start = 0
    if resume:
        parts = TrainingParts(system, optimizer, scheduler, None, None, generator)
        start = resume_pretraining(ckpt_dir, parts, ctx, steps, identities, seed)
    logs_dir = Path(out_dir) / "logs" if main_writes else None
    logger = ScalarLogger(logs_dir, STAGE, start or None, False) if main_writes else None

    def save(done: int) -> None:
        all_reduce_buffers_max(system, max_buffers)  # on every rank: a collective
        if main_writes:
            state = {
                "model": system.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "step": done,
                "steps": steps,
                "identities": [int(i) for i in identities],
                "world_size": ctx.world_size,
                "seed": int(seed),
                "lr_decay_to": float(lr_decay_to),
                "rng": capture_rng(generator),
            }
            ckpt.save_checkpoint(state, ckpt_dir, STAGE, done, keep_checkpoints)

    losses: list[float] = []
    seen: list[int] = []
    update = Update(optimizer, scheduler)

    def forward(step: int) -> tuple[torch.Tensor, tuple[int, dict]]:
        pick = torch.randint(len(shard), (1,), generator=generator, device=ctx.device)
        identity = shard[int(pick)]
        loss, logs = model(identity, step, steps, generator)
        return loss, (identity, logs)

    def after(step: int) -> None:
        if after_step is not None:
            after_step(step, generator)
        if max_buffers and buffer_sync_every and step % int(buffer_sync_every) == 0:
            all_reduce_buffers_max(system, max_buffers)

    def on_done(done: int, loss: torch.Tensor, out: tuple[int, dict], bar: Any) -> None:
        identity, logs = out
        losses.append(float(loss.detach()))
        seen.append(identity)
        if due(log_every, done):
            mean = finite_loss(mean_over_ranks(losses[-1], ctx), STAGE, done)
            bar.set_postfix(loss=f"{mean:.4g}", identity=identity)
            if logger is not None:
                own = {k: v for k, v in logs.items() if k != "loss"}
                scalars = {"loss": mean, **own, **update.learning_rates()}
                logger.log(done, time.perf_counter() - t0, scalars)
        if due(checkpoint_every, done) and done < steps:
            save(done)

    show = progress and ctx.is_main
    system.train()
    t0 = time.perf_counter()
    try:
        run_steps(
            forward,
            update,
            start,
            steps,
            desc=f"{STAGE} x{ctx.world_size}",
            progress=show,
            after_step=after,
            on_done=on_done,
        )
        broadcast_buffers_from_main(system, exclude=max_buffers)
        if out_dir is not None:
            save(steps)
        else:
            all_reduce_buffers_max(system, max_buffers)
    finally:
        if logger is not None:
            logger.close()
    wall = time.perf_counter() - t0
    if ctx.is_distributed:
        dist.barrier()
    return {
        "losses": losses,
        "identities": seen,
        "start_step": start,
        "shard": shard,
        "final_step": steps,
        "wall_time": wall,
        "world_size": ctx.world_size,
        "rank": ctx.rank,
        "checkpoint": str(ckpt_dir / ckpt.LATEST) if main_writes else None,
    }
