"""Multi-identity pre-training of a wrapped backbone with ID-AKT (LokiTalk sec. 3.3 and 4).

One shared model (backbone + RSDF + ID-AKT) trains on several identities: every step takes a
random frame of one identity and a random *reference* frame of the same clip, runs the
ID-Encoder on the reference (:meth:`~lokitalk_plugins.adapters.WrappedModel.bind_reference`)
and trains the frame with the ordinary :class:`~.system.TalkingHeadSystem` step, so the
encoder trains together with the base model. Its ``forward(identity, step, total, generator)``
is what :func:`lokitalk_plugins.train.pretrain` (one process or ``torchrun``) calls.

The occupancy grid is shared: cells no camera of any clip sees are marked unseen, and the
refresh every 16 steps uses the audio, eye value and reference of the last step's identity,
so the grid follows the union of the identities (decay-and-max).
"""

from __future__ import annotations

import torch
from torch import nn

from lokitalk_plugins.data.audio import audio_window

from .system import TalkingHeadSystem

__all__ = ["MultiIdentitySystem"]


class MultiIdentitySystem(nn.Module):
    """system: a TalkingHeadSystem whose model is ``wrap(..., idakt=IDAKT)``; datasets: one
    TalkingHeadFolder (train split) per identity, all of the same image size."""

    def __init__(self, system: TalkingHeadSystem, datasets):
        super().__init__()
        model = system.model
        if getattr(model, "idakt", None) is None or not hasattr(model.idakt, "encoder"):
            raise ValueError("pre-training needs wrap(..., idakt=...) with the ID-Encoder")
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
        first = self.datasets[0]
        poses = torch.cat([d.poses for d in self.datasets])
        self.model.grid.mark_unseen(poses, first.intrinsics.tolist(), first.H, first.W)
        windows, eyes = [], []
        for d in self.datasets:
            att = getattr(d, "audio_att", 2)
            windows += [audio_window(d.audio_features, a, d.num_audio_windows, att)
                        for a in d.aud_ids]  # fmt: skip
            eyes.append(d.eye_values.reshape(-1, 1).float())
        self.system._audio_bank = torch.stack(windows)
        self.system._eye_bank = torch.cat(eyes)

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
