"""ER-NeRF adapter: the Backbone contract on ER-NeRF's original submodule names.

The head field's math is defined once, in :mod:`lokitalk_plugins.baselines.er_nerf.field`
(functions of a model with the original's names), which the rebuilt ERNeRF calls too.
"""

from __future__ import annotations

import torch

from lokitalk_plugins.baselines.er_nerf import field as er_field
from lokitalk_plugins.baselines.er_nerf.field import COLOR_STRETCH
from lokitalk_plugins.baselines.regularisers import er_nerf_regularisers

from .contract import BackboneAdapter

__all__ = ["COLOR_STRETCH", "ERNeRFAdapter"]


class ERNeRFAdapter(BackboneAdapter):
    """ER-NeRF's head field from ``encoder_xy``, ``encoder_yz``, ``encoder_xz``,
    ``aud_ch_att_net``, ``eye_att_net``, ``sigma_net``, ``unc_net``, ``encoder_dir``,
    ``color_net`` (plus ``audio_net``/``audio_att_net``, ``individual_codes``). density
    returns sigma [N], geo_feat [N, 64], ambient_aud [N] (norm of the audio channel
    attention), ambient_eye [N] (eye attention), uncertainty [N]."""

    name = "er_nerf"
    required = (
        "encoder_xy",
        "encoder_yz",
        "encoder_xz",
        "aud_ch_att_net",
        "eye_att_net",
        "sigma_net",
        "unc_net",
        "encoder_dir",
        "color_net",
        "audio_net",
    )
    ray_extras = ("ambient_aud", "ambient_eye", "uncertainty")
    dynamic_mlps = ("aud_ch_att_net", "eye_att_net")  # ID-AKT's dynamic half (identity_dynamic.py)
    torso_condition_default = "c2w"  # the original's forward_torso(x, poses [1, 4, 4], c)

    def static_condition(self, enc_a, eye):
        """No audio and no eye: sigma_net gets zeros in their place and the region-attention
        nets do not run (their maps are zeros, so the originals' attention terms vanish
        instead of training attention the canonical field never uses)."""
        return None, None

    def original_loss_terms(self, result, batch, progress: float) -> dict[str, torch.Tensor]:
        """ER-NeRF's region-attention and uncertainty terms from this adapter's maps."""
        return er_nerf_regularisers(result, batch.rays, batch.frame, progress)

    # the field: the one definition in lokitalk_plugins.baselines.er_nerf.field
    def encode_points(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 3] in [-bound, bound] -> [N, 36] (xy, yz, xz planes)."""
        return er_field.encode_points(self.model, x, self.bound)

    def static_sigma(self, enc_x, enc_a=None, eye=None) -> torch.Tensor:
        """The static condition's density (enc_a, eye unused), equal to ``sigma(enc_x, None,
        None)`` up to float rounding, cheaper (:func:`~lokitalk_plugins.baselines.er_nerf.
        field.static_sigma`)."""
        return er_field.static_sigma(self.model, enc_x)

    def lattice_encoder(self, axes: torch.Tensor, dtype: torch.dtype | None = None):
        """axes [3, r] -> ijk [K, 3] -> enc_x [K, 36]: the three planes encoded once at the
        r^2 points each (:func:`~lokitalk_plugins.baselines.er_nerf.field.lattice_encoder`),
        their table cast to ``dtype`` once when given."""
        return er_field.lattice_encoder(self.model, axes, self.bound, dtype)

    def density(self, enc_x, enc_a, eye, nets=None) -> dict[str, torch.Tensor]:
        """enc_x [N, 36], enc_a [1 or N, A], eye [1 or N, 1] (not an input without ``exp_eye``),
        or both None (the static condition) -> sigma [N], geo_feat [N, 64], ambient_aud [N],
        ambient_eye [N], uncertainty [N]."""
        return er_field.density(self.model, enc_x, enc_a, eye, nets)

    def sigma(self, enc_x, enc_a, eye, nets=None) -> torch.Tensor:
        """The density alone, sigma [N] (bit for bit ``density(...)["sigma"]``)."""
        return er_field.sigma(self.model, enc_x, enc_a, eye, nets)

    def color(self, geo_feat: torch.Tensor, d: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """geo_feat [N, 64], d [N, 3], code [1, I] -> rgb [N, 3] in [-0.001, 1.001]."""
        return er_field.color(self.model, geo_feat, d, code)
