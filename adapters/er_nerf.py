"""ER-NeRF adapter: the Backbone contract on ER-NeRF's original submodule names.

Head field of ER-NeRF (tri-plane hash grids with region attention):

    enc_x   = [encoder_xy(x_xy), encoder_yz(x_yz), encoder_xz(x_xz)]     [N, 36]
    enc_w   = F_a * aud_ch_att_net(enc_x)                                 audio channel attention
    e       = eye * sigmoid(eye_att_net(enc_x))                           eye attention
    h       = sigma_net([enc_x, enc_w, e]),  sigma = exp(h_0), geo_feat = h_1:
    u       = softplus(unc_net(enc_x, detached))                          uncertainty
    rgb     = sigmoid(color_net([encoder_dir(d), geo_feat, code])) * 1.002 - 0.001
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lokitalk_plugins.encoding import triplane_project

from .contract import BackboneAdapter

__all__ = ["COLOR_STRETCH", "ERNeRFAdapter"]

COLOR_STRETCH = 0.001  # ER-NeRF's colour is a sigmoid stretched to [-0.001, 1.001]


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

    def encode_points(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 3] in [-bound, bound] -> [N, 36] (xy, yz, xz planes)."""
        m, b = self.model, self.bound
        xy, yz, xz = triplane_project(x)
        return torch.cat([m.encoder_xy(xy, bound=b), m.encoder_yz(yz, bound=b),
                          m.encoder_xz(xz, bound=b)], -1)  # fmt: skip

    def density(
        self, enc_x: torch.Tensor, enc_a: torch.Tensor, eye: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """enc_x [N, 36], enc_a [1 or N, A], eye [1 or N, 1] (not an input without ``exp_eye``)
        -> sigma [N], geo_feat [N, 64], ambient_aud [N], ambient_eye [N], uncertainty [N]."""
        m, n = self.model, enc_x.shape[0]
        aud_ch_att = m.aud_ch_att_net(enc_x)
        parts = [enc_x, enc_a.expand(n, -1) * aud_ch_att]
        if getattr(m, "exp_eye", True):
            eye_att = torch.sigmoid(m.eye_att_net(enc_x))
            parts.append(eye.expand(n, -1) * eye_att)
        else:  # without -O the density has no eye input and no eye attention
            eye_att = enc_x.new_zeros(n, 1)
        h = m.sigma_net(torch.cat(parts, -1))
        unc = F.softplus(m.unc_net(enc_x.detach()))[..., 0]
        return {
            "sigma": torch.exp(h[..., 0]),
            "geo_feat": h[..., 1:],
            "ambient_aud": aud_ch_att.norm(dim=-1),
            "ambient_eye": eye_att[..., 0],
            "uncertainty": unc,
        }

    def color(self, geo_feat: torch.Tensor, d: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """geo_feat [N, 64], d [N, 3], code [1, I] -> rgb [N, 3] in [-0.001, 1.001]."""
        m, n = self.model, geo_feat.shape[0]
        h = torch.cat([m.encoder_dir(d), geo_feat, code.expand(n, -1)], -1)
        return torch.sigmoid(m.color_net(h)) * (1 + 2 * COLOR_STRETCH) - COLOR_STRETCH
