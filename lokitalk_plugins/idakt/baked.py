"""The fine-tuned identity's canonical offset Δx_id baked into a voxel grid (inference only).

After fine-tuning, the offset code of the one identity is fixed, so Δx_id(x) = MLP([PE(x /
bound), code]) is a fixed function of x: sampling it once on an ``R^3`` lattice over
``[-bound, bound]^3`` and interpolating trilinearly replaces the per-sample MLP by a lookup.
At the lattice vertices the baked offset equals the MLP's (up to float rounding); between them
it is the trilinear interpolation, so its error shrinks with R (measure it with
:func:`bake_error`). Points outside the box get 0, as the MLP's field does.

The lookup is a :class:`~lokitalk_plugins.encoding.lattice.VertexLattice` read: the fused C++
grid kernel where it builds, on the CPU (equal to ``grid_sample``'s in tests and faster, see
``benchmarks/render_overhead.py``), else ``torch.nn.functional.grid_sample`` (``backend="torch"``
forces it).
"""

from __future__ import annotations

import torch
from torch import nn

from lokitalk_plugins.encoding.lattice import LATTICE_BACKENDS, VertexLattice

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
        if backend not in LATTICE_BACKENDS:
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
        self._reader = self._read_from(self.lattice)

    def _read_from(self, lattice: torch.Tensor) -> VertexLattice:
        """The reader of ``lattice`` [1, 3, R, R, R] (its table kept out of the state dict: the
        lattice is the record), on the lattice's device and dtype."""
        r = self.resolution
        reader = VertexLattice(r, self.bound, 3, lattice.device, lattice.dtype, self.backend)
        reader.values.copy_(lattice.reshape(3, r**3).T)
        return reader

    @property
    def uses_kernel(self) -> bool:
        """True when the lookup runs in the fused C++ kernel (see the module doc)."""
        return self._reader.uses_kernel and self._reader.table.device == self.lattice.device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, lat = self._reader.table, self.lattice
        if t.device != lat.device or t.dtype != lat.dtype:  # moved since it was baked
            self._reader = self._read_from(lat)
        return self._reader(x)


def bake_error(baked: BakedOffset, field: nn.Module, offset_code, n: int = 4096, seed: int = 0):
    """Max and mean |baked - MLP| over ``n`` seeded random points in the box -> (max, mean)."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 3, generator=g) * 2 - 1) * baked.bound
    x = x.to(baked.lattice)
    with torch.no_grad():
        d = (baked(x) - field(x, offset_code)).abs()
    return float(d.max()), float(d.mean())
