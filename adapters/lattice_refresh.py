"""The occupancy refresh of a wrapped model on the grid's lattice (``GridUpkeep.lattice``).

A refresh evaluates the density at one point per cell. On the lattice
(:func:`~lokitalk_plugins.render.upkeep.lattice_axes`) cell (i, j, k) takes the point
(axes[0, i], axes[1, j], axes[2, k]), so a backbone whose encoding separates (ER-NeRF's
tri-planes) encodes r^2 points a plane once per refresh and reads every cell's features by
index (the adapter's ``lattice_encoder``).

With a deformation plug-in the density a world cell needs is the canonical one at the
deformed point x' = x + Δx(x), which is off the lattice, so the exact refresh encodes every
x' and runs the deformation at every cell. ``GridUpkeep.deformed_lattice`` trades that for
the lattice's own points:

- the cell reads the canonical density at the lattice point of the canonical cell x' falls
  in (its planes encoded once, as above): a point at most one cell diagonal from x', itself
  uniform inside that cell at every refresh, as x' is inside its world cell;
- with R >= 2 the deformation itself comes from an R^3 vertex lattice over the grid's cube
  (:class:`~lokitalk_plugins.encoding.lattice.VertexLattice`), evaluated once per refresh
  and read by trilinear interpolation; 0 deforms every cell's point exactly.

Under one static canonical space (``static_canonical``, a wrapped model with a deformation)
the density is the adapter's ``static_sigma``: ER-NeRF's skips sigma_net's inputs that the
static condition sets to zero and the geo_feat outputs a refresh does not read (equal to the
full product up to float rounding).

A deformed point outside the cube is encoded exactly (no lattice cell holds it). Speed:
``benchmarks/results/train_speed_deformed_lattice*_er_nerf_odr.md``; quality in training: the
Table 2 ablation row "O+D+R, fast upkeep every 16, deformed lattice" (ledger
``fast_upkeep16_lattice_quality``).
"""

from __future__ import annotations

import torch

from lokitalk_plugins.encoding.lattice import VertexLattice
from lokitalk_plugins.render.upkeep import lattice_points

__all__ = ["lattice_density", "vertex_offsets"]

CHUNK = 1 << 14  # vertices per deformation call


def vertex_offsets(model, vertices: int, bound: float, f_a, eye, pose, reach=None) -> VertexLattice:
    """The deformation Δx on the vertices of an R^3 lattice over [-bound, bound]^3; reach:
    None (every vertex) or a box [6] (min xyz, max xyz) that every point to be read lies in:
    only the vertices of the lattice cells meeting it are evaluated (the others, never read,
    stay 0)."""
    lat = VertexLattice(vertices, bound, 3, device=f_a.device)
    if reach is None:
        rows = torch.arange(lat.num_vertices, device=f_a.device)
    else:
        rows = _rows_reaching(vertices, bound, reach.to(f_a.device))
    for s in range(0, rows.numel(), CHUNK):
        part = rows[s : s + CHUNK]
        x = lat.vertex_points(part)
        lat.write(part, model.deform(x, f_a, eye, pose, None, maps=False).x_canonical - x)
    return lat


def _rows_reaching(vertices: int, bound: float, box: torch.Tensor) -> torch.Tensor:
    """The rows (ix + R iy + R^2 iz) of the vertices of the lattice cells that meet ``box``:
    on each axis the last vertex at or below its min through the first at or above its max."""
    step = 2.0 * bound / (vertices - 1)
    axes = []
    for a in range(3):
        lo = int(torch.floor((box[a] + bound) / step).clamp(0, vertices - 1))
        hi = int(torch.ceil((box[a + 3] + bound) / step).clamp(0, vertices - 1))
        axes.append(torch.arange(lo, hi + 1, device=box.device))
    iz, iy, ix = torch.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
    return (ix + vertices * iy + vertices * vertices * iz).reshape(-1)


def lattice_density(model, axes: torch.Tensor, enc_a, eye, pose, deformed: bool,
                    deformed_lattice: int | None):  # fmt: skip
    """A wrapped model's ``grid_density_lattice`` (see the module doc): -> a function ijk
    [K, 3] -> sigma [K], or None where the lattice cannot serve (the caller then evaluates
    the lattice's points through ``grid_density``): the adapter has no ``lattice_encoder``,
    ID-AKT's identity moves the canonical points, or the model deforms (``deformed`` and a
    deformation plug-in) and ``deformed_lattice`` is None."""
    if model.identity_outputs(required=False) is not None:
        return None
    adapter, dev = model.adapter, axes.device.type
    # under one static canonical space the features meet linear layers alone, which cast them
    # to the autocast's dtype first: the planes' table is cast once instead (the same values)
    low = model.static_canonical and torch.is_autocast_enabled(dev)
    encode = adapter.lattice_encoder(axes, torch.get_autocast_dtype(dev) if low else None)
    if encode is None:
        return None
    enc_a, f_a = model.split_audio(enc_a)
    cond = model.backbone_condition(enc_a, eye)
    if model.static_canonical:  # one static canonical space: the adapter's cheaper form

        def sigma_of(enc):
            return adapter.static_sigma(enc, enc_a, eye)
    else:

        def sigma_of(enc):
            return adapter.sigma(enc, *cond)

    if not deformed or model.rsdf is None:
        return lambda ijk: sigma_of(encode(ijk))
    if deformed_lattice is None:
        return None
    r, bound = axes.shape[1], float(model.grid.bound)
    offsets, grid = None, model.grid
    if deformed_lattice:
        reach = None  # a box_only grid refreshes only cells meeting its box, one cell deep
        if grid.box_only:
            one = torch.tensor([-1.0] * 3 + [1.0] * 3, device=grid.aabb_train.device)
            reach = grid.aabb_train + one * grid.cell_size
        offsets = vertex_offsets(model, int(deformed_lattice), bound, f_a, eye, pose, reach)

    def on_cells(ijk: torch.Tensor) -> torch.Tensor:
        x = lattice_points(axes, ijk)
        if offsets is None:
            xc = model.deform(x, f_a, eye, pose, None, maps=False).x_canonical
        else:
            xc = x + offsets(x.float()).to(x.dtype)
        cell = ((xc.float() + bound) * (r / (2.0 * bound))).floor().long()
        inside = ((cell >= 0) & (cell < r)).all(-1)
        sigma = sigma_of(encode(cell.clamp(0, r - 1)))
        if bool(inside.all()):
            return sigma
        out = (~inside).nonzero().flatten()
        exact = sigma_of(adapter.encode_points(xc.index_select(0, out)))
        return sigma.index_copy(0, out, exact.to(sigma.dtype))

    return on_cells
