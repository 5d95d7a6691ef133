"""Setting up one stage for the Trainer: its optimiser, schedule, EMA and precision, then a
fresh seeded start or an exact resume from ``latest.pt``.

Resume rules: ``latest.pt`` of the same stage restores everything (weights, optimiser,
schedule, EMA, GradScaler, every random state) and training continues at its step; learning
rates and optimiser settings configured differently from the checkpoint's apply from that
step on (with a warning), a different optimiser type is refused;
``latest.pt`` of an earlier stage (the previous stage finished) gives its weights to this
stage, which then starts at step 0, seeded (weights it lacks, e.g. a torso field, keep their
initial values); one of a later stage is an error. Without ``resume``, a ``latest.pt`` of
this stage or a later one (a trained workspace) is refused unless ``overwrite`` is set:
nothing trained is replaced silently (:func:`check_fresh_start`, also run by
``Trainer.check`` before anything is written).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Protocol

from lokitalk_plugins.errors import OptionError
from lokitalk_plugins.train import checkpoint as ckpt
from lokitalk_plugins.train.ema import EMA
from lokitalk_plugins.train.optim import build_optimizer, build_scheduler
from lokitalk_plugins.train.rng import seed_everything
from lokitalk_plugins.train.runtime import Precision
from lokitalk_plugins.train.state import (
    TrainingParts,
    optimizer_settings,
    reapply_optimizer_settings,
    restore_training_state,
)
from lokitalk_plugins.train.system import STAGES

__all__ = ["StageRun", "build_parts", "check_fresh_start", "start_or_resume"]


class StageRun(Protocol):
    """What setting up a stage reads from the trainer (which implements it; this module does
    not import the trainer, so the two form no import circle)."""

    system: Any
    dataset: Any
    stage: str
    steps: int
    seed: int
    resume: bool
    overwrite: bool
    optim_args: dict
    lr_decay: float
    ema_decay: float | None
    ema_warmup: bool
    amp: Any
    device: Any
    generator: Any
    ckpt_dir: Path


def build_parts(trainer: StageRun) -> TrainingParts:
    """Call the system's optional ``prepare(dataset)``, set the stage, and build the
    optimiser over its groups, the LR schedule, the EMA of the trained parameters and the
    precision policy."""
    system = trainer.system
    prepare = getattr(system, "prepare", None)
    if callable(prepare):  # optional hook: per-dataset set-up (e.g. unseen occupancy cells)
        prepare(trainer.dataset)
    system.set_stage(trainer.stage)
    optimizer = build_optimizer(system.parameter_groups(), **trainer.optim_args)
    scheduler = build_scheduler(optimizer, trainer.steps, trainer.lr_decay)
    ema = None
    if trainer.ema_decay is not None:
        trained = {id(p) for g in optimizer.param_groups for p in g["params"]}
        named = [(n, p) for n, p in system.named_parameters() if id(p) in trained]
        ema = EMA(named, trainer.ema_decay, trainer.ema_warmup)
    precision = Precision(trainer.amp, trainer.device)
    return TrainingParts(system, optimizer, scheduler, ema, precision, trainer.generator)


def check_fresh_start(trainer: StageRun) -> None:
    """Refuse to start ``trainer.stage`` afresh over a workspace whose ``latest.pt`` is of
    this stage or a later one, unless ``trainer.resume`` or ``trainer.overwrite``."""
    latest = trainer.ckpt_dir / ckpt.LATEST
    if trainer.resume or trainer.overwrite or not latest.is_file():
        return
    stage = ckpt.load_checkpoint(latest, map_location="cpu").get("stage")
    if stage in STAGES and STAGES.index(stage) < STAGES.index(trainer.stage):
        return  # an earlier stage finished: this one starts from its weights
    raise OptionError(
        f"{latest}: this workspace already holds a trained {stage!r} stage; continue it with "
        "resume=True, or start again with overwrite=True (replaces its checkpoints)"
    )


def start_or_resume(trainer: StageRun, parts: TrainingParts) -> tuple[int, float, float | None]:
    """Restore from latest.pt (``trainer.resume``) or seed a fresh start.

    Returns (steps already done, wall time so far in s, last logged loss or None).
    """
    check_fresh_start(trainer)
    folder = trainer.ckpt_dir
    folder.mkdir(parents=True, exist_ok=True)
    ckpt.remove_stale_temp_files(folder)
    latest = folder / ckpt.LATEST
    if trainer.resume and latest.is_file():
        state = ckpt.load_checkpoint(latest, map_location=trainer.device)
        stage = state.get("stage")
        if stage == trainer.stage:
            saved = (state.get("settings") or {}).get("optimizer")
            if saved and saved != trainer.optim_args["optimizer"]:
                raise ValueError(
                    f"{latest} was trained with optimizer={saved!r}, the config now says "
                    f"{trainer.optim_args['optimizer']!r}: resume with {saved!r}, or start a "
                    "new run in another workspace"
                )
            configured = optimizer_settings(parts.optimizer)
            restore_training_state(parts, state, str(latest))
            changed = reapply_optimizer_settings(parts, configured)
            if changed:  # a new lr, betas, eps or weight decay applies from this step on
                warnings.warn(f"{latest}: resuming with {', '.join(changed)}", stacklevel=3)
            if state["steps"] != trainer.steps:
                warnings.warn(
                    f"{latest}: resuming a {state['steps']}-step stage with steps="
                    f"{trainer.steps}; the learning-rate schedule changes",
                    stacklevel=3,
                )
            return int(state["step"]), float(state["wall_time"]), state["last_loss"]
        if stage in STAGES and STAGES.index(stage) > STAGES.index(trainer.stage):
            raise ValueError(
                f"{latest} is from stage {stage!r}, which comes after {trainer.stage!r}; "
                "resume that stage, or train in a fresh workspace"
            )
        # an earlier stage: its weights carry over, this stage starts afresh; weights the
        # earlier stage lacked (e.g. a torso field added now) keep their initial values
        result = trainer.system.load_state_dict(state["model"], strict=False)
        if result.unexpected_keys:
            raise ValueError(
                f"{latest} (stage {stage!r}) holds weights this system lacks: "
                f"{result.unexpected_keys[:8]}"
            )
        if result.missing_keys:
            warnings.warn(
                f"{latest} (stage {stage!r}) lacks {len(result.missing_keys)} weights of this "
                f"system (e.g. {result.missing_keys[:3]}); they keep their initial values",
                stacklevel=3,
            )
        trainer.system.set_stage(trainer.stage)
    seed_everything(trainer.seed)
    trainer.generator.manual_seed(trainer.seed)
    return 0, 0.0, None
