"""The fine-tuned identity's canonical offset Δx_id baked into a voxel grid (inference only).

After fine-tuning, the offset code of the one identity is fixed, so Δx_id(x) = MLP([PE(x /
bound), code]) is a fixed function of x: sampling it once on an ``R^3`` lattice over
``[-bound, bound]^3`` and interpolating trilinearly replaces the per-sample MLP by a lookup.
At the lattice vertices the baked offset equals the MLP's (up to float rounding); between them
it is the trilinear interpolation, so its error shrinks with R (measure it with
:func:`bake_error`). Points outside the box get 0, as the MLP's field does.

The lookup runs in the fused C++ grid kernel where it builds, on the CPU (one tiled level of
R^3 vertices with corner-aligned nodes and 3 channels: the same trilinear interpolation, equal
to ``grid_sample``'s in tests and faster, see ``benchmarks/render_overhead.py``), else through
``torch.nn.functional.grid_sample`` (``backend="torch"`` forces it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lokitalk_plugins.encoding.grid_cpp import grid_encode_cpp, kernel_available
from lokitalk_plugins.encoding.grid_layout import grid_layout

__all__ = ["BakedOffset", "bake_error"]


class BakedOffset(nn.Module):
    """Δx_id of one identity on a lattice: ``BakedOffset(field, offset_code, resolution)``.

    field: a :class:`~lokitalk_plugins.idakt.CanonicalOffsetField`; offset_code: [1, Do];
    resolution: R vertices per axis (>= 2), bound taken from the field. ``forward(x [N, 3])
    -> [N, 3]``. The lattice is baked in chunks, without gradients, on the field's device and
    dtype; the module holds it as a buffer [1, 3, R, R, R] (z, y, x order for grid_sample).
    backend: ``"auto"`` (the fused kernel on the CPU where it builds, else grid_sample) or
    ``"torch"`` (grid_sample always).
    """

    def __init__(self, field: nn.Module, offset_code: torch.Tensor, resolution: int = 128,
                 chunk: int = 1 << 16, backend: str = "auto"):  # fmt: skip
        super().__init__()
        if resolution < 2:
            raise ValueError(f"resolution must be >= 2, got {resolution}")
        if backend not in ("auto", "torch"):
            raise ValueError(f"backend must be 'auto' or 'torch', got {backend!r}")
        self.bound, self.resolution = float(field.bound), int(resolution)
        p = next(field.parameters())
        axis = torch.linspace(-self.bound, self.bound, resolution, device=p.device, dtype=p.dtype)
        z, y, x = torch.meshgrid(axis, axis, axis, indexing="ij")
        pts = torch.stack([x, y, z], dim=-1).reshape(-1, 3)
        with torch.no_grad():
            dx = torch.cat([field(c, offset_code.detach()) for c in pts.split(chunk)])
        self.register_buffer("lattice", dx.T.reshape(1, 3, resolution, resolution, resolution))
        self.backend = backend
        # the kernel's table: vertex (ix, iy, iz) at row ix + R iy + R^2 iz, as the lattice's
        # [z, y, x] order flattens; kept out of the state dict (the lattice is the record)
        log2 = max(19, 3 * int(resolution).bit_length())
        self._layout = grid_layout(input_dim=3, num_levels=1, level_dim=3,
                                   base_resolution=resolution, gridtype="tiled",
                                   align_corners=True, log2_hashmap_size=log2)  # fmt: skip
        rows = int(self._layout.offsets[-1])  # the layout pads the table (to a multiple of 8)
        self._table = torch.cat([dx, dx.new_zeros(rows - dx.shape[0], 3)]).contiguous()

    @property
    def uses_kernel(self) -> bool:
        """True when the lookup runs in the fused C++ kernel (see the module doc)."""
        t = self._table
        return (self.backend == "auto" and t.device.type == "cpu"
                and self.lattice.device.type == "cpu"  # not moved since it was baked
                and t.dtype in (torch.float32, torch.float64) and kernel_available())  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != 3:
            raise ValueError(f"x: expected [N, 3], got {tuple(x.shape)}")
        if self.uses_kernel:  # the kernel gives 0 outside [0, 1]^3, i.e. outside the box
            u = (x.to(self._table.dtype) + self.bound) * (0.5 / self.bound)
            return grid_encode_cpp(u.contiguous(), self._table, self._layout).to(x.dtype)
        inside = (x.abs() <= self.bound).all(dim=-1, keepdim=True)
        g = (x / self.bound).to(self.lattice.dtype).view(1, -1, 1, 1, 3)
        out = F.grid_sample(self.lattice, g, mode="bilinear", align_corners=True)
        dx = out.view(3, -1).T.to(x.dtype)
        return torch.where(inside, dx, torch.zeros_like(dx))


def bake_error(baked: BakedOffset, field: nn.Module, offset_code, n: int = 4096, seed: int = 0):
    """Max and mean |baked - MLP| over ``n`` seeded random points in the box -> (max, mean)."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 3, generator=g) * 2 - 1) * baked.bound
    x = x.to(baked.lattice)
    with torch.no_grad():
        d = (baked(x) - field(x, offset_code)).abs()
    return float(d.max()), float(d.mean())
