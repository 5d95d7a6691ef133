"""Tri-plane encoding: three 2D grid encoders over the xy, yz and xz projections (ER-NeRF).

ER-NeRF owns ``encoder_xy``, ``encoder_yz`` and ``encoder_xz`` directly on its model; this
module holds three :class:`GridEncoder` under exactly those attribute names (state dict keys
``encoder_xy.embeddings`` ...), and :func:`triplane_project` is the projection alone for a
model that owns the three encoders itself.
"""

from __future__ import annotations

import torch
from torch import nn

from .grid import GridEncoder

__all__ = ["PLANES", "TriPlane", "triplane_project"]

# plane name -> the two coordinate axes it keeps
PLANES = {"xy": (0, 1), "yz": (1, 2), "xz": (0, 2)}


def triplane_project(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split points onto the three planes.

    x: [..., 3] -> (xy, yz, xz), each [..., 2] (xy = x[..., [0, 1]], yz = [1, 2], xz = [0, 2]).
    """
    if x.shape[-1] != 3:
        raise ValueError(f"expected [..., 3] points, got {tuple(x.shape)}")
    return tuple(x[..., list(axes)] for axes in PLANES.values())


class TriPlane(nn.Module):
    """Three 2D grid encoders, one per plane, concatenated in the order xy, yz, xz.

    Keyword arguments go to each :class:`GridEncoder` (``input_dim`` is fixed to 2). ER-NeRF
    defaults: hash, 12 levels x 1 feature, base 64, finest 512 * bound, table 2**14.

    forward(x: [..., 3] in [-bound, bound], bound=None) -> [..., 3 * L * C].
    """

    def __init__(
        self,
        num_levels: int = 12,
        level_dim: int = 1,
        base_resolution: int = 64,
        log2_hashmap_size: int = 14,
        desired_resolution: float | None = 512,
        gridtype: str = "hash",
        **kwargs,
    ):
        super().__init__()
        kwargs.pop("input_dim", None)
        common = dict(
            input_dim=2,
            num_levels=num_levels,
            level_dim=level_dim,
            base_resolution=base_resolution,
            log2_hashmap_size=log2_hashmap_size,
            desired_resolution=desired_resolution,
            gridtype=gridtype,
            **kwargs,
        )
        self.encoder_xy = GridEncoder(**common)
        self.encoder_yz = GridEncoder(**common)
        self.encoder_xz = GridEncoder(**common)
        self.input_dim = 3
        self.plane_dim = self.encoder_xy.output_dim
        self.output_dim = 3 * self.plane_dim

    def forward(self, x: torch.Tensor, bound: float | None = None) -> torch.Tensor:
        """x: [..., 3] -> [..., 3 * L * C] (xy, yz, xz features concatenated)."""
        xy, yz, xz = triplane_project(x)
        feats = (
            self.encoder_xy(xy, bound=bound),
            self.encoder_yz(yz, bound=bound),
            self.encoder_xz(xz, bound=bound),
        )
        return torch.cat(feats, dim=-1)
