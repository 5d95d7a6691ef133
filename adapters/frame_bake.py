"""The per-frame bake of a wrapped model's point map (inference fast path, opt-in).

At inference a frame's signals (F_a, F_e, F_h) and the fine-tuned identity are fixed, so the
whole map from an observation point to the point the backbone reads,

    x  ->  x' = x + Δx_face + Δx_torso        (RSDF, eqs. 3-5)
           x'' = x' + Δx_id(x')               (ID-AKT's canonical offset, when present)

is a fixed function of x for the frame. :class:`FrameBake` puts it on a lattice over the
occupancy grid's cube (each grid cell cut into ``subdivisions``^3 lattice cells; 1: the grid's
own vertices) and evaluates it only where the frame needs it: at the vertices of the lattice
cells its samples fall in, each vertex once a frame. Every sample then reads the trilinear
interpolation of its cell's 8 vertices (a
:class:`~lokitalk_plugins.encoding.lattice.VertexLattice` read, the fused grid kernel where it
builds) instead of running the hash-grid encoding and the offset MLPs; a point outside the
cube gets the exact map. Which vertices a batch of samples needs that are not baked yet is
decided by :func:`~lokitalk_plugins.encoding.lattice.claim_cells` (one pass of the fused kernel
over the points where it builds, else its pure-PyTorch twin).

An approximation: at the vertices the map is exact (up to float rounding); between them it is
the trilinear interpolation (its cost in PSNR is measured by ``benchmarks/frame_bake.py``).
A frame pays one evaluation of the map per vertex it touches, so the bake saves where
neighbouring samples share cells (many samples a cell: larger frames, finer steps) and costs
where they do not (a fine lattice, few samples).

A bake is kept while the frame's signals and the identity stay the same (compared on every
call); switching the model to training mode drops it.
"""

from __future__ import annotations

import torch

from lokitalk_plugins.encoding.lattice import VertexLattice, claim_cells, outside_cube

__all__ = ["FrameBake", "check_subdivisions"]


def check_subdivisions(value) -> int:
    """``frame_bake`` of :meth:`~.fast_path.FastPathPlug.inference_fast_path`: an int in
    0..8 (0: off) or a one-line ValueError naming the option."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 8:
        raise ValueError(
            f"inference_fast_path(frame_bake={value!r}): expected an int in 0..8 (lattice "
            "cells per occupancy cell edge; 0 switches the bake off)"
        )
    return value


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and a.dtype == b.dtype and torch.equal(a, b)


class FrameBake:
    """One frame's point map on a lattice, baked where the frame's samples fall (see the
    module doc).

    subdivisions: lattice cells per occupancy-cell edge (>= 1; the lattice spans the model's
    grid cube with ``grid.resolution * subdivisions`` cells an axis); chunk: vertices per
    evaluation; backend: the bookkeeping's and the reads' (``"auto"``: the fused kernel where
    it builds, else ``"torch"``, the pure-PyTorch twins; see
    :func:`~lokitalk_plugins.encoding.lattice.claim_cells`).
    ``bake(model, x, f_a, eye, pose, ident) -> [N, 3]`` the backbone's points for x [N, 3]
    (``model``: the wrapped model, whose :meth:`point_map` is the exact map and whose ``grid``
    gives the cube). ``stats``: the frames baked (``bakes``), the vertices baked for
    the current frame, the points read and the points outside the cube (the exact map).
    """

    def __init__(self, subdivisions: int = 1, chunk: int = 1 << 16, backend: str = "auto"):
        if check_subdivisions(subdivisions) < 1:
            raise ValueError("FrameBake: subdivisions must be >= 1")
        self.subdivisions, self.chunk, self.backend = subdivisions, int(chunk), backend
        self.stats = {"bakes": 0, "vertices": 0, "points": 0, "exact_points": 0}
        self._lattice, self._baked, self._cells = None, None, None
        self.clear()

    def clear(self) -> None:
        """Forget the current frame (the next call starts a new bake)."""
        self._key = None

    def _fresh(self, key) -> bool:
        return self._key is not None and all(_same(a, b) for a, b in zip(self._key, key))

    def _start(self, model, key) -> None:
        """A new frame: an empty lattice over the grid's cube (the table reused when it fits)."""
        grid, p = model.grid, next(model.parameters())
        res = grid.resolution * self.subdivisions + 1
        old = self._lattice
        if not (old is not None and old.resolution == res and old.bound == grid.bound
                and old.table.device == p.device):  # fmt: skip
            self._lattice = VertexLattice(res, grid.bound, 3, device=p.device, backend=self.backend)
            self._baked = torch.zeros(res**3, dtype=torch.bool, device=p.device)
            self._cells = torch.zeros((res - 1) ** 3, dtype=torch.bool, device=p.device)
        self._baked.zero_()  # vertices baked this frame
        self._cells.zero_()  # cells whose 8 vertices are baked this frame
        self._key = tuple(None if t is None else t.detach().clone() for t in key)
        self.stats["bakes"] += 1
        self.stats["vertices"] = 0

    def __call__(self, model, x, f_a, eye, pose=None, ident=None) -> torch.Tensor:
        code = None if ident is None else ident.offset_code
        dyn = None if ident is None else ident.dynamic
        key = (f_a, eye, pose, code, dyn)
        if not self._fresh(key):
            self._start(model, key)
        lattice = self._lattice
        rows, outside = claim_cells(x, lattice.bound, lattice.resolution, self._cells,
                                    self._baked, self.backend)  # fmt: skip
        if rows.numel():
            self._bake(model, rows, f_a, eye, pose, ident)
        out = x + lattice(x)
        self.stats["points"] += x.shape[0]
        if outside:  # outside the cube: the exact map
            idx = outside_cube(x, lattice.bound).nonzero()[:, 0]
            out[idx] = model.point_map(x[idx], f_a, eye, pose, ident).to(out.dtype)
            self.stats["exact_points"] += int(idx.numel())
        return out

    @torch.no_grad()
    def _bake(self, model, rows, f_a, eye, pose, ident) -> None:
        """Evaluate the map at the vertices ``rows`` just claimed (in chunks); a failure
        forgets the frame, so no claimed vertex is read unbaked."""
        lat = self._lattice
        try:
            for part in rows.split(self.chunk):
                pts = lat.vertex_points(part)
                lat.write(part, model.point_map(pts, f_a, eye, pose, ident).float() - pts)
        except BaseException:
            self.clear()
            raise
        self.stats["vertices"] += int(rows.numel())
