"""Checking, before anything is written, that ``latest.pt`` can be resumed by the built model.

``check_resume(model, latest, stages)`` refuses (ValueError naming the file) a checkpoint of
a stage after the last one asked for, one holding NaN or infinite tensors, and one whose
weights do not fit the model (names or shapes: a changed config). Without it these errors
came from the first stage's start, after ``lokitalk train`` had rewritten ``run.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from torch import nn

from lokitalk_plugins.errors import UserError
from lokitalk_plugins.train import checkpoint as ckpt
from lokitalk_plugins.train.system import STAGES
from lokitalk_plugins.train.weights import legacy_entries

__all__ = ["ResumeError", "check_resume"]


class ResumeError(UserError, ValueError):
    """A ``latest.pt`` that cannot be resumed as asked; names the file and what to do."""


def _listed(names: list[str]) -> str:
    return f"{len(names)} (e.g. {names[:3]})"


def check_resume(model: nn.Module, latest: str | Path, stages: Sequence[str]) -> None:
    """Raise ResumeError unless ``model`` can resume ``stages`` from ``latest`` (a missing
    file passes: there is nothing to resume)."""
    latest = Path(latest)
    if not latest.is_file():
        return
    state = ckpt.load_checkpoint(latest)
    stage = state.get("stage")
    if stage in STAGES and STAGES.index(stage) > max(STAGES.index(s) for s in stages):
        raise ResumeError(
            f"{latest} is from stage {stage!r}, after the stages asked for {tuple(stages)}; "
            "resume that stage (--stages), or train in a fresh workspace"
        )
    bad = ckpt.nonfinite_tensors(state)
    if bad:
        raise ResumeError(
            f"{latest} holds {len(bad)} NaN or infinite tensors (e.g. {bad[:3]}); it cannot be "
            "resumed: start again with --overwrite"
        )
    saved, own = state.get("model") or {}, model.state_dict()
    unexpected = [k for k in saved if k not in own]
    shapes = [
        f"{k} {tuple(saved[k].shape)} vs {tuple(own[k].shape)}"
        for k in saved
        if k in own and tuple(saved[k].shape) != tuple(own[k].shape)
    ]
    legacy = legacy_entries(model)  # entries a file written before them may lack
    missing = [k for k in own if k not in saved and k not in legacy] if stage in stages else []
    problems = [
        f"{what}: {_listed(names)}"
        for what, names in (
            ("unknown weights", unexpected),
            ("other shapes", shapes),
            ("missing weights", missing),
        )  # fmt: skip
        if names
    ]
    if problems:
        raise ResumeError(
            f"{latest} does not fit the model this config builds ({'; '.join(problems)}): "
            "resume with the configs and bindings it was trained with (see run.json), or "
            "start again with --overwrite"
        )
