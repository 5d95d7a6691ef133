"""Pieces both rebuilt backbones share: the occupancy buffers every original checkpoint holds,
the per-frame individual codes and learnt camera offsets, the audio path, the 2D torso field
and the hint that names the original option a mismatching checkpoint was trained with."""

from __future__ import annotations

import math

import torch
from torch import nn

from lokitalk_plugins.render import (
    OccupancyGrid,
    exact_geometry,
    expose_grid_buffers,
    torso_pixel_coords,
)
from lokitalk_plugins.signals.audio import AudioAttNet, AudioNet, encode_audio

from .groups import original_param_groups
from .options import checkpoint_option_hint

__all__ = [
    "AUDIO_DIMS",
    "TORSO_STRETCH",
    "attach_occupancy_grid",
    "check_box",
    "head_box",
    "torso_pixel_coords",
    "TalkingHeadBase",
]

# feature file -> K: DeepSpeech, wav2vec (esperanto), HuBERT, anything else
AUDIO_DIMS = {"deepspeech": 29, "esperanto": 44, "hubert": 1024, "default": 32}
TORSO_STRETCH = 0.001  # ER-NeRF's torso alpha and colour: sigmoid * (1 + 2 s) - s


def head_box(bound: float = 1.0) -> tuple[float, ...]:
    """The originals' head box for ``bound`` b: x in [-b, b], y in [-b/2, b/2], z in [-b, b]."""
    b = float(bound)
    return (-b, -b / 2, -b, b, b / 2, b)


def check_box(aabb, bound: float) -> tuple[float, ...]:
    """``aabb`` [6] (xmin, ymin, zmin, xmax, ymax, zmax) as floats, checked to be a non-empty
    box inside [-bound, bound]^3 (ValueError naming the option otherwise)."""
    box = tuple(float(v) for v in aabb)
    if len(box) != 6 or any(lo >= hi for lo, hi in zip(box[:3], box[3:])):
        raise ValueError(f"aabb must be (xmin, ymin, zmin, xmax, ymax, zmax), got {aabb!r}")
    if max(abs(v) for v in box) > bound + 1e-6:
        raise ValueError(
            f"aabb {box} reaches outside [-bound, bound]^3 with bound={bound}: raise bound "
            "(lokitalk_plugins.data.portrait.portrait_bound gives the smallest)"
        )
    return box


def attach_occupancy_grid(
    module: nn.Module,
    grid_size: int = 128,
    torso: bool = False,
    bound: float = 1.0,
    aabb=None,
) -> None:
    """The originals' ray-marching state, under their names.

    ``module.grid`` is an :class:`OccupancyGrid` over [-b, b]^3 whose rays march through
    ``aabb`` [6] (None: the originals' head box, :func:`head_box`; a portrait box covering
    head, neck and torso when the torso is in the 3D field, see
    :func:`lokitalk_plugins.data.portrait.portrait_box`). Its buffers (aabb_train,
    aabb_infer, density_grid [1, G^3], density_bitfield [G^3 // 8], step_counter [16, 2])
    show at the top level of the state_dict, as in the originals; with ``torso`` also
    density_grid_torso [G^2]. (With bound > 1 the originals keep 1 + ceil(log2 bound)
    cascades, density_grid [C, G^3]; such buffers are recomputed here, so the weight loader
    skips them.)
    """
    box = head_box(bound) if aabb is None else check_box(aabb, bound)
    module.grid = OccupancyGrid(resolution=grid_size, bound=bound, aabb=box)
    expose_grid_buffers(module, "grid")
    if torso:
        module.register_buffer("density_grid_torso", torch.zeros(grid_size**2))


def _euler_xyz(angles: torch.Tensor) -> torch.Tensor:
    """angles [3] radians (a, b, c) -> R [3, 3] = Rx(a) @ Ry(b) @ Rz(c)."""
    c, s = torch.cos(angles), torch.sin(angles)
    one, zero = torch.ones_like(c[0]), torch.zeros_like(c[0])
    rx = torch.stack([one, zero, zero, zero, c[0], -s[0], zero, s[0], c[0]]).view(3, 3)
    ry = torch.stack([c[1], zero, s[1], zero, one, zero, -s[1], zero, c[1]]).view(3, 3)
    rz = torch.stack([c[2], -s[2], zero, s[2], c[2], zero, zero, zero, one]).view(3, 3)
    return rx @ ry @ rz


class TalkingHeadBase(nn.Module):
    """Audio network, audio attention, individual codes, learnt camera offsets and the 2D
    torso field, named as in both originals.

    Options (the originals' command-line names and defaults): att 0/1/2 (no audio attention /
    the 8 windows before the frame / the 8 windows around it; the windows themselves come
    from the data, see ``FolderDataset.audio_att``); emb (``--emb``: an ``embedding`` [K, K]
    of the argmax audio class); ind_dim / ind_dim_torso (0 turns the codes off); train_camera
    (per-frame ``camera_dR`` degrees and ``camera_dT`` offsets, applied in training only);
    torso_shrink 0.8 (pixel coordinates are scaled by it before the torso field); exp_eye
    (``-O``: the eye value is a density input; our default, as every published run uses -O).

    Also the training answers of :class:`~lokitalk_plugins.pipeline.TalkingHeadModel`:
    ``param_groups`` (:mod:`.groups`), ``loss_terms`` (the network's ``regularisers``), no
    callbacks, ``camera_offset``.
    """

    def __init__(
        self,
        audio_in_dim: int,
        audio_dim: int,
        att: int = 2,
        ind_num: int = 10000,
        ind_dim: int = 4,
        ind_dim_torso: int = 8,
        torso: bool = False,
        bound: float = 1.0,
        exp_eye: bool = True,
        emb: bool = False,
        train_camera: bool = False,
        torso_shrink: float = 0.8,
    ):
        super().__init__()
        if att not in (0, 1, 2):
            raise ValueError(f"att must be 0, 1 or 2 (the originals' --att), got {att!r}")
        if ind_dim < 0 or ind_dim_torso < 0:
            raise ValueError(f"ind_dim and ind_dim_torso must be >= 0, got {ind_dim}, "
                             f"{ind_dim_torso}")  # fmt: skip
        self.audio_in_dim, self.audio_dim, self.att = audio_in_dim, audio_dim, att
        self.bound, self.torso, self.exp_eye, self.emb = bound, torso, bool(exp_eye), bool(emb)
        self.ind_dim = self.individual_dim = ind_dim
        self.ind_dim_torso = self.individual_dim_torso = ind_dim_torso
        self.train_camera, self.torso_shrink = bool(train_camera), float(torso_shrink)
        if self.emb:
            self.embedding = nn.Embedding(audio_in_dim, audio_in_dim)
        self.audio_net = AudioNet(audio_in_dim, audio_dim)
        self.audio_att_net = AudioAttNet(audio_dim) if att > 0 else None
        if ind_dim > 0:
            self.individual_codes = nn.Parameter(torch.randn(ind_num, ind_dim) * 0.1)
        if torso and ind_dim_torso > 0:
            self.individual_codes_torso = nn.Parameter(torch.randn(ind_num, ind_dim_torso) * 0.1)
        if self.train_camera:
            self.camera_dR = nn.Parameter(torch.zeros(ind_num, 3))  # euler angles, degrees
            self.camera_dT = nn.Parameter(torch.zeros(ind_num, 3))  # camera position offset

    def encode_audio(self, windows: torch.Tensor | None) -> torch.Tensor | None:
        """windows [B, 8, K, T] (or labels [B, 8, T] with emb) -> F_a [B, audio_dim];
        None -> None."""
        emb = self.embedding if self.emb else None
        return encode_audio(self.audio_net, self.audio_att_net, windows, emb)

    def individual_code(self, index: int | None, torso: bool = False) -> torch.Tensor:
        """The per-frame code [1, ind_dim]; code 0 when ``index`` is None (test time);
        [1, 0] when the codes are off (ind_dim 0)."""
        name = "individual_codes_torso" if torso else "individual_codes"
        codes = getattr(self, name, None)
        if codes is None:
            w = self.audio_net.encoder_fc1[0].weight
            return w.new_zeros(1, 0)
        return codes[0 if index is None else int(index)].unsqueeze(0)

    def camera_offset(
        self, rays_o: torch.Tensor, rays_d: torch.Tensor, index: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Training rays of frame ``index`` moved by its learnt camera offset (train_camera):
        rays_o [R, 3] + camera_dT[index], rays_d [R, 3] @ R(camera_dR[index] in degrees),
        R = Rx @ Ry @ Rz of the three angles. Unchanged without train_camera."""
        if not self.train_camera:
            return rays_o, rays_d
        with exact_geometry(rays_d):  # not in a training autocast's bfloat16
            angles = self.camera_dR[int(index)] / 180 * math.pi + 1e-8
            rot = _euler_xyz(angles).to(rays_d.dtype)
            return rays_o + self.camera_dT[int(index)].to(rays_o.dtype), rays_d @ rot

    def torso_field(
        self, x: torch.Tensor, enc_cond: torch.Tensor, c: torch.Tensor | None, stretch: float
    ) -> dict[str, torch.Tensor]:
        """The originals' 2D torso field: x [N, 2] pixel coordinates in [-1, 1]; enc_cond
        [1, P] the encoded head condition; c [1, ind_dim_torso] or None -> alpha [N, 1],
        color [N, 3], deform [N, 2].

        x' = x * torso_shrink; h = [enc(x'), enc_cond, c]; dx = torso_deform_net(h) (raw);
        x'' = clamp(x' + dx, -1, 1); out = torso_net([torso_encoder(x''), h]);
        alpha, color = sigmoid(out) * (1 + 2 stretch) - stretch.
        """
        n = x.shape[0]
        x = x * self.torso_shrink
        parts = [self.torso_deform_encoder(x), enc_cond.expand(n, -1)]
        if c is not None and c.shape[-1] > 0:
            parts.append(c.expand(n, -1))
        h = torch.cat(parts, -1)
        dx = self.torso_deform_net(h)
        moved = (x + dx).clamp(-1, 1)
        out = torch.sigmoid(self.torso_net(torch.cat([self.torso_encoder(moved), h], -1)))
        if stretch:
            out = out * (1 + 2 * stretch) - stretch
        return {"alpha": out[..., :1], "color": out[..., 1:], "deform": dx}

    def checkpoint_hint(self, own: dict, saved: dict) -> str:
        """The original command-line option a mismatching state_dict was trained with ('' if
        none is recognised); see :func:`~.options.checkpoint_option_hint`."""
        return checkpoint_option_hint(own, saved)

    # --- what the training pipeline asks every model ----------------------------------------
    def sigma(self, enc_x: torch.Tensor, enc_a: torch.Tensor, eye: torch.Tensor) -> torch.Tensor:
        """The density alone, sigma [N] (a network with a cheaper path overrides it; it must
        equal ``density(...)["sigma"]``)."""
        return self.density(enc_x, enc_a, eye)["sigma"]

    def grid_density(self, x, enc_a, eye, pose=None, deformed: bool = True) -> torch.Tensor:
        """Occupancy refreshes: x [N, 3] world points, enc_a [1 or N, A], eye [1 or N, 1] ->
        sigma [N]; pose and deformed are unused (a bare backbone has no deformation)."""
        return self.sigma(self.encode_points(x), enc_a, eye)

    def param_groups(self, stage: str) -> dict[str, list[nn.Parameter]]:
        """What trains in ``stage`` by learning-rate group (see :mod:`..groups`)."""
        return original_param_groups(self, stage)

    def loss_terms(self, result, batch, progress: float) -> dict[str, torch.Tensor]:
        """The backbone's own regularisers on the render ``result`` of ``batch`` (rays and
        frame) at ``progress`` in [0, 1] of the stage."""
        return self.regularisers(result, batch.rays, batch.frame, progress)

    def training_callbacks(self) -> list:
        """None: the pipeline refreshes the occupancy grid itself."""
        return []
