"""RAD-NeRF's audio-driven radiance field, rebuilt from its published facts.

Names and shapes match the original, so its ``ngp.pth`` (key ``model``) loads with strict=True.
Head: a 3D tiled grid over canonical points and a 2D "ambient" grid over a coordinate the
ambient net predicts from the point and the audio; density from both plus the eye value;
colour from spherical harmonics of the view direction, the geometry feature and the
individual code. Torso: a 2D field over image coordinates, deformed by the head pose.
"""

from __future__ import annotations

import torch

from lokitalk_plugins.encoding import FrequencyEncoder, GridEncoder, SHEncoder
from lokitalk_plugins.layers import MLP

from ..common import AUDIO_DIMS, TalkingHeadBase, attach_occupancy_grid
from ..regularisers import rad_nerf_regularisers
from . import field

__all__ = ["RADNeRF"]


class RADNeRF(TalkingHeadBase):
    """RAD-NeRF head (and, with ``torso=True``, torso) model.

    audio_in_dim: K of the feature windows (29 DeepSpeech, 44 wav2vec, 1024 HuBERT, 32 else).
    """

    def __init__(
        self,
        audio_in_dim: int = AUDIO_DIMS["deepspeech"],
        audio_dim: int = 64,
        ambient_dim: int = 2,
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
        grid = dict(
            num_levels=16,
            level_dim=2,
            base_resolution=16,
            log2_hashmap_size=16,
            desired_resolution=2048 * bound,
            gridtype="tiled",
            backend=encoder_backend,
        )
        self.encoder = GridEncoder(input_dim=3, bound=bound, **grid)
        self.encoder_ambient = GridEncoder(input_dim=ambient_dim, bound=1.0, **grid)
        in_dim, amb_dim = self.encoder.output_dim, self.encoder_ambient.output_dim
        self.ambient_net = MLP(in_dim + audio_dim, ambient_dim, 64, 3)
        self.sigma_net = MLP(in_dim + amb_dim + 1, 1 + 64, 64, 3)
        self.encoder_dir = SHEncoder(degree=4)
        self.color_net = MLP(self.encoder_dir.output_dim + 64 + ind_dim, 3, 64, 2)
        attach_occupancy_grid(self, grid_size, torso, bound)
        if torso:
            self.torso_deform_encoder = FrequencyEncoder(input_dim=2, max_freq_log2=9, n_freqs=10)
            self.pose_encoder = FrequencyEncoder(input_dim=6, max_freq_log2=3, n_freqs=4)
            enc, pose = self.torso_deform_encoder.output_dim, self.pose_encoder.output_dim
            self.torso_deform_net = MLP(enc + pose + ind_dim_torso, 2, 64, 3)
            self.torso_encoder = GridEncoder(input_dim=2, bound=1.0, **grid)
            self.torso_net = MLP(
                self.torso_encoder.output_dim + enc + pose + ind_dim_torso, 4, 32, 3
            )

    # --- canonical radiance field (one definition: .field, which the adapter calls too) ------
    def encode_points(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 3] in [-bound, bound] -> [N, 32]."""
        return field.encode_points(self, x, self.bound)

    def density(
        self, enc_x: torch.Tensor, enc_a: torch.Tensor, eye: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """enc_x [N, 32], enc_a [1 or N, audio_dim], eye [1 or N, 1] -> sigma [N],
        geo_feat [N, 64], ambient [N, 2], ambient_abs [N]."""
        return field.density(self, enc_x, enc_a, eye)

    def color(self, geo_feat: torch.Tensor, d: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """geo_feat [N, 64], d [N, 3] unit view directions, code [1, ind_dim] -> rgb [N, 3]."""
        return field.color(self, geo_feat, d, code)

    def forward(self, x, d, enc_a, eye, code, pose=None) -> dict[str, torch.Tensor]:
        """x [N, 3], d [N, 3], enc_a [1, audio_dim], eye [1, 1], code [1, ind_dim] ->
        sigma [N], color [N, 3], ambient [N, 2], geo_feat [N, 64]; pose: unused (no
        deformation)."""
        out = self.density(self.encode_points(x), enc_a, eye)
        out["color"] = self.color(out["geo_feat"], d, code)
        return out

    # --- what the trainer needs from this backbone ------------------------------------------
    ray_extras = ("ambient_abs",)  # per-sample |ambient|, summed along each ray
    torso_condition = "pose"  # the torso field reads the 6-D head pose

    def regularisers(self, res, rays, frame, progress: float) -> dict[str, torch.Tensor]:
        """RAD-NeRF's ambient loss (see :func:`..regularisers.rad_nerf_regularisers`)."""
        return rad_nerf_regularisers(res, rays, frame, progress)

    # --- torso: a 2D field over image coordinates ----------------------------------------
    def forward_torso(
        self, x: torch.Tensor, pose: torch.Tensor, code: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """x [N, 2] pixel coordinates in [-1, 1]; pose [1, 6]; code [1, 8] ->
        alpha [N, 1], color [N, 3], deform [N, 2]."""
        n = x.shape[0]
        x = x * 0.8
        enc_pose = self.pose_encoder(pose).expand(n, -1)
        code = code.expand(n, -1)
        h = torch.cat([self.torso_deform_encoder(x), enc_pose, code], -1)
        deform = torch.tanh(self.torso_deform_net(h))
        x = x + deform
        h = torch.cat([self.torso_encoder(x), self.torso_deform_encoder(x), enc_pose, code], -1)
        h = self.torso_net(h)
        return {
            "alpha": torch.sigmoid(h[..., :1]),
            "color": torch.sigmoid(h[..., 1:]),
            "deform": deform,
        }
