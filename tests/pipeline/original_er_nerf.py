"""A user's own backbone, outside the package: a model with the original ER-NeRF's
constructor (``NeRFNetwork(opt)``), submodule names, ``forward(x, d, enc_a, c, e=None)`` ->
(sigma, color, aud_ch_att, eye_att, uncertainty) tuple, ``density(x, enc_a, e, enc_x)`` and
``forward_torso(x, poses [1, 4, 4] camera-to-world, c)`` -> (alpha, color, dx). It has no
occupancy grid, no torso condition, no regularisers and no parameter groups: the adapter
supplies them. Built from the package's layers (the names and shapes are the original's).

Importing this module (a gin file can: ``import original_er_nerf``) registers the factory
``OriginalERNeRF`` with gin and the adapter ``er_nerf_original`` with the backbone registry.
"""

from __future__ import annotations

from types import SimpleNamespace

import gin
import torch
from torch import nn

from lokitalk_plugins.adapters import ERNeRFAdapter, available_backbones, register_backbone
from lokitalk_plugins.encoding import FrequencyEncoder, GridEncoder, SHEncoder
from lokitalk_plugins.layers import MLP
from lokitalk_plugins.signals.audio import AudioAttNet, AudioNet

__all__ = ["NeRFNetwork", "OriginalERNeRFAdapter", "original_er_nerf"]

AUDIO_IN = {"esperanto": 44, "deepspeech": 29, "hubert": 1024}


class NeRFNetwork(nn.Module):
    """The original's interface: opt.asr_model, att, bound, ind_num, ind_dim,
    ind_dim_torso, torso, torso_shrink, exp_eye."""

    def __init__(self, opt):
        super().__init__()
        self.opt, self.bound, self.torso = opt, opt.bound, opt.torso
        self.exp_eye = opt.exp_eye
        self.audio_in_dim = next((v for k, v in AUDIO_IN.items() if k in opt.asr_model), 32)
        self.audio_dim = 32
        self.audio_net = AudioNet(self.audio_in_dim, self.audio_dim)
        self.att = opt.att
        if self.att > 0:
            self.audio_att_net = AudioAttNet(self.audio_dim)
        self.individual_codes = nn.Parameter(torch.randn(opt.ind_num, opt.ind_dim) * 0.1)
        plane = dict(input_dim=2, num_levels=12, level_dim=1, base_resolution=64,
                     log2_hashmap_size=14, desired_resolution=512 * self.bound,
                     gridtype="hash", bound=self.bound, backend="torch")  # fmt: skip
        self.encoder_xy = GridEncoder(**plane)
        self.encoder_yz = GridEncoder(**plane)
        self.encoder_xz = GridEncoder(**plane)
        self.in_dim = 36
        self.eye_att_net = MLP(self.in_dim, 1, 16, 2)
        self.sigma_net = MLP(self.in_dim + self.audio_dim + 1, 65, 64, 3)
        self.encoder_dir = SHEncoder(degree=4)
        self.color_net = MLP(self.encoder_dir.output_dim + 64 + opt.ind_dim, 3, 64, 2)
        self.unc_net = MLP(self.in_dim, 1, 32, 2)
        self.aud_ch_att_net = MLP(self.in_dim, self.audio_dim, 64, 2)
        if self.torso:
            t = opt.ind_dim_torso
            self.individual_codes_torso = nn.Parameter(torch.randn(opt.ind_num, t) * 0.1)
            self.anchor_points = nn.Parameter(torch.tensor(
                [[0.01, 0.01, 0.1, 1], [-0.1, -0.1, 0.1, 1], [0.1, -0.1, 0.1, 1]]))  # fmt: skip
            self.torso_deform_encoder = FrequencyEncoder(input_dim=2, max_freq_log2=7, n_freqs=8)
            self.anchor_encoder = FrequencyEncoder(input_dim=6, max_freq_log2=2, n_freqs=3)
            enc, anc = self.torso_deform_encoder.output_dim, self.anchor_encoder.output_dim
            self.torso_deform_net = MLP(enc + anc + t, 2, 32, 3)
            self.torso_encoder = GridEncoder(input_dim=2, num_levels=16, level_dim=2,
                                             base_resolution=16, log2_hashmap_size=16,
                                             desired_resolution=2048, gridtype="tiled",
                                             bound=1.0, backend="torch")  # fmt: skip
            self.torso_net = MLP(self.torso_encoder.output_dim + enc + anc + t, 4, 32, 3)

    def encode_x(self, xyz, bound):
        xy, yz, xz = xyz[:, :-1], xyz[:, 1:], torch.cat([xyz[:, :1], xyz[:, -1:]], dim=-1)
        return torch.cat([self.encoder_xy(xy, bound=bound), self.encoder_yz(yz, bound=bound),
                          self.encoder_xz(xz, bound=bound)], dim=-1)  # fmt: skip

    def encode_audio(self, a):
        enc_a = self.audio_net(a)
        return self.audio_att_net(enc_a.unsqueeze(0)) if self.att > 0 else enc_a

    def density(self, x, enc_a, e=None, enc_x=None):
        if enc_x is None:
            enc_x = self.encode_x(x, bound=self.bound)
        aud_ch_att = self.aud_ch_att_net(enc_x)
        enc_w = enc_a.repeat(enc_x.shape[0], 1) * aud_ch_att
        eye_att = torch.sigmoid(self.eye_att_net(enc_x))
        h = self.sigma_net(torch.cat([enc_x, enc_w, e * eye_att], dim=-1))
        aud = aud_ch_att.norm(dim=-1, keepdim=True)
        return {"sigma": torch.exp(h[..., 0]), "geo_feat": h[..., 1:], "ambient_aud": aud,
                "ambient_eye": eye_att}  # fmt: skip

    def forward(self, x, d, enc_a, c, e=None):
        enc_x = self.encode_x(x, bound=self.bound)
        out = self.density(x, enc_a, e, enc_x)
        h = torch.cat([self.encoder_dir(d), out["geo_feat"], c.repeat(x.shape[0], 1)], dim=-1)
        color = torch.sigmoid(self.color_net(h)) * (1 + 2 * 0.001) - 0.001
        unc = torch.log(1 + torch.exp(self.unc_net(enc_x.detach())))
        return out["sigma"], color, out["ambient_aud"], out["ambient_eye"], unc[..., None]

    def forward_torso(self, x, poses, c=None):
        x = x * self.opt.torso_shrink
        anchor = self.anchor_points[None, ...] @ poses.permute(0, 2, 1).inverse()
        anchor = (anchor[:, :, :2] / anchor[:, :, 3, None] / anchor[:, :, 2, None]).view(1, -1)
        enc_anchor = self.anchor_encoder(anchor).repeat(x.shape[0], 1)
        h = torch.cat([self.torso_deform_encoder(x), enc_anchor, c.repeat(x.shape[0], 1)], -1)
        dx = self.torso_deform_net(h)
        x = (x + dx).clamp(-1, 1)
        h = self.torso_net(torch.cat([self.torso_encoder(x, bound=1), h], dim=-1))
        alpha = torch.sigmoid(h[..., :1]) * (1 + 2 * 0.001) - 0.001
        color = torch.sigmoid(h[..., 1:]) * (1 + 2 * 0.001) - 0.001
        return alpha, color, dx


def original_er_nerf(asr_model="deepspeech", att=2, bound=1.0, ind_num=10000, ind_dim=4,
                     ind_dim_torso=8, torso=False, torso_shrink=0.8, exp_eye=True):  # fmt: skip
    """A user's factory: the original's ``opt`` namespace from plain keyword arguments."""
    opt = SimpleNamespace(asr_model=asr_model, att=att, bound=bound, ind_num=ind_num,
                          ind_dim=ind_dim, ind_dim_torso=ind_dim_torso, torso=torso,
                          torso_shrink=torso_shrink, exp_eye=exp_eye)  # fmt: skip
    return NeRFNetwork(opt)


class OriginalERNeRFAdapter(ERNeRFAdapter):
    """The built-in ER-NeRF adapter with a small occupancy grid for CPU tests; it also
    requires the original's ``opt``, so it is detected for the original only (the most
    specific fit wins) and the rebuilt ERNeRF keeps the built-in adapter."""

    name = "er_nerf_original"
    required = (*ERNeRFAdapter.required, "opt")
    grid_size = 32


if OriginalERNeRFAdapter.name not in available_backbones():
    register_backbone(OriginalERNeRFAdapter.name, OriginalERNeRFAdapter)
    gin.external_configurable(original_er_nerf, "OriginalERNeRF")
