"""The base class of observation -> canonical deformations (RSDF, the joint "O+D" field).

A deformation field maps observation points x [N, 3] to canonical points with
``forward(x, F_a [1 or N, audio_dim], F_e [1 or N, eye_dim], F_h [1 or N, pose_dim],
F_id=None, last_weights=None) -> RSDFOutput`` and declares what a wrap needs to know:
``audio_dim``, ``eye_dim``, ``pose_dim``, ``map_names`` (its per-point maps), ``id_dim`` and
``hyper_layers`` (what ID-AKT may feed: 0 and {} for a field that takes no identity), and
``param_groups(stage)`` (its grid tables and MLPs train in the head and lips stages).
"""

from __future__ import annotations

from torch import nn

from lokitalk_plugins.encoding import GridEncoder

__all__ = ["DeformationField"]


class DeformationField(nn.Module):
    """Base of RSDF and JointDeformation (see the module doc for the contract)."""

    audio_dim: int
    eye_dim: int = 1
    pose_dim: int
    map_names: tuple[str, ...]  # names of the per-point maps forward returns
    id_dim: int = 0

    @property
    def hyper_layers(self) -> dict[str, tuple[int, int]]:
        """The last layers ID-AKT may replace: name -> (in, out); {} when none."""
        return {}

    @property
    def takes_identity(self) -> bool:
        """True when ID-AKT can condition this field (F_id or per-identity last layers)."""
        return bool(self.id_dim) or bool(self.hyper_layers)

    def param_groups(self, stage: str) -> dict[str, list[nn.Parameter]]:
        """{"grid": hash tables of its point encoders, "mlp": the rest}; nothing in the torso
        stage (the 2D torso field is not deformed)."""
        if stage == "torso":
            return {}
        grid = [p for m in self.modules() if isinstance(m, GridEncoder) for p in m.parameters()]
        ids = {id(p) for p in grid}
        return {"grid": grid, "mlp": [p for p in self.parameters() if id(p) not in ids]}
