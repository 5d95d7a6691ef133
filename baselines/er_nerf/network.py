"""ER-NeRF's tri-plane audio-driven radiance field, rebuilt from its published facts.

Names and shapes match the original, so its ``ngp.pth`` (key ``model``) loads with strict=True.
Head: three 2D hash grids (xy, yz, xz) give a 36-d point feature; a region-attention net turns
it into per-channel weights on the audio feature, an eye-attention net into a weight on the eye
value; density from the three, colour from view direction, geometry feature and individual
code; an uncertainty head on the detached feature. Torso: a 2D field over image coordinates,
deformed by three learnable anchor points seen through the head pose.

Options (constructor keywords named after the original's command line, same defaults):
``att`` (2; 1 = the 8 audio windows before the frame, 0 = no attention), ``emb`` (False),
``ind_dim`` (4; 0 = no individual codes), ``ind_dim_torso`` (8), ``ind_num`` (10000),
``train_camera`` (False), ``torso_shrink`` (0.8), ``bound`` (1; the planes' finest resolution
is 512 * bound), ``exp_eye`` (the ``-O`` eye input; True here, as in every published run),
``aabb`` (None: the originals' head box; the portrait box of ``configs/lokitalk_loss.gin``
when the torso is in the 3D field).
"""

from __future__ import annotations

import torch

from lokitalk_plugins.encoding import FrequencyEncoder, GridEncoder, SHEncoder
from lokitalk_plugins.layers import MLP
from lokitalk_plugins.render import exact_geometry

from ..common import AUDIO_DIMS, TORSO_STRETCH, TalkingHeadBase, attach_occupancy_grid
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
        exp_eye: bool = True,
        emb: bool = False,
        train_camera: bool = False,
        torso_shrink: float = 0.8,
        aabb: tuple[float, ...] | None = None,
    ):
        super().__init__(
            audio_in_dim, audio_dim, att, ind_num, ind_dim, ind_dim_torso, torso, bound,
            exp_eye, emb, train_camera, torso_shrink,
        )  # fmt: skip
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
        self.sigma_net = MLP(in_dim + audio_dim + int(self.exp_eye), 1 + 64, 64, 3)
        self.encoder_dir = SHEncoder(degree=4)
        self.color_net = MLP(self.encoder_dir.output_dim + 64 + ind_dim, 3, 64, 2)
        self.unc_net = MLP(in_dim, 1, 32, 2)
        self.aud_ch_att_net = MLP(in_dim, audio_dim, 64, 2)
        attach_occupancy_grid(self, grid_size, torso, bound, aabb)
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
        geo_feat [N, 64], ambient_aud [N] (norm of the audio channel attention), ambient_eye [N]
        (the eye attention; zeros without exp_eye, whose density ignores ``eye``),
        uncertainty [N]."""
        return field.density(self, enc_x, enc_a, eye)

    def sigma(self, enc_x: torch.Tensor, enc_a: torch.Tensor, eye: torch.Tensor) -> torch.Tensor:
        """The density alone, sigma [N]: bit for bit ``density(...)["sigma"]``, cheaper."""
        return field.sigma(self, enc_x, enc_a, eye)

    def grid_density_lean(self, x, enc_a, eye, pose=None, deformed: bool = True):
        """``grid_density`` in the refresh's lean form (``GridUpkeep.lean``; the contract's
        optional member): x [N, 3], enc_a [1 or N, A], eye [1 or N, 1] -> sigma [N], equal up
        to float rounding (:func:`.field.sigma`'s refresh form, the lattice refresh's: the
        density's row alone, the condition's products in the table's dtype); pose and
        deformed unused (no deformation)."""
        return field.sigma(self, self.encode_points(x), enc_a, eye, refresh=True)

    def grid_density_lattice(self, axes, enc_a, eye, pose=None, deformed: bool = True,
                             deformed_lattice: int | None = None):  # fmt: skip
        """The occupancy refresh on a lattice (``GridUpkeep.lattice``): axes [3, r] -> a
        function ijk [K, 3] -> sigma [K], equal to :meth:`grid_density` at the lattice's points
        up to float rounding (:func:`.field.sigma`'s refresh form);
        the planes are encoded once per refresh (:func:`.field.lattice_encoder`). deformed and
        deformed_lattice: unused (no deformation)."""
        # every reader of the features casts them to the autocast's dtype first (the linear
        # layers; a concatenation keeps their values): the table is cast once instead
        dev = axes.device.type
        low = torch.get_autocast_dtype(dev) if torch.is_autocast_enabled(dev) else None
        encode = field.lattice_encoder(self, axes, self.bound, low)
        # the refresh's form: the density's row alone, the products in the table's dtype
        return lambda ijk: field.sigma(self, encode(ijk), enc_a, eye, refresh=True)

    def color(self, geo_feat: torch.Tensor, d: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """geo_feat [N, 64], d [N, 3] unit directions, code [1, ind_dim] or None -> rgb [N, 3] in
        [-0.001, 1.001] (the original's stretched sigmoid)."""
        return field.color(self, geo_feat, d, code)

    def forward(self, x, d, enc_a, eye, code, pose=None) -> dict[str, torch.Tensor]:
        """x [N, 3], d [N, 3], enc_a [1, audio_dim], eye [1, 1], code [1, ind_dim] -> sigma,
        color and the per-point maps of :meth:`density`; pose: unused (no deformation)."""
        out = self.density(self.encode_points(x), enc_a, eye)
        out["color"] = self.color(out["geo_feat"], d, code)
        return out

    # --- what the trainer needs from this backbone ------------------------------------------
    ray_extras = ("ambient_aud", "ambient_eye", "uncertainty")
    torso_condition = "c2w"  # the torso anchors are seen through the camera pose [1, 4, 4]

    def regularisers(self, res, rays, frame, progress: float) -> dict[str, torch.Tensor]:
        """ER-NeRF's region-attention terms (see :func:`..regularisers.er_nerf_regularisers`)."""
        return er_nerf_regularisers(res, rays, frame, progress)

    # --- torso ----------------------------------------------------------------------------
    def anchor_features(self, poses: torch.Tensor) -> torch.Tensor:
        """poses [1, 4, 4] (or [4, 4]) camera-to-world of the frame -> the anchors' image
        positions [1, 6]: each homogeneous anchor a (a learnable [3, 4] parameter) becomes
        p = a @ inverse(poses^T) and its position is (p_x, p_y) / p_w / p_z."""
        pose = poses.reshape(1, 4, 4).to(self.anchor_points.dtype)
        # one batched product, as the original: a 2-D product rounds differently in float32,
        # which the 2048-resolution torso grid amplifies in the gradients
        with exact_geometry(pose):  # not in a training autocast's bfloat16 either
            p = (self.anchor_points[None] @ torch.linalg.inv(pose.transpose(1, 2)))[0]
        return (p[:, :2] / p[:, 3:4] / p[:, 2:3]).reshape(1, 6)

    def forward_torso(
        self, x: torch.Tensor, poses: torch.Tensor, c: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """x [N, 2] pixel coordinates in [-1, 1]; poses [1, 4, 4] camera-to-world; c [1, 8]
        torso code (None without codes) -> alpha [N, 1], color [N, 3] (sigmoids stretched to
        [-0.001, 1.001]), deform [N, 2] (the raw offset dx).

        x is scaled by ``torso_shrink``; h = [enc(x), anchor_encoder(anchors), c] feeds
        ``torso_deform_net`` (dx) and, after the encoding of clamp(x + dx, -1, 1), ``torso_net``.
        """
        enc_anchor = self.anchor_encoder(self.anchor_features(poses))
        return self.torso_field(x, enc_anchor, c, TORSO_STRETCH)
