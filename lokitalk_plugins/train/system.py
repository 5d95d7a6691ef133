"""What the trainer needs from a model: the ``TrainableSystem`` protocol.

The trainer is generic: it owns the loop, optimiser, schedules, EMA, logging, checkpoints and
resume; a *system* (an ``nn.Module``) owns everything about one kind of model: how a frame
becomes rays, how rays are rendered, which losses apply in which stage, which parameters are
trained with which learning rate. The talking-head system is the core's
:class:`lokitalk_plugins.pipeline.TalkingHeadSystem`, which knows models only through the
``TalkingHeadModel`` protocol; the core never imports a backbone.

Optional hooks the trainer calls when a system defines them (not part of the protocol):
``prepare(dataset)`` at the start of every stage, before ``set_stage`` (per-dataset set-up,
e.g. marking occupancy cells no camera sees), and ``check_dataset(dataset)`` when the trainer
is built, to raise a clear error (``DataMismatchError``/``ValueError``) before any step. The
trainer itself also compares every submodule's ``audio_in_dim`` with the dataset's features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch

__all__ = ["StepOutput", "TrainableSystem", "STAGES"]

# the stages of the originals: head, lips fine-tune, torso (head frozen)
STAGES = ("head", "lips", "torso")


@dataclass
class StepOutput:
    """loss: scalar tensor to minimise; logs: floats to log (e.g. psnr, each loss term)."""

    loss: torch.Tensor
    logs: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class TrainableSystem(Protocol):
    def set_stage(self, stage: str) -> None:
        """Switch to one of STAGES: sampling, losses and frozen parameters change with it."""

    def parameter_groups(self) -> list[dict[str, Any]]:
        """Optimiser groups for the current stage: dicts with "name", "params", "lr" (and
        optionally "weight_decay"); frozen parameters are left out."""

    def training_step(
        self, frame: Any, step: int, total_steps: int, generator: torch.Generator
    ) -> StepOutput:
        """One step on one frame of the dataset (rays drawn with ``generator``)."""

    def after_step(self, step: int, generator: torch.Generator) -> None:
        """Work between steps, e.g. the occupancy-grid refresh every 16 steps."""

    @torch.no_grad()
    def render_frame(self, frame: Any) -> dict[str, torch.Tensor]:
        """The whole frame: "rgb" [H, W, 3] in [0, 1] and "depth" [H, W] (more maps allowed)."""
