"""RAD-NeRF adapter: the Backbone contract on RAD-NeRF's original submodule names.

The head field's math is defined once, in :mod:`lokitalk_plugins.baselines.rad_nerf.field`
(functions of a model with the original's names), which the rebuilt RADNeRF calls too.
"""

from __future__ import annotations

import torch

from lokitalk_plugins.baselines.rad_nerf import field as rad_field
from lokitalk_plugins.baselines.rad_nerf.field import AMBIENT_BOUND
from lokitalk_plugins.baselines.regularisers import rad_nerf_regularisers

from .contract import BackboneAdapter

__all__ = ["AMBIENT_BOUND", "RADNeRFAdapter"]


class RADNeRFAdapter(BackboneAdapter):
    """RAD-NeRF's head field from ``encoder``, ``encoder_ambient``, ``ambient_net``,
    ``sigma_net``, ``encoder_dir``, ``color_net`` (plus ``audio_net``/``audio_att_net``,
    ``individual_codes``). density returns sigma [N], geo_feat [N, 64], ambient [N, 2] and
    ambient_abs [N] (|ambient|_1, the map RAD-NeRF's ambient loss sums along rays)."""

    name = "rad_nerf"
    required = (
        "encoder",
        "encoder_ambient",
        "ambient_net",
        "sigma_net",
        "encoder_dir",
        "color_net",
        "audio_net",
    )
    ray_extras = ("ambient_abs",)
    dynamic_mlps = ("ambient_net",)  # ID-AKT's dynamic half (identity_dynamic.py)
    torso_condition_default = "pose"

    def torso_call(self, x, pose, c):
        """The original's ``forward_torso(x, poses, enc_a, c)``: its torso field reads no
        audio (BACKBONES.md: the torso MLPs take position, pose and code only), so enc_a is
        None."""
        return self.model.forward_torso(x, pose, None, c=c)

    def static_condition(self, enc_a, eye):
        """No audio: the ambient net is bypassed (ambient coordinate 0, as the original does
        without audio); the eye input is 0."""
        return None, torch.zeros_like(eye)

    def original_loss_terms(self, result, batch, progress: float) -> dict[str, torch.Tensor]:
        """RAD-NeRF's ambient loss from this adapter's ``ambient_abs`` map."""
        return rad_nerf_regularisers(result, batch.rays, batch.frame, progress)

    # the field: the one definition in lokitalk_plugins.baselines.rad_nerf.field
    def encode_points(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 3] in [-bound, bound] -> [N, 32]."""
        return rad_field.encode_points(self.model, x, self.bound)

    def density(self, enc_x, enc_a, eye, nets=None) -> dict[str, torch.Tensor]:
        """enc_x [N, 32], enc_a [1 or N, A] or None, eye [1 or N, 1] (not an input without
        ``exp_eye``) -> sigma [N], geo_feat [N, 64], ambient [N, 2], ambient_abs [N]."""
        return rad_field.density(self.model, enc_x, enc_a, eye, nets)

    def sigma(self, enc_x, enc_a, eye, nets=None) -> torch.Tensor:
        """The density alone, sigma [N] (bit for bit ``density(...)["sigma"]``)."""
        return rad_field.sigma(self.model, enc_x, enc_a, eye, nets)

    def static_sigma(self, enc_x, enc_a, eye) -> torch.Tensor:
        """The static condition's density for occupancy refreshes (enc_a unused), equal to
        ``sigma(enc_x, None, 0)`` up to float rounding, cheaper: sigma_net's inputs cast
        before their concatenation, its last layer computing the density's row alone
        (:func:`~lokitalk_plugins.baselines.rad_nerf.field.sigma`'s refresh form)."""
        return rad_field.sigma(self.model, enc_x, None, torch.zeros_like(eye), refresh=True)

    def color(self, geo_feat: torch.Tensor, d: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """geo_feat [N, 64], d [N, 3], code [1, I] -> rgb [N, 3] in (0, 1)."""
        return rad_field.color(self.model, geo_feat, d, code)
