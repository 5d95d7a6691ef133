"""A user's own backbone, outside the package: a model with the original RAD-NeRF's
constructor (``NeRFNetwork(opt)``), submodule names, ``forward(x, d, enc_a, c, e=None)`` ->
(sigma, color, ambient) tuple, ``density(x, enc_a, e=None)`` -> {"sigma", "geo_feat"} and
``forward_torso(x, poses [1, 6] head pose, enc_a, c=None)`` -> (alpha, color, dx): its torso
takes the audio feature as a third positional argument (and reads none of it). It has no
occupancy grid, no torso condition, no regularisers and no parameter groups: the adapter
supplies them. Built from the package's layers (the names and shapes are the original's:
BACKBONES.md and the manifest rad_nerf_k29_torso.json).

Importing this module (a gin file can: ``import original_rad_nerf``) registers the factory
``OriginalRADNeRF`` with gin and the adapter ``rad_nerf_original`` with the backbone registry.
"""

from __future__ import annotations

from types import SimpleNamespace

import gin
import torch
from torch import nn

from lokitalk_plugins.adapters import RADNeRFAdapter, available_backbones, register_backbone
from lokitalk_plugins.encoding import FrequencyEncoder, GridEncoder, SHEncoder
from lokitalk_plugins.layers import MLP, trunc_exp
from lokitalk_plugins.signals.audio import AudioAttNet, AudioNet

__all__ = ["NeRFNetwork", "OriginalRADNeRFAdapter", "original_rad_nerf"]

AUDIO_IN = {"esperanto": 44, "deepspeech": 29}


def _tiled(input_dim: int, finest: float) -> GridEncoder:
    """The original's 'tiledgrid': 16 levels x 2 features, base 16, table 2^16."""
    return GridEncoder(input_dim=input_dim, num_levels=16, level_dim=2, base_resolution=16,
                       log2_hashmap_size=16, desired_resolution=finest, gridtype="tiled",
                       backend="torch")  # fmt: skip


class NeRFNetwork(nn.Module):
    """The original's interface: opt.asr_model, att, bound, emb, ind_num, ind_dim,
    ind_dim_torso, torso, torso_shrink, exp_eye (sizes fixed as in the original)."""

    def __init__(self, opt):
        super().__init__()
        self.opt, self.bound, self.torso = opt, opt.bound, opt.torso
        self.exp_eye, self.emb, self.att = opt.exp_eye, opt.emb, opt.att
        self.audio_in_dim = next((v for k, v in AUDIO_IN.items() if k in opt.asr_model), 32)
        self.audio_dim, self.ambient_dim = 64, 2
        self.individual_dim, self.individual_dim_torso = opt.ind_dim, opt.ind_dim_torso
        self.individual_codes = nn.Parameter(torch.randn(opt.ind_num, opt.ind_dim) * 0.1)
        self.audio_net = AudioNet(self.audio_in_dim, self.audio_dim)
        if self.att > 0:
            self.audio_att_net = AudioAttNet(self.audio_dim)
        self.encoder = _tiled(3, 2048 * self.bound)
        self.encoder_ambient = _tiled(self.ambient_dim, 2048)
        self.ambient_net = MLP(32 + self.audio_dim, self.ambient_dim, 64, 3)
        self.sigma_net = MLP(32 + 32 + int(self.exp_eye), 1 + 64, 64, 3)
        self.encoder_dir = SHEncoder(degree=4)
        self.color_net = MLP(self.encoder_dir.output_dim + 64 + opt.ind_dim, 3, 64, 2)
        if self.torso:
            t = opt.ind_dim_torso
            self.individual_codes_torso = nn.Parameter(torch.randn(opt.ind_num, t) * 0.1)
            self.torso_deform_encoder = FrequencyEncoder(input_dim=2, max_freq_log2=9, n_freqs=10)
            self.pose_encoder = FrequencyEncoder(input_dim=6, max_freq_log2=3, n_freqs=4)
            enc, pose = self.torso_deform_encoder.output_dim, self.pose_encoder.output_dim
            self.torso_deform_net = MLP(enc + pose + t, 2, 64, 3)
            self.torso_encoder = _tiled(2, 2048)
            self.torso_net = MLP(self.torso_encoder.output_dim + enc + pose + t, 4, 32, 3)

    def encode_audio(self, a):
        if a is None:
            return None
        enc_a = self.audio_net(a)
        return self.audio_att_net(enc_a.unsqueeze(0)) if self.att > 0 else enc_a

    def _sigma(self, x, enc_a, e):
        enc_x = self.encoder(x, bound=self.bound)
        if enc_a is None:
            ambient = torch.zeros_like(x[:, : self.ambient_dim])
        else:
            h = torch.cat([enc_x, enc_a.repeat(x.shape[0], 1)], dim=1)
            ambient = torch.tanh(self.ambient_net(h).float())
        parts = [enc_x, self.encoder_ambient(ambient, bound=1)]
        if e is not None:
            parts.append(e.repeat(x.shape[0], 1))
        h = self.sigma_net(torch.cat(parts, dim=-1))
        return trunc_exp(h[..., 0]), h[..., 1:], ambient

    def density(self, x, enc_a, e=None):
        sigma, geo_feat, _ = self._sigma(x, enc_a, e)
        return {"sigma": sigma, "geo_feat": geo_feat}

    def forward(self, x, d, enc_a, c, e=None):
        sigma, geo_feat, ambient = self._sigma(x, enc_a, e)
        parts = [self.encoder_dir(d), geo_feat]
        if c is not None:
            parts.append(c.repeat(x.shape[0], 1))
        return sigma, torch.sigmoid(self.color_net(torch.cat(parts, dim=-1))), ambient

    def forward_torso(self, x, poses, enc_a, c=None):
        x = x * self.opt.torso_shrink
        parts = [self.torso_deform_encoder(x), self.pose_encoder(poses).repeat(x.shape[0], 1)]
        if c is not None:
            parts.append(c.repeat(x.shape[0], 1))
        h = torch.cat(parts, dim=-1)
        dx = self.torso_deform_net(h)
        x = (x + dx).clamp(-1, 1)
        h = self.torso_net(torch.cat([self.torso_encoder(x, bound=1), h], dim=-1))
        return torch.sigmoid(h[..., :1]), torch.sigmoid(h[..., 1:]), dx


def original_rad_nerf(asr_model="deepspeech", att=2, bound=1.0, emb=False, ind_num=10000,
                      ind_dim=4, ind_dim_torso=8, torso=False, torso_shrink=0.8,
                      exp_eye=True):  # fmt: skip
    """A user's factory: the original's ``opt`` namespace from plain keyword arguments."""
    opt = SimpleNamespace(asr_model=asr_model, att=att, bound=bound, emb=emb, ind_num=ind_num,
                          ind_dim=ind_dim, ind_dim_torso=ind_dim_torso, torso=torso,
                          torso_shrink=torso_shrink, exp_eye=exp_eye)  # fmt: skip
    return NeRFNetwork(opt)


class OriginalRADNeRFAdapter(RADNeRFAdapter):
    """The built-in RAD-NeRF adapter with a small occupancy grid for CPU tests; it also
    requires the original's ``opt``, so it is detected for the original only."""

    name = "rad_nerf_original"
    required = (*RADNeRFAdapter.required, "opt")
    grid_size = 32


if OriginalRADNeRFAdapter.name not in available_backbones():
    register_backbone(OriginalRADNeRFAdapter.name, OriginalRADNeRFAdapter)
    gin.external_configurable(original_rad_nerf, "OriginalRADNeRF")
