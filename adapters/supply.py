"""What an adapter supplies so a backbone meets the training pipeline's contract
(:class:`~lokitalk_plugins.pipeline.TalkingHeadModel`), when the backbone is the original
codebase's model and lacks it.

- ``grid``: the model's :class:`~lokitalk_plugins.render.OccupancyGrid` (``model.grid``), or
  one the adapter builds over the head box (``grid_size`` cells a side, 128 as the
  originals), kept outside the model's state_dict (the wrap registers it as ``occupancy``);
- ``torso``, ``torso_condition``, ``forward_torso``: the model's torso field with the
  condition the model declares (the [1, 6] pose or the [1, 4, 4] camera-to-world; the
  adapter's default for an original that declares none) and our return dict:
  :meth:`torso_call` calls it (RAD-NeRF's original also takes enc_a) and :meth:`torso_output`
  turns the originals' (alpha, color, dx) tuple into the dict;
- ``camera_offset``: the originals' learnt camera offsets (``train_camera``), else none;
- ``audio_in_dim``: the K of the model's audio network (``model.audio_in_dim``);
- ``param_groups(stage)``: by the originals' submodule names (:mod:`~lokitalk_plugins.
  baselines.groups`); ``loss_terms(result, batch, progress)``: the model's ``regularisers``
  when it has them, else what the adapter's backbone defines (:meth:`original_loss_terms`);
  ``training_callbacks()``: the backbone's own (none for the originals).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from lokitalk_plugins.baselines.groups import original_param_groups
from lokitalk_plugins.render import OccupancyGrid

__all__ = ["TrainingSupply"]


class TrainingSupply:
    """Mixin of :class:`~.contract.BackboneAdapter` (needs ``self.model``, ``self.bound``).

    Subclasses set ``torso_condition`` (the condition of the original's torso field in our
    terms) and may override :meth:`torso_call`, :meth:`torso_output` and
    :meth:`original_loss_terms` for an original model."""

    torso_condition_default: ClassVar[str] = "pose"
    grid_size: ClassVar[int] = 128

    # --- occupancy grid -------------------------------------------------------------------
    @property
    def owns_grid(self) -> bool:
        """True when the model has no occupancy grid of its own and the adapter supplies it."""
        return not isinstance(getattr(self.model, "grid", None), OccupancyGrid)

    @property
    def grid(self) -> OccupancyGrid:
        if not self.owns_grid:
            return self.model.grid
        if getattr(self, "_grid", None) is None:
            b = self.bound
            param = next(self.model.parameters())
            self._grid = OccupancyGrid(
                resolution=self.grid_size, bound=b, aabb=(-b, -b / 2, -b, b, b / 2, b)
            ).to(param.device)
        return self._grid

    # --- torso ----------------------------------------------------------------------------
    @property
    def torso(self) -> bool:
        return bool(getattr(self.model, "torso", False))

    @property
    def torso_condition(self) -> str:
        """The model's declared torso condition, else the adapter's for its original."""
        own = getattr(self.model, "torso_condition", None)
        return own if isinstance(own, str) else self.torso_condition_default

    @property
    def audio_in_dim(self) -> int:
        return int(self.model.audio_in_dim)

    def forward_torso(self, x, cond, c=None) -> dict[str, torch.Tensor]:
        """x [N, 2] in [-1, 1], cond (see torso_condition), c [1, I_t] or None -> dict(alpha
        [N, 1], color [N, 3], deform [N, 2])."""
        return self.torso_output(self.torso_call(x, cond, c))

    def torso_call(self, x, cond, c):
        """The model's torso forward, ``forward_torso(x, cond, c=c)`` (the originals' names)."""
        return self.model.forward_torso(x, cond, c=c)

    def camera_offset(self, rays_o, rays_d, index: int):
        """The model's learnt camera offset of frame ``index`` (its ``camera_offset`` when it
        trains one, ``train_camera``); the rays unchanged otherwise."""
        own = getattr(self.model, "camera_offset", None)
        if callable(own) and getattr(self.model, "train_camera", False):
            return own(rays_o, rays_d, index)
        return rays_o, rays_d

    @staticmethod
    def torso_output(out) -> dict[str, torch.Tensor]:
        """Our dict, from a dict or from the originals' (alpha, color, dx) tuple."""
        if isinstance(out, dict):
            return out
        alpha, color, dx = out
        return {"alpha": alpha, "color": color, "deform": dx}

    # --- training -------------------------------------------------------------------------
    def param_groups(self, stage: str) -> dict[str, list[nn.Parameter]]:
        """What trains in ``stage`` by learning-rate group, from the originals' names."""
        return original_param_groups(self.model, stage)

    def loss_terms(self, result, batch, progress: float) -> dict[str, torch.Tensor]:
        """The backbone's own regularisers (weighted) on the render ``result`` of ``batch``."""
        own = getattr(self.model, "regularisers", None)
        if callable(own):
            return own(result, batch.rays, batch.frame, progress)
        return self.original_loss_terms(result, batch, progress)

    def training_callbacks(self) -> list:
        """The backbone's own work at "prepare" or "step": none for the originals (the
        pipeline refreshes the occupancy grid itself); the DH-NeRF's adapter gives its codes'
        initialisation."""
        return []

    def original_loss_terms(self, result, batch, progress: float) -> dict[str, torch.Tensor]:
        """The regularisers of an original model without a ``regularisers`` method: none by
        default; the built-in adapters give their backbone's."""
        return {}
