"""The generic trainer: one stage of one ``TrainableSystem`` on one dataset.

>>> trainer = Trainer(system, dataset, "runs/obama", steps=200_000, stage="head",
...                   lr={"grid": 5e-3, "mlp": 5e-4}, lr_decay=0.1)
>>> summary = trainer.run()      # {"steps", "wall_time", "final_loss", "val_psnr", ...}

Every step: draw one frame (a random index from the trainer's seeded generator), run
``system.training_step(frame, step, steps, generator)`` under autocast (``Trainer.amp``; the
steps from the ``Trainer.amp_from`` share to the ``Trainer.amp_until`` share), backward,
optimiser step, scheduler step, EMA update, ``system.after_step(step, generator)``. Logs go
to ``workspace/logs/<stage>.csv``, validation images to ``workspace/val/``, checkpoints to
``workspace/checkpoints/`` (see ``checkpoint.py``). ``resume=True`` continues from
``latest.pt`` exactly: same frames, rays, dropout, EMA and learning rates as without the stop.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import gin
import torch

from lokitalk_plugins.train import checkpoint as ckpt
from lokitalk_plugins.train.logs import ScalarLogger
from lokitalk_plugins.train.loop import Update, due, finite_loss, run_steps
from lokitalk_plugins.train.optim import build_optimizer
from lokitalk_plugins.train.preflight import check_data, check_system
from lokitalk_plugins.train.runtime import Precision, default_amp_from, move_to, system_device
from lokitalk_plugins.train.stage_setup import build_parts, check_fresh_start, start_or_resume
from lokitalk_plugins.train.state import TrainingParts, training_state
from lokitalk_plugins.train.system import STAGES
from lokitalk_plugins.train.trainer_config import TrainerConfig
from lokitalk_plugins.train.validation import validate_frame

__all__ = ["Trainer"]


class Trainer:
    """Train ``system`` (an nn.Module implementing TrainableSystem) for one stage.

    dataset / val_dataset: map-style, item = one frame (val: ``config.val_index`` is
    rendered; None uses the training set); workspace: output folder; config: the stage's
    :class:`~.trainer_config.TrainerConfig` (or its settings as keywords: ``steps=...``,
    ``lr=...``; ``steps`` may also come 4th, positionally); stage: one of STAGES; resume:
    continue from ``latest.pt`` when there is one; progress: tqdm bar with loss, PSNR, ETA.
    """

    def __init__(
        self,
        system: torch.nn.Module,
        dataset: Any,
        workspace: str | Path,
        steps: int | None = None,
        *,
        config: TrainerConfig | None = None,
        stage: str = "head",
        val_dataset: Any = None,
        resume: bool = False,
        overwrite: bool = False,
        progress: bool = True,
        **settings: Any,
    ):
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
        if steps is not None:
            settings["steps"] = steps
        if config is None:
            config = TrainerConfig.from_options(**settings)
        elif settings:
            config = replace(config, **settings)
        check_system(system)
        check_data(system, dataset, "training set")
        if val_dataset is not None:
            check_data(system, val_dataset, "validation set")
        self.system, self.dataset, self.val_dataset = system, dataset, val_dataset
        self.config, self.workspace, self.stage = config, Path(workspace), stage
        self.steps, self.seed = config.steps, int(config.seed)
        self.resume, self.progress = bool(resume), bool(progress)
        self.overwrite = bool(overwrite)
        self.optim_args = config.optim_args()
        self.lr_decay, self.ema_decay = float(config.lr_decay), config.ema_decay
        self.ema_warmup = config.ema_warmup
        self.log_every, self.val_every = config.log_every, config.val_every
        self.ckpt_every, self.keep_checkpoints = config.ckpt_every, config.keep_checkpoints
        self.val_index, self.amp, self.tensorboard = (
            int(config.val_index),
            config.amp,
            config.tensorboard,
        )
        self.device = system_device(system)
        self.amp_until = float(config.amp_until)
        self.amp_from = (  # not given: the precision's own (float32 first where auto picks bf16)
            min(default_amp_from(self.amp, self.device), self.amp_until)
            if config.amp_from is None else float(config.amp_from)
        )  # fmt: skip
        self.ckpt_dir = self.workspace / "checkpoints"
        self.generator = torch.Generator(device=self.device)

    # --- setup -----------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """The trainer's settings as plain values (saved in every checkpoint)."""
        opt = {k: list(v) if isinstance(v, tuple) else v for k, v in self.optim_args.items()}
        return {
            "stage": self.stage,
            "steps": self.steps,
            "seed": self.seed,
            "lr_decay": self.lr_decay,
            "ema_decay": self.ema_decay,
            "amp_from": self.amp_from,
            "amp_until": self.amp_until,
            **opt,
        }

    def check(self) -> None:
        """Set the stage and build its optimiser, to fail on bad groups or learning rates
        before any step, and refuse a trained workspace without resume or overwrite (``run``
        does it again; nothing is trained or written here)."""
        check_fresh_start(self)
        self.system.set_stage(self.stage)
        build_optimizer(self.system.parameter_groups(), **self.optim_args)
        Precision(self.amp, self.device)

    # --- the loop --------------------------------------------------------------------
    def _save(self, parts: TrainingParts, done: int, wall: float, loss: float | None) -> Path:
        config = gin.operative_config_str()
        state = training_state(
            parts, self.stage, done, self.steps, wall, loss, config, self.settings()
        )
        return ckpt.save_checkpoint(
            state, self.ckpt_dir, self.stage, done, self.keep_checkpoints, config
        )

    def _validate(self, parts: TrainingParts, done: int) -> dict[str, float]:
        data = self.val_dataset if self.val_dataset is not None else self.dataset
        frame = move_to(data[self.val_index], self.device)
        out = self.workspace / "val" / f"{self.stage}_step{done:07d}.png"
        return validate_frame(self.system, frame, parts.ema, out)

    def autocast_on(self, step: int) -> bool:
        """Whether the 0-based ``step`` runs under the precision's autocast: the steps from
        the ``amp_from`` share of the stage up to its ``amp_until`` share
        (``TrainerConfig``)."""
        return round(self.amp_from * self.steps) <= step < round(self.amp_until * self.steps)

    def _forward(self, parts: TrainingParts, step: int) -> tuple[torch.Tensor, Any]:
        """Draw one frame and run the system's training step (0-based ``step``); returns
        (loss, the system's StepOutput)."""
        n = len(self.dataset)
        index = int(torch.randint(n, (1,), generator=self.generator, device=self.device))
        frame = move_to(self.dataset[index], self.device)
        with parts.precision.autocast(self.autocast_on(step)):
            out = self.system.training_step(frame, step, self.steps, self.generator)
        return out.loss, out

    def run(self) -> dict[str, Any]:
        """Train this stage to ``steps`` (from ``latest.pt`` with resume); returns a summary:
        stage, steps, start_step, wall_time (s), final_loss, val_psnr (dB or None),
        precision, checkpoint (path of latest.pt), peak_memory_mb (CUDA only)."""
        parts = build_parts(self)
        start, wall, last_loss = start_or_resume(self, parts)
        logger = ScalarLogger(
            self.workspace / "logs", self.stage, start if start > 0 else None, self.tensorboard
        )
        bar_every, val, t0 = max(1, min(int(self.log_every or 20), 20)), {}, 0.0
        update = Update(parts.optimizer, parts.scheduler, parts.ema, parts.precision)

        def on_done(done: int, loss: torch.Tensor, out: Any, bar: Any) -> None:
            nonlocal last_loss, val
            if due(bar_every, done, self.steps) or due(self.log_every, done, self.steps):
                last_loss = finite_loss(float(loss.detach()), self.stage, done)
                psnr = out.logs.get("psnr", math.nan)
                bar.set_postfix(loss=f"{last_loss:.4g}", psnr=f"{psnr:.2f}")
            elapsed = wall + time.perf_counter() - t0
            if due(self.log_every, done, self.steps):
                lrs = update.learning_rates()
                logger.log(done, elapsed, {"loss": last_loss, **out.logs, **lrs})
            if due(self.val_every, done, self.steps) and (val := self._validate(parts, done)):
                logger.log(done, elapsed, val)
                bar.write(f"{self.stage} step {done}: val psnr {val['val_psnr']:.2f} dB")
            if due(self.ckpt_every, done, self.steps):
                self._save(parts, done, elapsed, last_loss)

        self.system.train()
        t0 = time.perf_counter()
        try:
            run_steps(
                lambda step: self._forward(parts, step),
                update,
                start,
                self.steps,
                desc=self.stage,
                progress=self.progress,
                after_step=lambda step: self.system.after_step(step, self.generator),
                on_done=on_done,
            )
        finally:
            logger.close()
        summary = {
            "stage": self.stage,
            "steps": self.steps,
            "start_step": start,
            "wall_time": wall + time.perf_counter() - t0,
            "final_loss": last_loss,
            "val_psnr": val.get("val_psnr"),
            "precision": parts.precision.name,
            "amp_from": self.amp_from,
            "amp_until": self.amp_until,
            "checkpoint": str(self.ckpt_dir / ckpt.LATEST),
        }
        if self.device.type == "cuda":
            summary["peak_memory_mb"] = torch.cuda.max_memory_allocated(self.device) / 2**20
        return summary
