"""The per-frame bake of a wrapped model's point map (inference fast path, opt-in).

At inference a frame's signals (F_a, F_e, F_h) and the fine-tuned identity are fixed, so the
whole map from an observation point to the point the backbone reads,

    x  ->  x' = x + Δx_face + Δx_torso        (RSDF, eqs. 3-5)
           x'' = x' + Δx_id(x')               (ID-AKT's canonical offset, when present)

is a fixed function of x for the frame. :class:`FrameBake` evaluates it once per frame at the
vertices of the occupied cells of the model's occupancy grid (each cell cut into
``subdivisions``^3 lattice cells; 1: the grid's own vertices) and every sample of the frame
then reads the trilinear interpolation of its cell's 8 vertices (a
:class:`~lokitalk_plugins.encoding.lattice.VertexLattice` read, the fused grid kernel where it
builds) instead of running the hash-grid encoding and the offset MLPs. The renderer marches
through occupied cells only, so every sample it asks for lies in a baked cell; a point that
does not (a fourth lattice channel, 1 at baked vertices, reads below 1 there) gets the exact
map, so any point is answered.

An approximation: at the vertices the map is exact (up to float rounding); between them it is
the trilinear interpolation (its cost in PSNR is measured by ``benchmarks/frame_bake.py``).
The bake costs one evaluation of the map per baked vertex, so it pays where a frame has more
samples than its occupied cells have vertices (larger frames pay more readily).

A bake is reused while the frame's signals, the identity and the grid's occupancy stay the
same (compared on every call); switching the model to training mode drops it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lokitalk_plugins.encoding.lattice import VertexLattice

__all__ = ["FrameBake", "baked_vertex_rows", "check_subdivisions"]

# a point whose interpolated "baked" channel reads below this falls back to the exact map
_BAKED = 1.0 - 1e-4


def check_subdivisions(value) -> int:
    """``frame_bake`` of :meth:`~.fast_path.FastPathPlug.inference_fast_path`: an int in
    0..8 (0: off) or a one-line ValueError naming the option."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 8:
        raise ValueError(
            f"inference_fast_path(frame_bake={value!r}): expected an int in 0..8 (lattice "
            "cells per occupancy cell edge; 0 switches the bake off)"
        )
    return value


def baked_vertex_rows(occupancy: torch.Tensor, subdivisions: int) -> torch.Tensor:
    """occupancy [G, G, G] bool indexed [ix, iy, iz] -> the rows (ix + R iy + R^2 iz, int64,
    R = G * subdivisions + 1) of every vertex of a lattice cell inside an occupied cell."""
    occ = occupancy
    for dim in range(3):
        occ = occ.repeat_interleave(subdivisions, dim=dim)
    # a vertex is needed where any of its (up to) 8 cells is occupied
    padded = F.pad(occ.float()[None, None], (1, 1, 1, 1, 1, 1))
    needed = F.max_pool3d(padded, kernel_size=2, stride=1)[0, 0] > 0  # [R, R, R], [ix, iy, iz]
    return needed.permute(2, 1, 0).reshape(-1).nonzero()[:, 0]  # flat [iz, iy, ix] = rows


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and a.dtype == b.dtype and torch.equal(a, b)


class FrameBake:
    """One frame's point map on the occupied cells' lattice (see the module doc).

    subdivisions: lattice cells per occupancy-cell edge (>= 1); chunk: vertices per
    evaluation. ``bake(model, x, f_a, eye, pose, ident) -> [N, 3]`` the backbone's points for
    x [N, 3] (``model``: the wrapped model, whose :meth:`point_map` is the exact map and
    whose ``grid`` gives the occupied cells). ``stats``: the last bake's vertex count and the
    counts of bakes, points read and points that fell back to the exact map.
    """

    def __init__(self, subdivisions: int = 1, chunk: int = 1 << 16):
        if check_subdivisions(subdivisions) < 1:
            raise ValueError("FrameBake: subdivisions must be >= 1")
        self.subdivisions, self.chunk = subdivisions, int(chunk)
        self.stats = {"bakes": 0, "vertices": 0, "points": 0, "exact_points": 0}
        self.clear()

    def clear(self) -> None:
        """Drop the current bake (the next call bakes again)."""
        self._key, self._lattice = None, None

    def _key_of(self, grid, f_a, eye, pose, ident) -> tuple:
        code = None if ident is None else ident.offset_code
        dyn = None if ident is None else ident.dynamic
        return (f_a, eye, pose, code, dyn, grid.density_bitfield)

    def _fresh(self, key) -> bool:
        return self._key is not None and all(_same(a, b) for a, b in zip(self._key, key))

    def __call__(self, model, x, f_a, eye, pose=None, ident=None) -> torch.Tensor:
        grid = model.grid
        key = self._key_of(grid, f_a, eye, pose, ident)
        if not self._fresh(key):
            self._lattice = self._bake(model, grid, f_a, eye, pose, ident)
            self._key = tuple(None if t is None else t.detach().clone() for t in key)
        v = self._lattice(x)
        out = x + v[:, :3]
        exact = v[:, 3] < _BAKED
        self.stats["points"] += x.shape[0]
        if bool(exact.any()):
            idx = exact.nonzero()[:, 0]
            out[idx] = model.point_map(x[idx], f_a, eye, pose, ident).to(out.dtype)
            self.stats["exact_points"] += int(idx.numel())
        return out

    @torch.no_grad()
    def _bake(self, model, grid, f_a, eye, pose, ident) -> VertexLattice:
        res = grid.resolution * self.subdivisions + 1
        p = next(model.parameters())
        old = self._lattice
        if old is not None and old.resolution == res and old.table.device == p.device:
            lattice = old
            lattice.table.zero_()
        else:
            lattice = VertexLattice(res, grid.bound, 4, device=p.device)
        rows = baked_vertex_rows(grid.occupancy.to(p.device), self.subdivisions)
        for part in rows.split(self.chunk):
            pts = lattice.vertex_points(part)
            mapped = model.point_map(pts, f_a, eye, pose, ident).float()
            lattice.write(part, torch.cat([mapped - pts, mapped.new_ones(len(part), 1)], -1))
        self.stats["bakes"] += 1
        self.stats["vertices"] = int(rows.numel())
        return lattice
