"""The two cascaded deformation fields of LokiTalk (eqs. 3-4) and the point encoder they share.

Both fields work on a point encoding ``h = PE(x)`` computed once by their owner
(:class:`~lokitalk_plugins.rsdf.RSDF`), so the encoder is not duplicated:

    Δx_face  = Φ_face(h; s_lip(x) F_a, s_eye(x) F_e)              (eq. 3)
    Δx_torso = Φ_torso(h; s_torso(x) F_h, Δx_face)                 (eq. 4)

Each Φ is a bias-free MLP whose last layer starts at zero, so both offsets are exactly zero at
initialisation (the gradient still reaches that last layer, so the fields learn).

ID-AKT (LokiTalk sec. 3.3) plugs in through two optional arguments of each field: ``F_id``
[1 or N, id_dim], identity features concatenated with the driving signals at the MLP input
(built with ``id_dim > 0``), and ``last_weight`` [3, hidden], a per-identity weight used in
place of the MLP's own last layer (the hyper-network's output).
"""

from __future__ import annotations

import torch
from torch import nn

from lokitalk_plugins.encoding import GridEncoder
from lokitalk_plugins.layers import MLP

from .attention import SignalAttention, expand_signal

__all__ = ["FaceDeformation", "TorsoDeformation", "check_identity", "offset_mlp", "point_encoder",
           "run_offset_mlp"]  # fmt: skip


def point_encoder(
    bound: float = 1.0,
    num_levels: int = 10,
    level_dim: int = 2,
    base_resolution: int = 16,
    desired_resolution: float = 256,
    log2_hashmap_size: int = 15,
    backend: str = "auto",
) -> GridEncoder:
    """The PE of eqs. 3-4: a small 3D hash grid sized for a CPU (10 levels x 2 features,
    resolutions 16 to 256 over [-bound, bound], 2**15 entries a level). x: [N, 3] -> [N, 20];
    points outside the box encode to zeros."""
    return GridEncoder(
        input_dim=3,
        num_levels=num_levels,
        level_dim=level_dim,
        base_resolution=base_resolution,
        desired_resolution=desired_resolution,
        log2_hashmap_size=log2_hashmap_size,
        gridtype="hash",
        bound=bound,
        backend=backend,
    )


def offset_mlp(dim_in: int, hidden: int, num_layers: int) -> MLP:
    """A bias-free MLP dim_in -> 3 with its last layer zeroed: outputs exactly 0 at init."""
    mlp = MLP(dim_in, 3, hidden, num_layers)
    with torch.no_grad():
        mlp.net[-1].weight.zero_()
    return mlp


def run_offset_mlp(mlp: MLP, z: torch.Tensor, last_weight: torch.Tensor | None = None):
    """z [N, dim_in] -> [N, 3] through ``mlp``; with ``last_weight`` [3, hidden] that weight
    replaces the MLP's last layer (ID-AKT's hyper-network output)."""
    if last_weight is None:
        return mlp(z)
    if last_weight.shape != mlp.net[-1].weight.shape:
        raise ValueError(
            f"last_weight: expected {tuple(mlp.net[-1].weight.shape)}, got "
            f"{tuple(last_weight.shape)}"
        )
    for layer in mlp.net[:-1]:
        z = torch.relu(layer(z))
    return torch.nn.functional.linear(z, last_weight.to(z.dtype))


def check_identity(F_id, id_dim: int, n: int):
    """ID-AKT's F_id for a field built with ``id_dim``: None when id_dim is 0 (F_id refused),
    else F_id checked as [1 or n, id_dim] and returned as given."""
    if id_dim == 0:
        if F_id is not None:
            raise ValueError("F_id given to a field built with id_dim=0")
        return None
    if F_id is None:
        raise ValueError(f"F_id [1 or N, {id_dim}] is required: the field has id_dim={id_dim}")
    expand_signal(F_id, n, id_dim, "F_id")
    return F_id


def _with_identity(z: torch.Tensor, F_id, id_dim: int) -> torch.Tensor:
    if check_identity(F_id, id_dim, z.shape[0]) is None:
        return z
    return torch.cat([z, expand_signal(F_id, z.shape[0], id_dim, "F_id").to(z.dtype)], -1)


class FaceDeformation(nn.Module):
    """Φ_face (eq. 3): face offset from the point encoding, audio and eye signals.

    point_dim: P (encoding size); audio_dim: A (F_a, e.g. 32 or 64); eye_dim: 1 (F_e);
    hidden, num_layers: offset MLP; att_dim, att_hidden: :class:`SignalAttention` sizes;
    id_dim: size of ID-AKT's dynamic identity feature (0: none).

    forward(h [N, P], F_a [1 or N, A], F_e [1 or N, eye_dim], F_id=None, last_weight=None)
    -> (dx_face [N, 3], scores dict(lip=[N], eye=[N]) in [0, 1]).
    """

    signals = ("lip", "eye")

    def __init__(self, point_dim: int, audio_dim: int = 32, eye_dim: int = 1, hidden: int = 64,
                 num_layers: int = 3, att_dim: int = 16, att_hidden: int = 32,
                 id_dim: int = 0):  # fmt: skip
        super().__init__()
        self.point_dim, self.audio_dim, self.eye_dim = point_dim, audio_dim, eye_dim
        self.id_dim = id_dim
        self.attention = SignalAttention(
            point_dim, {"lip": audio_dim, "eye": eye_dim}, att_dim, att_hidden
        )
        self.net = offset_mlp(point_dim + audio_dim + eye_dim + id_dim, hidden, num_layers)

    def forward(self, h: torch.Tensor, F_a: torch.Tensor, F_e: torch.Tensor, F_id=None,
                last_weight=None):  # fmt: skip
        n = h.shape[0]
        f_a = expand_signal(F_a, n, self.audio_dim, "F_a")
        f_e = expand_signal(F_e, n, self.eye_dim, "F_e")
        scores = self.attention(h, {"lip": F_a, "eye": F_e})
        z = torch.cat([h, scores["lip"][:, None] * f_a, scores["eye"][:, None] * f_e], -1)
        z = _with_identity(z, F_id, self.id_dim)
        return run_offset_mlp(self.net, z, last_weight), scores


class TorsoDeformation(nn.Module):
    """Φ_torso (eq. 4): torso offset from the point encoding, head pose and the face offset.

    point_dim: P; pose_dim: 6 (F_h: rotation and translation); hidden, num_layers: offset MLP;
    att_dim, att_hidden: :class:`SignalAttention` sizes; id_dim: ID-AKT's dynamic feature.

    forward(h [N, P], F_h [1 or N, pose_dim], dx_face [N, 3], F_id=None, last_weight=None)
    -> (dx_torso [N, 3], scores dict(torso=[N]) in [0, 1]). The face offset enters the MLP as
    is (not detached), so the torso loss also trains the face field through the cascade.
    """

    signals = ("torso",)

    def __init__(self, point_dim: int, pose_dim: int = 6, hidden: int = 64, num_layers: int = 3,
                 att_dim: int = 16, att_hidden: int = 32, id_dim: int = 0):  # fmt: skip
        super().__init__()
        self.point_dim, self.pose_dim, self.id_dim = point_dim, pose_dim, id_dim
        self.attention = SignalAttention(point_dim, {"torso": pose_dim}, att_dim, att_hidden)
        self.net = offset_mlp(point_dim + pose_dim + 3 + id_dim, hidden, num_layers)

    def forward(self, h: torch.Tensor, F_h: torch.Tensor, dx_face: torch.Tensor, F_id=None,
                last_weight=None):  # fmt: skip
        n = h.shape[0]
        f_h = expand_signal(F_h, n, self.pose_dim, "F_h")
        if dx_face.shape != (n, 3):
            raise ValueError(f"dx_face: expected [{n}, 3], got {tuple(dx_face.shape)}")
        scores = self.attention(h, {"torso": F_h})
        z = torch.cat([h, scores["torso"][:, None] * f_h, dx_face], -1)
        z = _with_identity(z, F_id, self.id_dim)
        return run_offset_mlp(self.net, z, last_weight), scores
