"""Multi-identity pre-training of a model with ID-AKT (LokiTalk sec. 3.3 and 4).

One shared model (backbone + RSDF + ID-AKT) trains on several identities: every step takes a
random frame of one identity and a random *reference* frame of the same clip, gives the
reference to the model (``bind_reference``: the ID-Encoder runs on it) and trains the frame
with the ordinary :class:`~.system.TalkingHeadSystem` step, so the encoder trains together
with the base model. Its ``forward(identity, step, total, generator)`` is what
:func:`lokitalk_plugins.train.pretrain` (one process or ``torchrun``) calls.

The occupancy grid is shared: cells no camera of any clip sees are marked unseen, and the
refresh every 16 steps draws the audio and eye value of any identity's frame, so the grid
follows the union of the identities (decay-and-max).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import nn

from lokitalk_plugins.data.audio import audio_window

from .system import TalkingHeadSystem

__all__ = ["MultiIdentitySystem", "ReferenceConditioned", "share_occupancy"]


def share_occupancy(system: TalkingHeadSystem, datasets) -> None:
    """One occupancy grid for several identities: cells no camera of any dataset sees are
    marked unseen; the refresh draws the audio and eye value of any identity's frame."""
    first = datasets[0]
    poses = torch.cat([d.poses for d in datasets])
    system.model.grid.mark_unseen(poses, first.intrinsics.tolist(), first.H, first.W)
    windows, eyes = [], []
    for d in datasets:
        windows += [audio_window(d.audio_features, a, d.num_audio_windows, d.audio_att)
                    for a in d.aud_ids]  # fmt: skip
        eyes.append(d.eye_values.reshape(-1, 1).float())
    system.set_occupancy_signals(torch.stack(windows), torch.cat(eyes))


@runtime_checkable
class ReferenceConditioned(Protocol):
    """A model pre-training an identity encoder: ``pretrains_identity`` is True when it
    holds the encoder; ``bind_reference(image [H, W, 3])`` conditions the next calls."""

    pretrains_identity: bool

    def bind_reference(self, image: torch.Tensor) -> None: ...


class MultiIdentitySystem(nn.Module):
    """system: a TalkingHeadSystem whose model is ``wrap(..., idakt=IDAKT)``; datasets: one
    TalkingHeadFolder (train split) per identity, all of the same image size."""

    def __init__(self, system: TalkingHeadSystem, datasets):
        super().__init__()
        model = system.model
        if not (isinstance(model, ReferenceConditioned) and model.pretrains_identity):
            raise ValueError(
                "pre-training needs wrap(..., idakt=...) with the ID-Encoder: add "
                "configs/idakt.gin (wrap.idakt = {...}) to the configs"
            )
        if not datasets:
            raise ValueError("pre-training needs at least one identity")
        sizes = {(d.H, d.W) for d in datasets}
        if len(sizes) != 1:
            raise ValueError(f"every identity must have the same image size, got {sizes}")
        self.system = system
        self.datasets = list(datasets)
        self._prepare()
        system.set_stage("head")

    @property
    def model(self) -> nn.Module:
        return self.system.model

    def _prepare(self) -> None:
        share_occupancy(self.system, self.datasets)

    def parameter_groups(self) -> list[dict]:
        return self.system.parameter_groups()

    def forward(self, identity: int, step: int, total_steps: int, generator: torch.Generator):
        """One step on identity ``identity``: -> (loss, float logs)."""
        ds = self.datasets[int(identity)]
        i, r = torch.randint(0, len(ds), (2,), generator=generator).tolist()
        self.model.bind_reference(ds[r].image)
        out = self.system.training_step(ds[i], step, total_steps, generator)
        return out.loss, out.logs

    @torch.no_grad()
    def after_step(self, step: int, generator: torch.Generator) -> None:
        self.system.after_step(step, generator)
