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

With a ``tolerance`` the lattice is refined where the map needs it (an even ``subdivisions``
k): a coarse lattice of k/2 cells per occupancy-cell edge decides, cell by cell, whether its
trilinear interpolation misses the map at the cell's centre by more than ``tolerance`` (in the
map's units, those of the grid's cube). A coarse cell that does is refined: every fine vertex
it owns (those whose coarse cell, ``floor(i / 2)`` on each axis, it is) gets the exact map; in
one that does not, its fine vertices get the coarse interpolation, so there it reads exactly
what the k/2 bake reads. The coarse vertices always get the exact map. Each vertex's value
depends only on the map (never on the order the samples come in), neighbouring cells share
their vertices (no seams), and the reads are the same single fine-lattice read. A coarse cell
costs about 2 evaluations to decide (its centre and its share of the corners) and up to 6
more if refined, while the full k bake costs about 6 a coarse cell (the vertices shared; on a
512 px frame of Table 2's O+D+R, 457,000 vertices for 74,000 coarse cells): the refined bake
saves only where well under two thirds of the cells are refined. ``tolerance=0`` refines every
cell where the coarse interpolation is not exact, ``None`` (the default) bakes every vertex
exactly.

A bake is kept while the frame's signals and the identity stay the same (compared on every
call); switching the model to training mode drops it.
"""

from __future__ import annotations

import torch

from lokitalk_plugins.encoding.lattice import VertexLattice, claim_cells, outside_cube

__all__ = ["FrameBake", "check_subdivisions", "check_tolerance"]


def check_subdivisions(value) -> int:
    """``frame_bake`` of :meth:`~.fast_path.FastPathPlug.inference_fast_path`: an int in
    0..8 (0: off) or a one-line ValueError naming the option."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 8:
        raise ValueError(
            f"inference_fast_path(frame_bake={value!r}): expected an int in 0..8 (lattice "
            "cells per occupancy cell edge; 0 switches the bake off)"
        )
    return value


def check_tolerance(value, subdivisions: int):
    """``frame_bake_tolerance``: None, or a number >= 0 with an even ``frame_bake`` (the
    coarse lattice has half its cells an edge); else a one-line ValueError naming the option."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"inference_fast_path(frame_bake_tolerance={value!r}): expected a "
                         "number >= 0 (the largest miss of the coarse lattice at a cell's centre "
                         "left unrefined) or None")  # fmt: skip
    if subdivisions % 2:
        raise ValueError(f"inference_fast_path(frame_bake={subdivisions}, frame_bake_tolerance="
                         f"{value}): the refined bake needs an even frame_bake (its coarse "
                         "lattice has half the cells an edge)")  # fmt: skip
    return float(value)


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
    gives the cube). tolerance: refine a coarse lattice where it misses the map by more
    (see the module doc; None: every vertex exact). ``stats``: the frames baked (``bakes``);
    for the current frame the exact evaluations (``vertices``), the vertices given the coarse
    interpolation (``interpolated``), the coarse cells decided and refined; the points read
    and the points outside the cube (the exact map).
    """

    def __init__(self, subdivisions: int = 1, chunk: int = 1 << 16, backend: str = "auto",
                 tolerance: float | None = None):  # fmt: skip
        if check_subdivisions(subdivisions) < 1:
            raise ValueError("FrameBake: subdivisions must be >= 1")
        self.subdivisions, self.chunk, self.backend = subdivisions, int(chunk), backend
        self.tolerance = check_tolerance(tolerance, subdivisions)
        self.stats = {"bakes": 0, "vertices": 0, "points": 0, "exact_points": 0,
                      "interpolated": 0, "coarse_cells": 0, "refined_cells": 0}  # fmt: skip
        self._lattice, self._baked, self._cells = None, None, None
        self._valued, self._decided, self._refined = None, None, None
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
            if self.tolerance is not None:
                coarse = (res - 1) // 2
                self._valued = torch.zeros(res**3, dtype=torch.bool, device=p.device)
                self._decided = torch.zeros(coarse**3, dtype=torch.bool, device=p.device)
                self._refined = torch.zeros(coarse**3, dtype=torch.bool, device=p.device)
        self._baked.zero_()  # vertices claimed this frame (baked once the call returns)
        self._cells.zero_()  # cells whose 8 vertices are claimed this frame
        if self.tolerance is not None:
            self._valued.zero_()  # vertices with a value this frame
            self._decided.zero_()  # coarse cells decided this frame
            self._refined.zero_()  # ... and refined
        self._key = tuple(None if t is None else t.detach().clone() for t in key)
        self.stats["bakes"] += 1
        for name in ("vertices", "interpolated", "coarse_cells", "refined_cells"):
            self.stats[name] = 0

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
            bake = self._bake if self.tolerance is None else self._bake_refined
            try:
                bake(model, rows, f_a, eye, pose, ident)
            except BaseException:  # no claimed vertex may be read unbaked
                self.clear()
                raise
        out = x + lattice(x)
        self.stats["points"] += x.shape[0]
        if outside:  # outside the cube: the exact map
            idx = outside_cube(x, lattice.bound).nonzero()[:, 0]
            out[idx] = model.point_map(x[idx], f_a, eye, pose, ident).to(out.dtype)
            self.stats["exact_points"] += int(idx.numel())
        return out

    @torch.no_grad()
    def _exact(self, model, rows, f_a, eye, pose, ident) -> torch.Tensor:
        """The map's offsets at the vertices ``rows`` [K] -> [K, 3] (float32, in chunks)."""
        lat, out = self._lattice, []
        for part in rows.split(self.chunk):
            pts = lat.vertex_points(part)
            out.append(model.point_map(pts, f_a, eye, pose, ident).float() - pts)
        self.stats["vertices"] += int(rows.numel())
        return torch.cat(out) if out else torch.zeros(0, 3)

    @torch.no_grad()
    def _bake(self, model, rows, f_a, eye, pose, ident) -> None:
        """Every vertex exact: evaluate the map at the vertices ``rows`` just claimed."""
        for part in rows.split(self.chunk):
            self._lattice.write(part, self._exact(model, part, f_a, eye, pose, ident))

    def _coarse(self, rows):
        """Fine vertex rows [K] -> (fine indices [K, 3], their owners' lower corners in
        coarse indices [K, 3], the owners' flat coarse-cell indices [K])."""
        r = self._lattice.resolution
        c = (r - 1) // 2  # coarse cells an edge
        i = torch.stack([rows % r, rows // r % r, rows // (r * r)], dim=-1)
        own = (i // 2).clamp_(max=c - 1)
        return i, own, own[:, 0] + c * (own[:, 1] + c * own[:, 2])

    def _fine_rows(self, fine) -> torch.Tensor:
        r = self._lattice.resolution
        return fine[..., 0] + r * (fine[..., 1] + r * fine[..., 2])

    @torch.no_grad()
    def _decide(self, model, cells, f_a, eye, pose, ident) -> None:
        """Decide the coarse cells ``cells`` [M] (flat): their 8 corners exact, their centre
        exact, refined where the corners' mean (the interpolation at the centre) misses it by
        more than the tolerance."""
        lat, c = self._lattice, (self._lattice.resolution - 1) // 2
        low = torch.stack([cells % c, cells // c % c, cells // (c * c)], dim=-1) * 2
        steps = torch.tensor([[a, b, k] for k in (0, 2) for b in (0, 2) for a in (0, 2)],
                             device=cells.device)  # fmt: skip
        corners = self._fine_rows(low[:, None, :] + steps[None])  # [M, 8]
        need = torch.unique(corners.reshape(-1))
        need = need[~self._valued[need]]
        if need.numel():
            lat.write(need, self._exact(model, need, f_a, eye, pose, ident))
            self._valued[need] = True
            self._baked[need] = True  # claimed: a later call does not return them
        centre = self._fine_rows(low + 1)
        exact = self._exact(model, centre, f_a, eye, pose, ident)
        miss = (exact - lat.values[corners].mean(dim=1)).norm(dim=-1)
        refined = miss > self.tolerance
        self._decided[cells] = True
        self._refined[cells] = refined
        keep = centre[refined]  # a refined cell's centre keeps its exact value
        lat.write(keep, exact[refined])
        self._valued[keep] = True
        self._baked[keep] = True
        self.stats["coarse_cells"] += int(cells.numel())
        self.stats["refined_cells"] += int(refined.sum())

    @torch.no_grad()
    def _bake_refined(self, model, rows, f_a, eye, pose, ident) -> None:
        """The refined bake (see the module doc) of the vertices ``rows`` just claimed: the
        coarse vertices among them exact; the owners of the others decided, then each of them
        exact or interpolated as its owner says."""
        i, _, owner = self._coarse(rows)
        fine = (i % 2 == 1).any(dim=-1)  # not a coarse vertex: its owner decides
        new = owner[fine & ~self._decided[owner]]
        if new.numel():
            for part in torch.unique(new).split(self.chunk):
                self._decide(model, part, f_a, eye, pose, ident)
        rows = rows[~self._valued[rows]]
        if not rows.numel():
            return
        i, own, owner = self._coarse(rows)
        ref = self._refined[owner] | (i % 2 == 0).all(dim=-1)
        exact = rows[ref]
        if exact.numel():
            self._lattice.write(exact, self._exact(model, exact, f_a, eye, pose, ident))
        rest, t, low = rows[~ref], (i[~ref] - 2 * own[~ref]).float() * 0.5, 2 * own[~ref]
        if rest.numel():  # the coarse cell's trilinear interpolation at the fine vertex
            vals = self._lattice.values
            acc = torch.zeros(rest.shape[0], 3)
            for a in (0, 1):
                for b in (0, 1):
                    for k in (0, 1):
                        bits = torch.tensor([a, b, k], device=rows.device)
                        w = torch.where(bits.bool(), t, 1 - t).prod(dim=-1, keepdim=True)
                        acc += w * vals[self._fine_rows(low + 2 * bits)]
            self._lattice.write(rest, acc)
            self.stats["interpolated"] += int(rest.numel())
        self._valued[rows] = True
