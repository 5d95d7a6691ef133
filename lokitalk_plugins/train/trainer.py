"""The generic trainer: one stage of one ``TrainableSystem`` on one dataset.

>>> trainer = Trainer(system, dataset, "runs/obama", steps=200_000, stage="head",
...                   lr={"grid": 5e-3, "mlp": 5e-4}, lr_decay=0.1)
>>> summary = trainer.run()      # {"steps", "wall_time", "final_loss", "val_psnr", ...}

Every step: draw one frame (a random index from the trainer's seeded generator), run
``system.training_step(frame, step, steps, generator)`` under autocast (CUDA only), backward,
optimiser step, scheduler step, EMA update, ``system.after_step(step, generator)``. Logs go
to ``workspace/logs/<stage>.csv``, validation images to ``workspace/val/``, checkpoints to
``workspace/checkpoints/`` (see ``checkpoint.py``). ``resume=True`` continues from
``latest.pt`` exactly: same frames, rays, dropout, EMA and learning rates as without the stop.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import gin
import torch
from tqdm import tqdm

from lokitalk_plugins.errors import OptionError
from lokitalk_plugins.train import checkpoint as ckpt
from lokitalk_plugins.train.logs import ScalarLogger
from lokitalk_plugins.train.optim import build_optimizer
from lokitalk_plugins.train.preflight import check_data, check_system
from lokitalk_plugins.train.runtime import Precision, move_to, system_device
from lokitalk_plugins.train.stage_setup import build_parts, start_or_resume
from lokitalk_plugins.train.state import TrainingParts, training_state
from lokitalk_plugins.train.system import STAGES
from lokitalk_plugins.train.validation import validate_frame

__all__ = ["Trainer"]


class Trainer:
    """Train ``system`` (an nn.Module implementing TrainableSystem) for one stage.

    dataset / val_dataset: map-style, item = one frame (val: ``val_index`` is rendered; None
    uses the training set); workspace: output folder; steps: steps of this stage; stage: one
    of STAGES; seed: seeds torch, numpy, random and the trainer's generator at a fresh start;
    optimizer "adam" | "adamw" with betas, eps, weight_decay (None: PyTorch default); lr:
    {group name: lr} overriding the system's group defaults; lr_decay: final multiplier of
    lr * decay ** (step / steps); ema_decay: None disables EMA; ema_warmup: decay
    min(d, (1+t)/(10+t)); log_every / val_every / ckpt_every: in steps (0 or None: never,
    except at the end); keep_checkpoints: newest step files kept (None: all); amp: see
    ``Precision``; resume: continue from ``latest.pt`` when there is one; tensorboard:
    True / False / "auto"; progress: tqdm bar with loss, PSNR and ETA.
    """

    def __init__(
        self,
        system: torch.nn.Module,
        dataset: Any,
        workspace: str | Path,
        steps: int,
        stage: str = "head",
        seed: int = 0,
        optimizer: str = "adam",
        lr: dict[str, float] | None = None,
        betas: tuple[float, float] = (0.9, 0.99),
        eps: float = 1e-15,
        weight_decay: float | None = None,
        lr_decay: float = 0.1,
        ema_decay: float | None = 0.95,
        ema_warmup: bool = True,
        log_every: int = 100,
        val_every: int | None = 1000,
        val_dataset: Any = None,
        val_index: int = 0,
        ckpt_every: int | None = 1000,
        keep_checkpoints: int | None = 3,
        amp: str | bool = "auto",
        resume: bool = False,
        tensorboard: bool | str = "auto",
        progress: bool = True,
    ):
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
        if isinstance(steps, bool) or not isinstance(steps, (int, float)) or int(steps) < 1:
            raise OptionError(f"Trainer.steps must be an integer >= 1, got {steps!r}")
        check_system(system)
        check_data(system, dataset, "training set")
        if val_dataset is not None:
            check_data(system, val_dataset, "validation set")
        self.system, self.dataset, self.val_dataset = system, dataset, val_dataset
        self.workspace, self.steps, self.stage = Path(workspace), int(steps), stage
        self.seed, self.resume, self.progress = int(seed), bool(resume), bool(progress)
        self.optim_args = dict(
            optimizer=optimizer,
            lr=None if lr is None else dict(lr),
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
        )
        self.lr_decay, self.ema_decay, self.ema_warmup = float(lr_decay), ema_decay, ema_warmup
        self.log_every, self.val_every, self.ckpt_every = log_every, val_every, ckpt_every
        self.val_index, self.keep_checkpoints = int(val_index), keep_checkpoints
        self.amp, self.tensorboard = amp, tensorboard
        self.device = system_device(system)
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
            **opt,
        }

    def check(self) -> None:
        """Set the stage and build its optimiser, to fail on bad groups or learning rates
        before any step (``run`` does it again; nothing is trained here)."""
        self.system.set_stage(self.stage)
        build_optimizer(self.system.parameter_groups(), **self.optim_args)
        Precision(self.amp, self.device)

    # --- the loop --------------------------------------------------------------------
    def _due(self, every: int | None, done: int) -> bool:
        return done == self.steps or bool(every) and done % int(every) == 0

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

    def _step(self, parts: TrainingParts, step: int) -> Any:
        """One optimisation step (0-based ``step``); returns the system's StepOutput."""
        n = len(self.dataset)
        index = int(torch.randint(n, (1,), generator=self.generator, device=self.device))
        frame = move_to(self.dataset[index], self.device)
        with parts.precision.autocast():
            out = self.system.training_step(frame, step, self.steps, self.generator)
        parts.optimizer.zero_grad(set_to_none=True)
        parts.precision.backward_and_step(out.loss, parts.optimizer)
        parts.scheduler.step()
        if parts.ema is not None:
            parts.ema.update()
        self.system.after_step(step, self.generator)
        return out

    def run(self) -> dict[str, Any]:
        """Train this stage to ``steps`` (from ``latest.pt`` with resume); returns a summary:
        stage, steps, start_step, wall_time (s), final_loss, val_psnr (dB or None),
        precision, checkpoint (path of latest.pt), peak_memory_mb (CUDA only)."""
        parts = build_parts(self)
        start, wall, last_loss = start_or_resume(self, parts)
        logger = ScalarLogger(
            self.workspace / "logs", self.stage, start if start > 0 else None, self.tensorboard
        )
        bar = tqdm(
            total=self.steps,
            initial=start,
            desc=self.stage,
            unit="step",
            disable=not self.progress,
            dynamic_ncols=True,
        )
        bar_every, val = max(1, min(int(self.log_every or 20), 20)), {}
        self.system.train()
        t0 = time.perf_counter()
        try:
            for step in range(start, self.steps):
                out, done = self._step(parts, step), step + 1
                bar.update(1)
                if self._due(bar_every, done) or self._due(self.log_every, done):
                    last_loss = float(out.loss.detach())
                    if not math.isfinite(last_loss):
                        raise FloatingPointError(f"{self.stage} step {done}: loss is {last_loss}")
                    bar.set_postfix(
                        loss=f"{last_loss:.4g}", psnr=f"{out.logs.get('psnr', math.nan):.2f}"
                    )
                elapsed = wall + time.perf_counter() - t0
                if self._due(self.log_every, done):
                    lrs = {f"lr/{g['name']}": g["lr"] for g in parts.optimizer.param_groups}
                    logger.log(done, elapsed, {"loss": last_loss, **out.logs, **lrs})
                if self._due(self.val_every, done) and (val := self._validate(parts, done)):
                    logger.log(done, elapsed, val)
                    bar.write(f"{self.stage} step {done}: val psnr {val['val_psnr']:.2f} dB")
                if self._due(self.ckpt_every, done):
                    self._save(parts, done, elapsed, last_loss)
        finally:
            bar.close()
            logger.close()
        summary = {
            "stage": self.stage,
            "steps": self.steps,
            "start_step": start,
            "wall_time": wall + time.perf_counter() - t0,
            "final_loss": last_loss,
            "val_psnr": val.get("val_psnr"),
            "precision": parts.precision.name,
            "checkpoint": str(self.ckpt_dir / ckpt.LATEST),
        }
        if self.device.type == "cuda":
            summary["peak_memory_mb"] = torch.cuda.max_memory_allocated(self.device) / 2**20
        return summary
