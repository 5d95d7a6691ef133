"""GDRF's base model: one shared field pre-trained on several identities (sec. 4.1).

Each step takes a random frame of one identity, binds that identity's references, α and clip
(read once per identity) and trains the frame with the ordinary TalkingHeadSystem step, so
the encoder, warping network and f_θ learn to read any identity's references. Its
``forward(identity, step, total, generator)`` is what :func:`lokitalk_plugins.train.pretrain`
calls (one process or ``torchrun``); the occupancy grid is shared by the identities.
"""

from __future__ import annotations

import torch
from torch import nn

from lokitalk_plugins.pipeline.multi import share_occupancy

from .network import GDRF

__all__ = ["GDRFPretraining"]


class GDRFPretraining(nn.Module):
    """system: a TalkingHeadSystem whose model is a GDRF; datasets: one TalkingHeadFolder
    (train split) per identity, all of the same image size."""

    def __init__(self, system, datasets):
        super().__init__()
        if not isinstance(system.model, GDRF):
            raise ValueError(
                f"GDRF pre-training needs TalkingHeadSystem.model = @GDRF(), got "
                f"{type(system.model).__name__}: use configs/gdrf.gin"
            )
        if not datasets:
            raise ValueError("GDRF pre-training needs at least one identity")
        sizes = {(d.H, d.W) for d in datasets}
        if len(sizes) != 1:
            raise ValueError(f"every identity must have the same image size, got {sizes}")
        self.system, self.datasets = system, list(datasets)
        model = system.model
        self.contexts = [model.read_context(d) for d in self.datasets]
        model.fit_lstm_stats([c["clip"] for c in self.contexts])
        model.bind_context(self.contexts[0])
        share_occupancy(system, self.datasets)
        system.set_stage("head")

    @property
    def model(self) -> GDRF:
        return self.system.model

    def parameter_groups(self) -> list[dict]:
        return self.system.parameter_groups()

    def forward(self, identity: int, step: int, total_steps: int, generator: torch.Generator):
        """One step on a random frame of identity ``identity``: -> (loss, float logs)."""
        ds = self.datasets[int(identity)]
        i = int(torch.randint(0, len(ds), (1,), generator=generator))
        self.model.bind_context(self.contexts[int(identity)])
        out = self.system.training_step(ds[i], step, total_steps, generator)
        return out.loss, out.logs

    @torch.no_grad()
    def after_step(self, step: int, generator: torch.Generator) -> None:
        self.system.after_step(step, generator)
