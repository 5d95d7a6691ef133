"""The "O+D" ablation of LokiTalk's Table 2: one deformation field driven by every signal.

    Δx = Φ(PE(x); concat(F_a, F_e, F_h)),    x' = x + Δx

no signal-region attention, no face/torso cascade, no region split.
"""

from __future__ import annotations

import torch

from .attention import expand_signal
from .base import DeformationField
from .fields import offset_mlp, point_encoder
from .fused import joint_offset, per_frame
from .options import JointDeformationOptions
from .rsdf import RSDFOutput, inside_box

__all__ = ["JointDeformation"]


class JointDeformation(DeformationField):
    """A single deformation MLP on the point encoding and all driving signals concatenated.

    audio_dim: A (F_a); eye_dim: 1 (F_e); pose_dim: 6 (F_h); hidden, num_layers: the offset
    MLP (last layer zero at init, so Δx = 0 exactly); bound: box half-size; grid: keyword
    arguments of :func:`~lokitalk_plugins.rsdf.fields.point_encoder`; checked as
    :class:`~lokitalk_plugins.rsdf.JointDeformationOptions` (kept as ``.options``).

    forward(x [N, 3] in [-bound, bound], F_a [1 or N, A], F_e [1 or N, eye_dim],
    F_h [1 or N, pose_dim]) -> :class:`~lokitalk_plugins.rsdf.RSDFOutput` with the one
    offset in ``dx_face`` (there is no region split), ``dx_torso`` zeros and the single map
    ``dx_norm`` [N]. Points outside the box are not deformed, as in :class:`RSDF`.
    ``fused``: as :class:`RSDF`'s (the first layer split by its columns; False: the
    reference twin on the concatenated input).
    """

    map_names = ("dx_norm",)
    fused = True

    def __init__(
        self,
        audio_dim: int = 32,
        eye_dim: int = 1,
        pose_dim: int = 6,
        hidden: int = 64,
        num_layers: int = 3,
        bound: float = 1.0,
        grid: dict | None = None,
    ):
        super().__init__()
        self.options = JointDeformationOptions(
            audio_dim, eye_dim, pose_dim, hidden, num_layers, bound, grid
        )
        self.audio_dim, self.eye_dim, self.pose_dim = audio_dim, eye_dim, pose_dim
        self.bound = float(bound)
        self.encoder = point_encoder(bound=bound, **dict(grid or {}))
        self.net = offset_mlp(
            self.encoder.output_dim + audio_dim + eye_dim + pose_dim, hidden, num_layers
        )

    def forward(
        self, x: torch.Tensor, F_a: torch.Tensor, F_e: torch.Tensor, F_h: torch.Tensor,
        F_id=None, last_weights=None, maps: bool = True,
    ) -> RSDFOutput:  # fmt: skip
        if F_id is not None or last_weights is not None:
            raise ValueError("JointDeformation takes no identity (F_id, last_weights): use RSDF")
        if x.dim() != 2 or x.shape[-1] != 3:
            raise ValueError(f"x: expected [N, 3], got {tuple(x.shape)}")
        n = x.shape[0]
        signals = [
            expand_signal(F_a, n, self.audio_dim, "F_a"),
            expand_signal(F_e, n, self.eye_dim, "F_e"),
            expand_signal(F_h, n, self.pose_dim, "F_h"),
        ]
        if self.fused and self.options.num_layers >= 2 and per_frame(F_a, F_e, F_h):
            dx = joint_offset(self, self.encoder(x), F_a, F_e, F_h)
        else:
            dx = self.net(torch.cat([self.encoder(x), *signals], -1))
        dx = dx * inside_box(x, self.bound).to(x.dtype)[:, None]
        norms = {"dx_norm": torch.linalg.vector_norm(dx, dim=-1)} if maps else {}
        return RSDFOutput(x + dx, dx, torch.zeros_like(dx), norms)
