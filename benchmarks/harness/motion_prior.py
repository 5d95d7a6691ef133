"""F_a = the Audio2Motion prior mean (LokiTalk sec. 3.2) in the settings that use RSDF: the
harness trains one Audio2Motion VAE on the scored folder's train split (``lokitalk
audio2motion``'s training, a task of the harness's process pool), caches it, and adds
``benchmarks/gin-configs/shared/audio2motion.gin`` (the packaged ``configs/audio2motion.gin`` and
the checkpoint's path, the AUDIO2MOTION macro) to the methods that take it."""

from __future__ import annotations

import json
from pathlib import Path

from .experiments import config, run_bindings

__all__ = [
    "A2M_CONFIG",
    "A2M_STEPS",
    "audio2motion_checkpoint",
    "checkpoint_path",
    "f_a_note",
    "for_run",
    "planned_for_run",
    "summary",
    "training_task",
    "with_audio2motion",
]

A2M_CONFIG = "shared/audio2motion"  # under benchmarks/gin-configs
# optimiser steps of the VAE per profile (the command's default is 2000)
A2M_STEPS = {"micro": 50, "quick": 500, "default": 2000, "full": 2000}


def _train(data: str, out: str, steps: int) -> None:
    from lokitalk_plugins.train.audio2motion import train_audio2motion

    summary = train_audio2motion(data, out, steps=steps, seed=0, progress=False)
    Path(f"{out}.json").write_text(json.dumps(summary, default=str))


def checkpoint_path(data: Path, cache: Path, steps: int) -> Path:
    """Where the VAE of ``data`` trained ``steps`` steps is cached."""
    return Path(cache) / f"a2m_{Path(data).name}_{steps}steps.pt"


def training_task(data: Path, path: Path, steps: int) -> tuple | None:
    """The harness pool's task that trains the VAE of ``data`` to ``path`` (a
    :func:`~.workers.run_pool` task), or None when ``path`` is already there."""
    if Path(path).is_file():
        return None
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    print(f"training Audio2Motion on {data} ({steps} steps) -> {path}", flush=True)
    return (f"training Audio2Motion on {data}", _train, (str(data), str(path), steps))


def summary(path: Path, steps: int, cached: bool) -> dict:
    """The report's record of a trained VAE: {"path", "steps", "cached", and the training
    summary written beside it}."""
    info_file = Path(f"{path}.json")
    info = json.loads(info_file.read_text()) if info_file.is_file() else {}
    return dict(info, path=str(path), steps=steps, cached=cached)


def audio2motion_checkpoint(data: Path, cache: Path, steps: int) -> dict:
    """The VAE of ``data`` trained ``steps`` steps: ``cache/a2m_<folder>_<steps>steps.pt``,
    trained now unless there. -> :func:`summary`."""
    path = checkpoint_path(data, cache, steps)
    cached = path.is_file()
    task = training_task(data, path, steps)
    if task is not None:
        from .workers import run_pool

        run_pool([task], 1)
    return summary(path, steps, cached)


def with_audio2motion(method: dict, checkpoint: str) -> dict:
    """``method`` with RSDF's F_a from the Audio2Motion at ``checkpoint`` (frozen)."""
    return dict(
        method,
        configs=[*method["configs"], config(A2M_CONFIG)],
        bindings=[*method["bindings"], *run_bindings(audio2motion=checkpoint)],
        f_a="audio2motion",
    )


def for_run(args, source, work: Path) -> dict | None:
    """The run's Audio2Motion (``audio2motion_checkpoint`` of the scored folder, cached under
    the data source's ``a2m`` folder), or None with ``--f-a backbone``."""
    path = planned_for_run(args, source, work)
    if path is None:
        return None
    return audio2motion_checkpoint(source.data, path.parent, A2M_STEPS[args.profile])


def planned_for_run(args, source, work: Path) -> Path | None:
    """Where :func:`for_run`'s checkpoint is (trained or not yet), or None with ``--f-a
    backbone``."""
    if getattr(args, "f_a", "audio2motion") != "audio2motion":
        return None
    steps = A2M_STEPS[args.profile]
    return checkpoint_path(source.data, source.work_dir(work, "a2m"), steps)


def f_a_note(report: dict, who: str) -> list[str]:
    """Markdown lines saying what RSDF's F_a was in ``who`` (the report's ``audio2motion``)."""
    a2m = report.get("audio2motion")
    if a2m:
        what = (f"the prior mean of an Audio2Motion VAE trained {a2m['steps']} steps on the "
                "scored folder's train split (frozen; LokiTalk sec. 3.2)")  # fmt: skip
    elif "audio2motion" in report:
        what = "the backbone's own audio feature (`--f-a backbone`)"
    else:  # reports written before the harness trained an Audio2Motion
        what = "the backbone's own audio feature"
    return ["", f"F_a of {who}: {what}. With a deformation field the backbone's field sees no "
            "audio or eye (one static canonical space, eq. 5)."]  # fmt: skip
