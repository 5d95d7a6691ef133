"""ER-NeRF's tri-plane audio-driven radiance field, rebuilt from its published facts.

Names and shapes match the original, so its ``ngp.pth`` (key ``model``) loads with strict=True.
Head: three 2D hash grids (xy, yz, xz) give a 36-d point feature; a region-attention net turns
it into per-channel weights on the audio feature, an eye-attention net into a weight on the eye
value; density from the three, colour from view direction, geometry feature and individual
code; an uncertainty head on the detached feature. Torso: a 2D field over image coordinates,
deformed by three learnable anchor points seen through the head pose.
"""

from __future__ import annotations

import torch

from lokitalk_plugins.encoding import FrequencyEncoder, GridEncoder, SHEncoder
from lokitalk_plugins.layers import MLP

from ..common import AUDIO_DIMS, TalkingHeadBase, attach_occupancy_grid
from ..regularisers import er_nerf_regularisers
from . import field

__all__ = ["ERNeRF"]


class ERNeRF(TalkingHeadBase):
    """ER-NeRF head (and, with ``torso=True``, torso) model."""

    def __init__(
        self,
        audio_in_dim: int = AUDIO_DIMS["deepspeech"],
        audio_dim: int = 32,
        att: int = 2,
        ind_num: int = 10000,
        ind_dim: int = 4,
        ind_dim_torso: int = 8,
        torso: bool = False,
        bound: float = 1.0,
        grid_size: int = 128,
        encoder_backend: str = "auto",
    ):
        super().__init__(
            audio_in_dim, audio_dim, att, ind_num, ind_dim, ind_dim_torso, torso, bound
        )
        plane = dict(
            input_dim=2,
            num_levels=12,
            level_dim=1,
            base_resolution=64,
            log2_hashmap_size=14,
            desired_resolution=512 * bound,
            gridtype="hash",
            bound=bound,
            backend=encoder_backend,
        )
        # the three planes are attributes of the model itself, as in the original
        self.encoder_xy = GridEncoder(**plane)
        self.encoder_yz = GridEncoder(**plane)
        self.encoder_xz = GridEncoder(**plane)
        in_dim = 3 * self.encoder_xy.output_dim
        self.in_dim = in_dim
        self.eye_att_net = MLP(in_dim, 1, 16, 2)
        self.sigma_net = MLP(in_dim + audio_dim + 1, 1 + 64, 64, 3)
        self.encoder_dir = SHEncoder(degree=4)
        self.color_net = MLP(self.encoder_dir.output_dim + 64 + ind_dim, 3, 64, 2)
        self.unc_net = MLP(in_dim, 1, 32, 2)
        self.aud_ch_att_net = MLP(in_dim, audio_dim, 64, 2)
        attach_occupancy_grid(self, grid_size, torso, bound)
        if torso:
            self.anchor_points = torch.nn.Parameter(
                torch.tensor(
                    [[0.01, 0.01, 0.1, 1.0], [-0.1, -0.1, 0.1, 1.0], [0.1, -0.1, 0.1, 1.0]]
                )
            )
            self.torso_deform_encoder = FrequencyEncoder(input_dim=2, max_freq_log2=7, n_freqs=8)
            self.anchor_encoder = FrequencyEncoder(input_dim=6, max_freq_log2=2, n_freqs=3)
            enc, anc = self.torso_deform_encoder.output_dim, self.anchor_encoder.output_dim
            self.torso_deform_net = MLP(enc + anc + ind_dim_torso, 2, 32, 3)
            self.torso_encoder = GridEncoder(
                input_dim=2,
                num_levels=16,
                level_dim=2,
                base_resolution=16,
                log2_hashmap_size=16,
                desired_resolution=2048,
                gridtype="tiled",
                bound=1.0,
                backend=encoder_backend,
            )
            self.torso_net = MLP(
                self.torso_encoder.output_dim + enc + anc + ind_dim_torso, 4, 32, 3
            )

    # --- canonical radiance field (one definition: .field, which the adapter calls too) ------
    def encode_points(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 3] in [-bound, bound] -> [N, 36] (xy, yz, xz planes)."""
        return field.encode_points(self, x, self.bound)

    def density(
        self, enc_x: torch.Tensor, enc_a: torch.Tensor, eye: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """enc_x [N, 36], enc_a [1 or N, audio_dim], eye [1 or N, 1] -> sigma [N],
        geo_feat [N, 64], ambient_aud [N], ambient_eye [N], uncertainty [N]."""
        return field.density(self, enc_x, enc_a, eye)

    def color(self, geo_feat: torch.Tensor, d: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """geo_feat [N, 64], d [N, 3] unit directions, code [1, ind_dim] -> rgb [N, 3]."""
        return field.color(self, geo_feat, d, code)

    def forward(self, x, d, enc_a, eye, code, pose=None) -> dict[str, torch.Tensor]:
        """x [N, 3], d [N, 3], enc_a [1, audio_dim], eye [1, 1], code [1, ind_dim] -> sigma,
        color and the per-point maps of :meth:`density`; pose: unused (no deformation)."""
        out = self.density(self.encode_points(x), enc_a, eye)
        out["color"] = self.color(out["geo_feat"], d, code)
        return out

    # --- what the trainer needs from this backbone ------------------------------------------
    ray_extras = ("ambient_aud", "ambient_eye", "uncertainty")
    torso_condition = "w2c"  # the torso anchors are seen through the world-to-camera matrix

    def regularisers(self, res, rays, frame, progress: float) -> dict[str, torch.Tensor]:
        """ER-NeRF's region-attention terms (see :func:`..regularisers.er_nerf_regularisers`)."""
        return er_nerf_regularisers(res, rays, frame, progress)

    # --- torso ----------------------------------------------------------------------------
    def anchor_features(self, w2c: torch.Tensor) -> torch.Tensor:
        """w2c [4, 4] world-to-camera of the frame -> anchors in the image [1, 6]."""
        cam = self.anchor_points @ w2c.transpose(0, 1)
        return (cam[:, :2] / cam[:, 2:3]).reshape(1, 6)

    def forward_torso(
        self, x: torch.Tensor, w2c: torch.Tensor, code: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """x [N, 2] pixel coordinates in [-1, 1]; w2c [4, 4]; code [1, 8] -> alpha [N, 1],
        color [N, 3], deform [N, 2]."""
        n = x.shape[0]
        enc_anchor = self.anchor_encoder(self.anchor_features(w2c)).expand(n, -1)
        code = code.expand(n, -1)
        deform = torch.tanh(
            self.torso_deform_net(torch.cat([self.torso_deform_encoder(x), enc_anchor, code], -1))
        )
        x = x + deform
        h = torch.cat([self.torso_encoder(x), self.torso_deform_encoder(x), enc_anchor, code], -1)
        h = self.torso_net(h)
        return {
            "alpha": torch.sigmoid(h[..., :1]),
            "color": torch.sigmoid(h[..., 1:]),
            "deform": deform,
        }
