"""Values on the vertices of a cube's lattice, read by trilinear interpolation.

A :class:`VertexLattice` holds C channels on the R^3 vertices of ``[-bound, bound]^3`` (vertex
(ix, iy, iz) at ``-bound + 2 bound * (ix, iy, iz) / (R - 1)``) as a table of rows
``ix + R iy + R^2 iz`` (the order a [z, y, x] volume flattens in, so :meth:`dense` is a view
for ``grid_sample``). A point reads the trilinear interpolation of its cell's 8 vertices; a
point outside the cube reads 0.

The read runs in the fused C++ grid kernel where it builds, on the CPU (one tiled level of
corner-aligned nodes: the same interpolation as ``grid_sample`` with ``align_corners=True``,
equal to it in tests and faster), else through ``torch.nn.functional.grid_sample``
(``backend="torch"`` forces it). Used for baked offsets: ID-AKT's Δx_id
(:class:`~lokitalk_plugins.idakt.baked.BakedOffset`) and a wrapped model's per-frame bake of
its whole point map (``adapters/frame_bake.py``), whose bookkeeping (which vertices a batch of
points needs that are not baked yet) is :func:`claim_cells`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .grid_cpp import grid_encode_cpp, kernel_available, load_kernel
from .grid_layout import grid_layout

__all__ = ["LATTICE_BACKENDS", "VertexLattice", "claim_cells", "outside_cube"]

LATTICE_BACKENDS = ("auto", "torch")


class VertexLattice:
    """C channels on the R^3 vertices of ``[-bound, bound]^3`` (see the module doc).

    resolution: R vertices per axis (>= 2); bound: the cube's half-size; channels: C;
    backend: ``"auto"`` (the fused kernel on the CPU where it builds) or ``"torch"``. The
    table starts at zero; fill it with :meth:`write` (or assign ``values``), read with
    ``lattice(x [N, 3]) -> [N, C]``.
    """

    def __init__(self, resolution: int, bound: float, channels: int, device=None,
                 dtype=torch.float32, backend: str = "auto"):  # fmt: skip
        if int(resolution) < 2:
            raise ValueError(f"resolution must be >= 2, got {resolution}")
        if backend not in LATTICE_BACKENDS:
            raise ValueError(f"backend must be one of {list(LATTICE_BACKENDS)}, got {backend!r}")
        self.resolution, self.bound, self.channels = int(resolution), float(bound), int(channels)
        self.backend = backend
        log2 = max(19, 3 * self.resolution.bit_length())
        self.layout = grid_layout(input_dim=3, num_levels=1, level_dim=self.channels,
                                  base_resolution=self.resolution, gridtype="tiled",
                                  align_corners=True, log2_hashmap_size=log2)  # fmt: skip
        rows = int(self.layout.offsets[-1])  # the layout pads the table (to a multiple of 8)
        self.table = torch.zeros(rows, self.channels, device=device, dtype=dtype)

    @property
    def num_vertices(self) -> int:
        return self.resolution**3

    @property
    def values(self) -> torch.Tensor:
        """The vertices' rows of the table, [R^3, C] (a view)."""
        return self.table[: self.num_vertices]

    def vertex_points(self, rows: torch.Tensor) -> torch.Tensor:
        """rows [K] (int64, row = ix + R iy + R^2 iz) -> their vertices' points [K, 3]."""
        r = self.resolution
        ijk = torch.stack([rows % r, rows // r % r, rows // (r * r)], dim=-1)
        step = 2.0 * self.bound / (r - 1)
        return ijk.to(self.table.dtype) * step - self.bound

    def write(self, rows: torch.Tensor, values: torch.Tensor) -> None:
        """Set the vertices ``rows`` [K] to ``values`` [K, C]."""
        self.table.index_copy_(0, rows, values.to(self.table.dtype))

    def dense(self) -> torch.Tensor:
        """The values as a [1, C, R, R, R] volume in [z, y, x] order (for ``grid_sample``)."""
        r = self.resolution
        return self.values.T.reshape(1, self.channels, r, r, r)

    @property
    def uses_kernel(self) -> bool:
        """True when reads run in the fused C++ kernel (see the module doc)."""
        t = self.table
        return (self.backend == "auto" and t.device.type == "cpu"
                and t.dtype in (torch.float32, torch.float64) and kernel_available())  # fmt: skip

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != 3:
            raise ValueError(f"x: expected [N, 3], got {tuple(x.shape)}")
        if self.uses_kernel:  # the kernel gives 0 outside [0, 1]^3, i.e. outside the cube
            u = (x.to(self.table.dtype) + self.bound) * (0.5 / self.bound)
            return grid_encode_cpp(u.contiguous(), self.table, self.layout).to(x.dtype)
        inside = (x.abs() <= self.bound).all(dim=-1, keepdim=True)
        g = (x / self.bound).to(self.table.dtype).view(1, -1, 1, 1, 3)
        out = F.grid_sample(self.dense(), g, mode="bilinear", align_corners=True)
        v = out.view(self.channels, -1).T.to(x.dtype)
        return torch.where(inside, v, torch.zeros_like(v))


def outside_cube(x: torch.Tensor, bound: float) -> torch.Tensor:
    """[N] True where a point of x [N, 3] lies outside ``[-bound, bound]^3`` as a
    :class:`VertexLattice` read decides it (u = (x + bound) * (0.5 / bound) outside [0, 1] on
    an axis, in x's floating dtype; NaN is outside)."""
    u = (x.detach() + bound) * (0.5 / bound)
    return ~((u >= 0) & (u <= 1)).all(dim=-1)


def claim_cells(x: torch.Tensor, bound: float, resolution: int, cells: torch.Tensor,
                baked: torch.Tensor, backend: str = "auto") -> tuple:  # fmt: skip
    """The bookkeeping of a lattice baked lazily, where points fall: every point of x [N, 3]
    inside the cube (:func:`outside_cube`) claims its lattice cell (lower corner
    ``min(trunc(u (R - 1)), R - 2)`` per axis) and that cell's 8 vertices.

    cells [(R - 1)^3] and baked [>= R^3] (bool, contiguous): the cells and vertices claimed
    already, updated in place. Returns (the newly claimed vertices' rows ``ix + R iy + R^2 iz``
    [K] int64, each once; the number of points outside the cube). The caller evaluates the
    rows' vertices before any read needs them.

    ``backend``: ``"auto"`` runs one serial pass of the fused kernel on the CPU where it
    builds (rows in the order the points first reach them); ``"torch"`` the pure-PyTorch
    reference (rows ascending). Both claim the same rows and set the same masks.
    """
    if backend not in LATTICE_BACKENDS:
        raise ValueError(f"backend must be one of {list(LATTICE_BACKENDS)}, got {backend!r}")
    x = x.detach()
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    r = int(resolution)
    if backend == "auto" and x.device.type == "cpu" and kernel_available():
        ops = load_kernel()
        rows, outside = ops.lattice_claim(x.contiguous(), float(bound), r, cells, baked)
        return rows, int(outside)
    out = outside_cube(x, bound)
    n_out = int(out.sum())
    u = (x if not n_out else x[~out]) + bound
    u = u * (0.5 / bound)
    cell = (u * (r - 1)).long().clamp_(max=r - 2)  # u >= 0: truncation is the floor
    flat = cell[:, 0] + (r - 1) * (cell[:, 1] + (r - 1) * cell[:, 2])
    new = flat[~cells[flat]]
    if not new.numel():
        return torch.zeros(0, dtype=torch.long, device=x.device), n_out
    c = torch.unique(new)
    cells[c] = True
    lower = (c % (r - 1)) + r * (c // (r - 1) % (r - 1)) + r * r * (c // (r - 1) ** 2)
    steps = torch.tensor([a + r * b + r * r * k for k in (0, 1) for b in (0, 1) for a in (0, 1)],
                         device=x.device)  # fmt: skip
    corners = torch.unique((lower[:, None] + steps[None, :]).reshape(-1))
    rows = corners[~baked[corners]]
    baked[rows] = True
    return rows, n_out
