"""Training from gin configuration: what ``lokitalk train`` calls.

>>> import lokitalk_plugins.registration          # registers the configurables (CLI does it)
>>> summary = train_from_config(["configs/rad_nerf.gin"], ["Trainer.val_every = 500"],
...                             data="data/obama", workspace="runs/obama")

``run_training`` is the configurable body (registered in gin as ``train``): it builds, from
gin, the system (``train.system = @TalkingHeadSystem``), each stage's datasets
(``train.dataset = @TalkingHeadFolder``) and trainers (``train.trainer = @Trainer``), each
inside the stage's gin scope so ``lips/Trainer.steps = 50000`` binds one stage only. Every
dataset, trainer and stage setup is built and checked before the first step of the first
stage, so a bad folder, a feature file of the wrong dim or a bad learning-rate name fails at
once. The core never imports a backbone: the factories come from gin.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gin

from lokitalk_plugins.train import checkpoint as ckpt
from lokitalk_plugins.train.config import ConfigError, parse_config_files
from lokitalk_plugins.train.resume_check import check_resume
from lokitalk_plugins.train.rng import seed_everything
from lokitalk_plugins.train.system import STAGES

__all__ = ["run_training", "train_from_config"]


def _configured(name: str, fallback: Callable) -> Callable:
    """The gin-configured callable registered as ``name`` (its bindings apply), else
    ``fallback`` (plain, no bindings) when nothing is registered under that name."""
    try:
        return gin.get_configurable(name)
    except (ValueError, KeyError):
        return fallback


def _accepts(fn: Callable, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _resume_stage(workspace: Path, stages: Sequence[str]) -> str | None:
    """The stage of ``latest.pt`` when it is one of ``stages`` (earlier ones are done)."""
    latest = workspace / "checkpoints" / ckpt.LATEST
    if not latest.is_file():
        return None
    stage = ckpt.load_checkpoint(latest).get("stage")
    return stage if stage in stages else None


def run_training(
    data: str | Path | None = None,
    workspace: str | Path | None = None,
    system: Callable[[], Any] | None = None,
    dataset: Callable[..., Any] | None = None,
    trainer: Callable[..., Any] | None = None,
    stages: Sequence[str] = ("head",),
    seed: int = 0,
    train_split: str = "train",
    val_split: str | None = "val",
    resume: bool = False,
    progress: bool = True,
    before_first_step: Callable[[Any], None] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Train ``stages`` in order on the folder ``data``, writing into ``workspace``.

    system: factory of the TrainableSystem (no arguments); dataset: factory called as
    dataset(root, split=...) (default: TalkingHeadFolder); trainer: factory of the
    stage's TrainerConfig (gin name ``Trainer``, called in the stage's scope); seed:
    seeds everything before the system is built; val_split: None trains without validation
    frames from another split; before_first_step(system): called once everything is built
    and checked, before the workspace is touched (``lokitalk train`` checks the disk and
    writes ``run.json`` there, so a refused start changes nothing); resume / overwrite: a
    workspace that holds a trained stage is refused without one of them (``overwrite`` starts
    again over its checkpoints). Returns {"workspace",
    "stages": {stage: summary}, "skipped"}.
    """
    from lokitalk_plugins.data.folder import TalkingHeadFolder
    from lokitalk_plugins.train.trainer import Trainer
    from lokitalk_plugins.train.trainer_config import TrainerConfig

    if data is None or workspace is None:
        raise ValueError(
            "no data folder or workspace: pass them, or bind train.data / train.workspace"
        )
    if system is None:
        raise ConfigError(
            "no system factory: bind train.system (e.g. train.system = "
            "@TalkingHeadSystem, as configs/base.gin does)"
        )
    stages = tuple(stages)
    bad = [s for s in stages if s not in STAGES]
    if bad or not stages:
        raise ValueError(f"stages must be a non-empty sequence of {STAGES}, got {stages}")
    dataset = dataset or _configured("TalkingHeadFolder", TalkingHeadFolder)
    trainer = trainer or _configured("Trainer", TrainerConfig)
    workspace = Path(workspace)
    quiet = {"validate": False} if _accepts(dataset, "validate") else {}
    extra = {"progress": progress} if _accepts(dataset, "progress") else {}
    sets = []  # everything is built and checked before any step; the folder validated once
    for i, stage in enumerate(stages):
        with gin.config_scope(stage):
            train_set = dataset(data, split=train_split, **extra, **(quiet if i else {}))
            val_set = dataset(data, split=val_split, **extra, **quiet) if val_split else None
        sets.append((train_set, val_set))
    seed_everything(seed)
    model = system()  # one system for every stage, outside the stage scopes
    built = []
    for stage, (train_set, val_set) in zip(stages, sets):
        with gin.config_scope(stage):
            built.append(
                Trainer(
                    model,
                    train_set,
                    workspace,
                    config=trainer(),
                    stage=stage,
                    val_dataset=val_set,
                    resume=resume,
                    overwrite=overwrite,
                    progress=progress,
                )
            )
    for t in built:
        if hasattr(t, "check"):
            t.check()
    if resume:
        check_resume(model, workspace / "checkpoints" / ckpt.LATEST, stages)
    if before_first_step is not None:
        before_first_step(model)
    start = _resume_stage(workspace, stages) if resume else None
    skip = stages[: stages.index(start)] if start else ()
    summaries = {}
    for stage, t in zip(stages, built):
        if stage in skip:
            continue
        summaries[stage] = t.run()
    return {"workspace": str(workspace), "stages": summaries, "skipped": list(skip)}


def train_from_config(
    config_files: Sequence[str | Path],
    bindings: Sequence[str] = (),
    data: str | Path | None = None,
    workspace: str | Path | None = None,
    *,
    stages: Sequence[str] | None = None,
    resume: bool = False,
    progress: bool = True,
    before_first_step: Callable[[Any], None] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Parse the gin files and bindings, then run the configured ``train``.

    data / workspace / stages given here override their gin bindings. The configurables must
    be registered first (``import lokitalk_plugins.registration``). Raises ConfigError for
    bad config, FolderValidationError for a bad folder, DataMismatchError for features that
    do not fit the model, all before the first step; a workspace with a trained stage
    needs ``resume`` (continue) or ``overwrite`` (start again).
    """
    parse_config_files(config_files, bindings)
    try:
        train = gin.get_configurable("train")
    except (ValueError, KeyError):
        raise ConfigError(
            "gin has no 'train' configurable: import lokitalk_plugins.registration "
            "before train_from_config (the CLI does)"
        ) from None
    kwargs: dict[str, Any] = {"resume": resume, "progress": progress, "overwrite": overwrite}
    if before_first_step is not None:
        kwargs["before_first_step"] = before_first_step
    for key, value in (("data", data), ("workspace", workspace), ("stages", stages)):
        if value is not None:
            kwargs[key] = tuple(value) if key == "stages" else value
    return train(**kwargs)
