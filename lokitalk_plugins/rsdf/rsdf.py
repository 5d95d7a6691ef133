"""RSDF: the face and torso deformation fields composed into one observation -> canonical map.

    Δx_face  = Φ_face(PE(x); F_a, F_e)            (eq. 3)
    Δx_torso = Φ_torso(PE(x); F_h, Δx_face)       (eq. 4)
    x'       = x + Δx_face + Δx_torso             (eq. 5)

one canonical space shared by head and torso. Out-of-box behaviour: points outside
[-bound, bound]^3 are not deformed (both offsets, their norms and the attention scores are 0
there, x' = x). Inside the box RSDF does not clamp x': a canonical point pushed outside the
backbone's box encodes to zeros in the backbone's grid (zero features, no gradient from that
grid), exactly as a bare backbone treats any outside point; the region loss (eq. 7) and the
zero-initialised offsets keep offsets small in practice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .base import DeformationField
from .fields import FaceDeformation, TorsoDeformation, point_encoder
from .fused import per_frame, rsdf_offsets
from .options import RSDFOptions

__all__ = ["MAP_NAMES", "RSDF", "RSDFOutput", "inside_box"]

# per-point maps RSDF can return, for a renderer to weight-sum per ray
MAP_NAMES = ("att_lip", "att_eye", "att_torso", "dx_face_norm", "dx_torso_norm")


@dataclass
class RSDFOutput:
    """x_canonical: [N, 3] = x + dx_face + dx_torso; dx_face, dx_torso: [N, 3];
    maps: name -> [N] per-point values (attention scores in [0, 1], offset norms >= 0)."""

    x_canonical: torch.Tensor
    dx_face: torch.Tensor
    dx_torso: torch.Tensor
    maps: dict[str, torch.Tensor] = field(default_factory=dict)


def inside_box(x: torch.Tensor, bound: float) -> torch.Tensor:
    """x: [N, 3] -> bool [N], True where every coordinate is in [-bound, bound]."""
    return (x.abs() <= bound).all(dim=-1)


class RSDF(DeformationField):
    """Region-Specific Deformation Fields (LokiTalk sec. 3.2).

    audio_dim: A, size of F_a (Audio2Motion feature, e.g. 32 or 64); eye_dim: 1 (F_e, eye
    ratio); pose_dim: 6 (F_h, head pose); torso: build the torso field (False: face only,
    dx_torso = 0); hidden, num_layers: both offset MLPs; att_dim, att_hidden: attention sizes;
    shared_encoding: one PE for both fields (eqs. 3-4 write the same PE) or one each;
    bound: box half-size of the observation points; grid: keyword arguments of
    :func:`~lokitalk_plugins.rsdf.fields.point_encoder` (levels, resolutions, table, backend);
    id_dim: size of ID-AKT's dynamic identity feature F_id (0: no ID-AKT); torso_cascade: the
    torso field reads Δx_face (eq. 4, the default); False feeds it zeros in Δx_face's place
    (same parameters, so checkpoints load either way): Δx_torso then depends on the point, the
    head pose and F_id only, an ablation of the cascade; pose_norm: F_h standardised per
    dimension, (F_h - mean) / std with the training frames' mean and std (buffers
    ``pose_center``, ``pose_scale``, saved with the weights; set once by :meth:`fit_pose`,
    which a wrapped model calls before its first stage), so the head pose's small changes (a
    few hundredths of a radian or unit, beside a camera distance near 1) reach the torso field
    at unit scale; False (the default) feeds F_h as given. The arguments are checked as
    :class:`~lokitalk_plugins.rsdf.RSDFOptions` (kept as ``.options``).

    forward(x [N, 3] in [-bound, bound], F_a [1 or N, A], F_e [1 or N, eye_dim],
    F_h [1 or N, pose_dim] or None when torso=False, F_id [1 or N, id_dim] or None,
    last_weights: {"face": [3, hidden], "torso": [3, hidden]} or None: ID-AKT's per-identity
    last layers) -> :class:`RSDFOutput` with maps
    ``att_lip``, ``att_eye``, (``att_torso``), ``dx_face_norm``, ``dx_torso_norm`` (see
    :attr:`map_names`; none with ``maps=False``, the inference fast path). Every offset is
    exactly zero at initialisation.

    ``fused`` (class attribute, True): the offsets through :mod:`~lokitalk_plugins.rsdf.fused`
    (no concatenated inputs; same values and gradients); False: the fields' own forward, the
    reference twin.
    """

    fused = True

    def __init__(
        self,
        audio_dim: int = 32,
        eye_dim: int = 1,
        pose_dim: int = 6,
        torso: bool = True,
        hidden: int = 64,
        num_layers: int = 3,
        att_dim: int = 16,
        att_hidden: int = 32,
        shared_encoding: bool = True,
        bound: float = 1.0,
        grid: dict | None = None,
        id_dim: int = 0,
        torso_cascade: bool = True,
        pose_norm: bool = False,
    ):
        super().__init__()
        self.options = RSDFOptions(
            audio_dim, eye_dim, pose_dim, torso, hidden, num_layers,
            att_dim, att_hidden, shared_encoding, bound, grid, id_dim, torso_cascade, pose_norm,
        )  # fmt: skip
        self.torso_cascade, self.pose_norm = torso_cascade, pose_norm
        if pose_norm:  # identity until fit_pose; the flag says whether it ran
            self.register_buffer("pose_center", torch.zeros(pose_dim))
            self.register_buffer("pose_scale", torch.ones(pose_dim))
            self.register_buffer("pose_fitted", torch.zeros((), dtype=torch.bool))
        self.id_dim, self.hidden = int(id_dim), hidden
        self.audio_dim, self.eye_dim, self.pose_dim = audio_dim, eye_dim, pose_dim
        self.torso, self.shared_encoding, self.bound = torso, shared_encoding, float(bound)
        grid = dict(grid or {})
        self.encoder = point_encoder(bound=bound, **grid)
        p = self.encoder.output_dim
        att = dict(att_dim=att_dim, att_hidden=att_hidden, id_dim=self.id_dim)
        self.face = FaceDeformation(p, audio_dim, eye_dim, hidden, num_layers, **att)
        if torso:
            if not shared_encoding:
                self.encoder_torso = point_encoder(bound=bound, **grid)
            self.torso_field = TorsoDeformation(p, pose_dim, hidden, num_layers, **att)

    @property
    def hyper_layers(self) -> dict[str, tuple[int, int]]:
        """The last layers ID-AKT may replace: name -> (in_features, out_features)."""
        layers = {"face": tuple(self.face.net.net[-1].weight.shape[::-1])}
        if self.torso:
            layers["torso"] = tuple(self.torso_field.net.net[-1].weight.shape[::-1])
        return layers

    @property
    def map_names(self) -> tuple[str, ...]:
        """Names of the per-point maps :meth:`forward` returns."""
        return tuple(n for n in MAP_NAMES if self.torso or n != "att_torso")

    # the smallest std pose_norm divides by: a dimension (near) constant in the training frames
    # is centred, not blown up
    POSE_SCALE_FLOOR = 1e-2

    def fit_pose(self, poses: torch.Tensor) -> bool:
        """With ``pose_norm``: the training frames' head poses [M, pose_dim] (M >= 2) set
        ``pose_center`` (their mean) and ``pose_scale`` (their std, at least
        :attr:`POSE_SCALE_FLOOR`), once: -> True when it set them, False when they were set
        already (a resumed or fine-tuned model keeps the scale it trained with) or without
        ``pose_norm``."""
        if not self.pose_norm or bool(self.pose_fitted):
            return False
        poses = torch.as_tensor(poses).reshape(-1, self.pose_dim).float()
        if poses.shape[0] < 2 or not torch.isfinite(poses).all():
            raise ValueError(f"RSDF.pose_norm: needs at least 2 finite head poses [M, "
                             f"{self.pose_dim}], got {tuple(poses.shape)}")  # fmt: skip
        with torch.no_grad():
            self.pose_center.copy_(poses.mean(0))
            self.pose_scale.copy_(poses.std(0).clamp_min(self.POSE_SCALE_FLOOR))
            self.pose_fitted.fill_(True)
        return True

    def forward(
        self,
        x: torch.Tensor,
        F_a: torch.Tensor,
        F_e: torch.Tensor,
        F_h: torch.Tensor | None = None,
        F_id: torch.Tensor | None = None,
        last_weights: dict[str, torch.Tensor] | None = None,
        maps: bool = True,
    ) -> RSDFOutput:
        if x.dim() != 2 or x.shape[-1] != 3:
            raise ValueError(f"x: expected [N, 3], got {tuple(x.shape)}")
        if self.pose_norm and F_h is not None:
            F_h = (F_h - self.pose_center.to(F_h.dtype)) / self.pose_scale.to(F_h.dtype)
        inside = inside_box(x, self.bound).to(x.dtype)[:, None]  # [N, 1]
        last = last_weights or {}
        if self.fused and self.options.num_layers >= 2 and per_frame(F_a, F_e, F_h, F_id):
            dx_face, dx_torso, scores = rsdf_offsets(self, x, inside, F_a, F_e, F_h, F_id, last)
        else:
            dx_face, dx_torso, scores = self._reference_offsets(
                x, inside, F_a, F_e, F_h, F_id, last
            )
        want_maps, maps = maps, {"att_lip": scores["lip"], "att_eye": scores["eye"]}
        if self.torso:
            maps["att_torso"] = scores["torso"]
        else:
            dx_torso = torch.zeros_like(dx_face)
        if not want_maps:  # the inference fast path: nobody reads them
            return RSDFOutput(x + dx_face + dx_torso, dx_face, dx_torso, {})
        maps = {k: v * inside[:, 0] for k, v in maps.items()}
        maps["dx_face_norm"] = torch.linalg.vector_norm(dx_face, dim=-1)
        maps["dx_torso_norm"] = torch.linalg.vector_norm(dx_torso, dim=-1)
        return RSDFOutput(x + dx_face + dx_torso, dx_face, dx_torso, maps)

    def cascade_input(self, dx_face: torch.Tensor) -> torch.Tensor:
        """What the torso field reads in Δx_face's place: Δx_face itself (eq. 4), or zeros of
        its shape without the cascade (so those columns get a zero gradient, not none), on
        both paths."""
        return dx_face if self.torso_cascade else torch.zeros_like(dx_face)

    def _reference_offsets(self, x, inside, F_a, F_e, F_h, F_id, last):
        """The reference twin of :func:`~.fused.rsdf_offsets`: each field's own forward on
        the concatenated inputs -> (dx_face, dx_torso or None, scores), masked to the box."""
        h = self.encoder(x)
        dx_face, scores = self.face(h, F_a, F_e, F_id, last.get("face"))
        dx_face = dx_face * inside
        if not self.torso:
            return dx_face, None, scores
        if F_h is None:
            raise ValueError("F_h (head pose) is required when torso=True")
        h_t = h if self.shared_encoding else self.encoder_torso(x)
        dx_torso, t_scores = self.torso_field(
            h_t, F_h, self.cascade_input(dx_face), F_id, last.get("torso")
        )
        return dx_face, dx_torso * inside, dict(scores, **t_scores)
