"""Trainer, schedules, checkpoints and gin-driven training runs.

The names below are imported on first use (PEP 562), so importing a submodule stays cheap.
The trainer's own API: ``Trainer`` and its ``TrainerConfig``, ``train_from_config``,
``run_training``, ``load_checkpoint``, ``load_model_weights``, ``CheckpointError``,
``parse_config_files``;
multi-identity pre-training (one process or ``torchrun``): ``pretrain``, ``init_distributed``,
``shard_identities``; evaluation and rendering: ``save_eval``, ``render_video``,
``write_video``, ``side_by_side`` (and ``evaluate.evaluate``, ``drive.drive`` from their
submodules, whose names they share).
"""

from __future__ import annotations

from lokitalk_plugins._lazy import lazy_exports

# public name -> submodule defining it
_EXPORTS = {
    "STAGES": "system",
    "StepOutput": "system",
    "TrainableSystem": "system",
    "Trainer": "trainer",
    "TrainerConfig": "trainer_config",
    "EMA": "ema",
    "build_optimizer": "optim",
    "build_scheduler": "optim",
    "lr_multiplier": "optim",
    "CheckpointError": "checkpoint",
    "load_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "load_model_weights": "weights",
    "OCCUPANCY_BUFFERS": "weights",
    "ConfigError": "config",
    "parse_config_files": "config",
    "DataMismatchError": "preflight",
    "run_training": "run",
    "train_from_config": "run",
    "seed_everything": "rng",
    "save_eval": "eval_report",
    "write_video": "video",
    "side_by_side": "video",
    "render_video": "render_clip",
    "DistributedContext": "distributed",
    "init_distributed": "distributed",
    "cleanup_distributed": "distributed",
    "shard_identities": "distributed",
    "all_reduce_buffers_max": "distributed",
    "pretrain": "pretrain_loop",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
