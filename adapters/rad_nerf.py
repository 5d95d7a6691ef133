"""RAD-NeRF adapter: the Backbone contract on RAD-NeRF's original submodule names.

Head field of RAD-NeRF (audio-spatial decomposition):

    enc_x   = encoder(x, bound)                              3D tiled grid, [N, 32]
    ambient = tanh(ambient_net([enc_x, F_a]))                 [N, 2] in [-1, 1]
    enc_w   = encoder_ambient(ambient, bound=1)               2D grid over the ambient plane
    h       = sigma_net([enc_x, enc_w, eye])                  [N, 1 + 64]
    sigma   = trunc_exp(h_0),  geo_feat = h_1:
    rgb     = sigmoid(color_net([encoder_dir(d), geo_feat, code]))
"""

from __future__ import annotations

import torch

from lokitalk_plugins.layers import trunc_exp

from .contract import BackboneAdapter

__all__ = ["AMBIENT_BOUND", "RADNeRFAdapter"]

AMBIENT_BOUND = 1.0  # the ambient coordinate is a tanh, so its grid spans [-1, 1]


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

    def encode_points(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 3] in [-bound, bound] -> [N, 32]."""
        return self.model.encoder(x, bound=self.bound)

    def density(
        self, enc_x: torch.Tensor, enc_a: torch.Tensor, eye: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """enc_x [N, 32], enc_a [1 or N, A] or None, eye [1 or N, 1] (not an input without
        ``exp_eye``) -> sigma [N], geo_feat [N, 64], ambient [N, 2], ambient_abs [N]."""
        m, n = self.model, enc_x.shape[0]
        if enc_a is None:  # no audio: the ambient coordinate is 0, as in the original
            ambient = enc_x.new_zeros(n, int(getattr(m, "ambient_dim", 2)))
        else:
            ambient = torch.tanh(m.ambient_net(torch.cat([enc_x, enc_a.expand(n, -1)], -1)))
        enc_w = m.encoder_ambient(ambient, bound=AMBIENT_BOUND)
        eye_in = [eye.expand(n, -1)] if getattr(m, "exp_eye", True) else []
        h = m.sigma_net(torch.cat([enc_x, enc_w, *eye_in], -1))
        return {
            "sigma": trunc_exp(h[..., 0]),
            "geo_feat": h[..., 1:],
            "ambient": ambient,
            "ambient_abs": ambient.abs().sum(-1),
        }

    def color(self, geo_feat: torch.Tensor, d: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """geo_feat [N, 64], d [N, 3], code [1, I] -> rgb [N, 3] in (0, 1)."""
        m, n = self.model, geo_feat.shape[0]
        h = torch.cat([m.encoder_dir(d), geo_feat, code.expand(n, -1)], -1)
        return torch.sigmoid(m.color_net(h))
