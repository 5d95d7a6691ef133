"""The cap of occupied samples a ray, raised while it cuts training rays short.

Training and inference keep the first ``TalkingHeadSystem.max_samples`` occupied samples of
each ray (16, the originals'). A field whose density is soft in front of its surface (a
deformation plug-in in the static canonical space, measured on the studio's Table 2) spends
those samples before the ray turns opaque: the step's ``cut_short`` log
(:meth:`~lokitalk_plugins.render.RenderResult.cut_short`) reads the share of rays the cap cut
while their alpha stayed below 0.95. With ``SampleCap.limit`` the head stage raises the cap
while that share stays high, so a sharp field keeps the originals' 16 samples and a soft one
gets the samples it needs. The cap never falls; it is saved with the weights (the system's
``sample_cap.value``) and renders the trained model at inference.
"""

from __future__ import annotations

import torch
from torch import nn

from .options import SampleCap

__all__ = ["SampleCapState"]


class SampleCapState(nn.Module):
    """The current cap of a system's renderer and the rule that raises it.

    base: the cap training starts from (``TalkingHeadSystem.max_samples``; None: no cap,
    saved as -1, and the rule never applies); rule: a
    :class:`~.options.SampleCap`; renderer: the :class:`~lokitalk_plugins.render.VolumeRenderer`
    whose ``max_samples`` follows the cap (set at every change and at every load).
    Call :meth:`note` with each head-stage step's ``cut_short`` and :meth:`check` after the
    step: every ``rule.window`` steps past the ``rule.warmup`` share of the stage, a window
    mean above ``rule.target`` raises the cap by ``base`` (16 -> 32 -> 48 ...) up to
    ``rule.limit``.
    """

    def __init__(self, base: int, rule: SampleCap, renderer):
        super().__init__()
        self.base, self.rule, self.renderer = base, rule, renderer
        self.register_buffer("value", self._stored(base))
        self._sum, self._count = 0.0, 0
        renderer.max_samples = self.base

    @staticmethod
    def _stored(cap: int | None) -> torch.Tensor:
        return torch.tensor(-1 if cap is None else int(cap), dtype=torch.long)

    @property
    def cap(self) -> int | None:
        """The current cap (None: no cap)."""
        value = int(self.value)
        return None if value < 0 else value

    @property
    def follows(self) -> bool:
        """Whether the rule may raise the cap (``SampleCap.limit`` above a base cap)."""
        return self.base is not None and self.rule.limit > self.base

    def legacy_state(self) -> dict[str, torch.Tensor]:
        """What a checkpoint written before the cap was saved holds in its place: the base
        cap its configuration trained with."""
        return {"value": self._stored(self.base)}

    def note(self, cut_short: float) -> None:
        """One training step's share of rays cut short."""
        self._sum += float(cut_short)
        self._count += 1

    def check(self, step: int, total_steps: int) -> bool:
        """After the 0-based training ``step`` of ``total_steps``: at the end of each window,
        past the warm-up, raise the cap when the window's mean ``cut_short`` is above the
        target. Returns True when the cap rose."""
        rule = self.rule
        if not self.follows or (step + 1) % rule.window:
            return False
        mean = self._sum / self._count if self._count else 0.0
        self._sum, self._count = 0.0, 0
        if step + 1 < rule.warmup * total_steps or self.cap >= rule.limit or mean <= rule.target:
            return False
        self.value.fill_(min(rule.limit, self.cap + self.base))
        self.renderer.max_samples = self.cap
        return True

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self.renderer.max_samples = self.cap
