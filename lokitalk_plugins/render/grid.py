"""Occupancy grid over the cube [-bound, bound]^3: one cascade, refreshed from a density field.

Cell (ix, iy, iz) of a res^3 grid spans ``-bound + 2 bound * [i, i + 1) / res`` on each axis;
a point maps to cell ``floor((x + bound) / (2 bound) * res)``. Buffers keep the originals'
names and layouts (``density_grid`` [1, res^3] float and ``density_bitfield`` [res^3 // 8]
uint8, both in Morton order, see :mod:`lokitalk_plugins.render.morton`; ``aabb_train`` and
``aabb_infer`` [6]; ``step_counter`` [16, 2] int32), so a checkpoint's grid loads directly.
A backbone that must expose them at its top level (as the originals do) owns the grid as a
submodule and calls :func:`~lokitalk_plugins.render.grid_state.expose_grid_buffers`.

A fresh grid is fully occupied, so a field renders before the first update; cells marked
unseen (-1) by :meth:`OccupancyGrid.mark_unseen` are never occupied and never updated.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from tqdm.auto import tqdm

from lokitalk_plugins.encoding.grid_cpp import load_kernel

from .morton import morton_order, pack_bits, unpack_bits
from .upkeep import (
    UPKEEP_MODES,
    cell_indices,
    cell_points_of,
    evaluate_density,
    lattice_axes,
    lattice_points,
    sparse_cells,
    spread_schedule,
)
from .visibility import visible_mask

__all__ = ["GRID_BACKENDS", "HEAD_AABB", "OccupancyGrid"]

GRID_BACKENDS = ("auto", "torch")

HEAD_AABB = (-1.0, -0.5, -1.0, 1.0, 0.5, 1.0)


class OccupancyGrid(nn.Module):
    """Occupancy grid with decay-and-max updates and a density threshold.

    resolution: cells per axis (power of two; 128 in the originals); bound: half-size of the
    cube; aabb: [6] head box for ray near/far (train and inference); decay: 0.95; density_thresh:
    cap of the threshold min(mean valid density, density_thresh); update_every: 16 steps;
    jitter: sample a uniform point inside each cell (else its centre); chunk: points per
    density call (2^15: of 2^14, 2^15 and 2^16 the fastest ER-NeRF lattice refresh at 128^3
    in float32 and in bfloat16, ``benchmarks/results/grid_bookkeeping.md``; the values do not
    depend on it, a test holds it); upkeep: "full" (the originals' schedule: an update every
    ``update_every`` steps; with ``fraction`` below 1 a random share of the valid cells is
    evaluated and the others only decay by ``decay``) or "spread" (an update every
    round(fraction * update_every) steps evaluates a random ``fraction`` of the valid cells
    and every cell decays by decay^(interval / update_every): the same expected refresh
    interval and decay per wall step as "full" with fraction 1, in smaller updates; see
    :mod:`~lokitalk_plugins.render.upkeep` for the math) or "sparse" (an update every
    ``update_every`` steps evaluates the occupied cells, their neighbours and a random
    ``fraction`` of the other cells; every cell decays by ``decay``); fraction: in (0, 1];
    box_only: :meth:`mark_unseen` also marks unseen (-1, never refreshed, never occupied) the
    cells that do not meet ``aabb_train``: rays are marched inside that box only, so such cells
    are never sampled in training; their near-zero values then leave the mean of the valid
    cells, so the threshold can differ from the originals' (False, the originals': they keep
    every seen cell); lattice: the refresh's jitter is drawn once per grid line of each axis
    (:func:`~.upkeep.lattice_axes`: each cell's point is still uniform inside it and drawn
    afresh at every refresh) instead of once per cell (False, the originals'), and a density
    function with a ``lattice`` attribute is evaluated through it (see :meth:`update`);
    compute_dtype: None (float32, the originals') or torch.bfloat16: the refresh's density
    is computed under that autocast (the grid's values stay float32); backend: "auto" (an
    update's bookkeeping, the sparse refresh's choice of cells and the decay, raise,
    threshold, bitfield and occupancy that follow the densities, in the fused C++ kernel's
    few passes (``csrc/occupancy.cpp``) on a float32 CPU grid where the kernel builds, else
    PyTorch) or "torch" (the PyTorch operations, the reference twin). Both give the same
    values, bitfield and occupancy bit for bit; ``mean_density`` agrees to float64 rounding
    (the sums run in different orders; tests hold both).
    """

    def __init__(
        self,
        resolution: int = 128,
        bound: float = 1.0,
        aabb=HEAD_AABB,
        decay: float = 0.95,
        density_thresh: float = 10.0,
        update_every: int = 16,
        jitter: bool = True,
        chunk: int = 1 << 15,
        fraction: float = 1.0,
        upkeep: str = "full",
        box_only: bool = False,
        lattice: bool = False,
        compute_dtype: torch.dtype | None = None,
        backend: str = "auto",
    ):
        super().__init__()
        if backend not in GRID_BACKENDS:
            raise ValueError(f"backend must be one of {GRID_BACKENDS}, got {backend!r}")
        self.backend = backend
        self.box_only, self.lattice = bool(box_only), bool(lattice)
        self.compute_dtype = compute_dtype
        self.resolution, self.bound = int(resolution), float(bound)
        self.decay, self.density_thresh = float(decay), float(density_thresh)
        self.update_every, self.jitter, self.chunk = int(update_every), bool(jitter), int(chunk)
        self.set_upkeep(upkeep, fraction)
        self.mean_density = 0.0
        n = self.resolution**3
        self.register_buffer("aabb_train", torch.tensor(aabb, dtype=torch.float32))
        self.register_buffer("aabb_infer", torch.tensor(aabb, dtype=torch.float32))
        self.register_buffer("density_grid", torch.zeros(1, n))
        self.register_buffer("density_bitfield", torch.full((n // 8,), 255, dtype=torch.uint8))
        self.register_buffer("step_counter", torch.zeros(16, 2, dtype=torch.int32))
        order = morton_order(self.resolution)
        self.register_buffer("morton", order, persistent=False)
        self.register_buffer(
            "occupancy",
            torch.ones(n, dtype=torch.bool).view(self.resolution, self.resolution, self.resolution),
            persistent=False,
        )
        self.register_load_state_dict_post_hook(lambda module, _keys: module.sync_occupancy())

    # ------------------------------------------------------------------ lookup
    @property
    def cell_size(self) -> float:
        return 2.0 * self.bound / self.resolution

    def cell_of(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """points: [..., 3] -> (cells [..., 3] int64 clamped to the grid, inside [...] bool)."""
        u = (points + self.bound) / (2.0 * self.bound) * self.resolution
        inside = ((points >= -self.bound) & (points <= self.bound)).all(dim=-1)
        cells = u.floor().long().clamp(0, self.resolution - 1)
        return cells, inside

    def query(self, points: torch.Tensor) -> torch.Tensor:
        """points: [..., 3] world -> [...] bool, True where the cell is occupied."""
        cells, inside = self.cell_of(points)
        r = self.resolution
        flat = (cells[..., 0] * r + cells[..., 1]) * r + cells[..., 2]
        occ = self.occupancy.reshape(-1).index_select(0, flat.reshape(-1)).view(flat.shape)
        return occ & inside

    def cell_points(self, jitter: bool = False, dtype=None) -> torch.Tensor:
        """Points in every cell, [res^3, 3] in dense [ix, iy, iz] order (centres or jittered)."""
        r, dev = self.resolution, self.density_grid.device
        dtype = dtype or self.density_grid.dtype
        i = torch.arange(r, device=dev, dtype=dtype)
        ijk = torch.stack(torch.meshgrid(i, i, i, indexing="ij"), dim=-1).reshape(-1, 3)
        frac = torch.rand_like(ijk) if jitter else torch.full_like(ijk, 0.5)
        return -self.bound + (ijk + frac) * self.cell_size

    # ------------------------------------------------------------------ state
    def dense_values(self) -> torch.Tensor:
        """density_grid as [res, res, res] indexed [ix, iy, iz] (-1 = unseen)."""
        r = self.resolution
        return self._dense(self.density_grid[0]).view(r, r, r)

    @torch.no_grad()
    def summary(self) -> dict[str, float]:
        """The grid's state in numbers: ``mean_density`` (of the valid cells, as the threshold
        takes it), ``threshold`` (min(mean_density, density_thresh): what a cell must exceed
        to be occupied at the next update), ``occupied_share`` and ``valid_share`` (of all
        cells). A soft field (low density spread over many cells) pulls the threshold down
        and the occupied share up, so a capped march spends its samples before the surface."""
        mean, valid = self._valid_mean()
        n = valid.numel()
        return {"mean_density": mean, "threshold": min(mean, self.density_thresh),
                "occupied_share": float(self.occupancy.sum()) / n,
                "valid_share": float(valid.sum()) / n}  # fmt: skip

    def sync_occupancy(self) -> None:
        """Rebuild the dense bool ``occupancy`` from ``density_bitfield``."""
        r = self.resolution
        bits = unpack_bits(self.density_bitfield)
        self.occupancy = self._dense(bits).view(r, r, r)

    @torch.no_grad()
    def set_occupancy(self, dense: torch.Tensor) -> None:
        """dense: [res, res, res] bool ([ix, iy, iz]) -> bitfield (and the dense copy)."""
        flat = torch.empty_like(dense.reshape(-1), dtype=torch.bool)
        flat.index_copy_(0, self.morton, dense.reshape(-1).bool().to(flat.device))
        self.density_bitfield.copy_(pack_bits(flat))
        self.sync_occupancy()

    def fill(self, occupied: bool = True) -> None:
        """Set every cell occupied (or empty), density values unchanged."""
        self.density_bitfield.fill_(255 if occupied else 0)
        self.sync_occupancy()

    @torch.no_grad()
    def record_samples(self, step: int, num_rays: int, num_samples: int) -> None:
        """Keep (rays, samples) of the last 16 steps in ``step_counter``, as the originals do."""
        self.step_counter[step % 16] = torch.tensor([num_rays, num_samples], dtype=torch.int32)

    # ------------------------------------------------------------------ updates
    @torch.no_grad()
    def mark_unseen(self, c2w: torch.Tensor, intrinsics, H: int, W: int, chunk: int = 1 << 16):
        """Set cells no camera sees to -1 (and unoccupied). Returns the number of unseen cells.

        c2w: [M, 4, 4] camera-to-world (camera looks along +z, OpenCV); intrinsics:
        (fx, fy, cx, cy) shared or [M, 4] per camera; H, W: image size in pixels. A cell is
        seen when the sphere around it (radius = half the cell diagonal) meets a frustum.
        """
        r, size, dev = self.resolution, self.cell_size, self.density_grid.device
        # coarse to fine: a block whose ball misses every frustum holds no seen cell, so only
        # the 8 children of seen blocks are tested at the next level, down to single cells
        B = max(1, r // 8)
        i = torch.arange(r // B, device=dev)
        cand = torch.stack(torch.meshgrid(i, i, i, indexing="ij"), -1).reshape(-1, 3)
        kids = torch.stack(torch.meshgrid(*[torch.arange(2, device=dev)] * 3, indexing="ij"), -1)
        levels = B.bit_length()
        for level in tqdm(range(levels), desc="mark unseen", leave=False):
            centres = -self.bound + (cand + 0.5).to(self.density_grid.dtype) * B * size
            radius = math.sqrt(3.0) * 0.5 * B * size
            hit = torch.cat(
                [
                    visible_mask(centres[s : s + chunk], c2w, intrinsics, H, W, radius)
                    for s in range(0, centres.shape[0], chunk)
                ]
            )
            cand = cand[hit]
            if level < levels - 1:
                cand = (cand[:, None, :] * 2 + kids.reshape(1, 8, 3)).reshape(-1, 3)
                B //= 2
        seen = torch.zeros(r, r, r, dtype=torch.bool, device=dev)
        seen[cand[:, 0], cand[:, 1], cand[:, 2]] = True
        if self.box_only:
            seen &= self.cells_meeting(self.aabb_train)
        seen = seen.reshape(-1)
        unseen_morton = self.morton[~seen]
        self.density_grid[0, unseen_morton] = -1.0
        # unseen cells leave the bitfield; seen cells keep their bits (a fresh grid stays
        # fully occupied where cameras look, so the first steps sample before any refresh)
        bits = unpack_bits(self.density_bitfield)
        bits[unseen_morton] = False
        self.density_bitfield.copy_(pack_bits(bits))
        self.sync_occupancy()
        return int((~seen).sum())

    def cells_meeting(self, aabb: torch.Tensor) -> torch.Tensor:
        """aabb [6] (min xyz, max xyz) -> [res, res, res] bool ([ix, iy, iz]): the cells whose
        cube overlaps the box."""
        r, size = self.resolution, self.cell_size
        lo = -self.bound + torch.arange(r, device=aabb.device, dtype=aabb.dtype) * size
        hi = lo + size
        ok = [(hi > aabb[k]) & (lo < aabb[k + 3]) for k in range(3)]
        return ok[0][:, None, None] & ok[1][None, :, None] & ok[2][None, None, :]

    def set_upkeep(self, upkeep: str, fraction: float) -> None:
        """Choose the refresh schedule ("full" or "spread") and the share of cells per update
        (in (0, 1]); anything else is refused here, before training."""
        if upkeep not in UPKEEP_MODES:
            raise ValueError(f"upkeep must be one of {UPKEEP_MODES}, got {upkeep!r}")
        if not 0.0 < float(fraction) <= 1.0:
            raise ValueError(f"the grid fraction must be in (0, 1], got {fraction}")
        self.upkeep, self.fraction = upkeep, float(fraction)

    def set_every(self, every: int) -> None:
        """Steps between two updates (``update_every``), with the decay per update set so the
        decay per step is unchanged: decay <- decay^(every / update_every) (from the
        originals' 16 and 0.95: 0.95^(every / 16))."""
        every = int(every)
        if every < 1:
            raise ValueError(f"the grid's update interval must be >= 1 step, got {every}")
        if every != self.update_every:  # the same interval again changes nothing
            self.decay = self.decay ** (every / self.update_every)
            self.update_every = every

    @property
    def interval(self) -> int:
        """Steps between two updates: ``update_every`` ("full"), round(fraction *
        update_every) at least 1 ("spread")."""
        if self.upkeep != "spread":
            return self.update_every
        return spread_schedule(self.update_every, self.decay, self.fraction, 1)[0]

    def due(self, step: int) -> bool:
        """True when an update runs at ``step``."""
        return step % self.interval == 0

    @torch.no_grad()
    def update(self, density_fn, step: int | None = None, force: bool = False) -> bool:
        """Refresh the grid from ``density_fn`` when :meth:`due` (or always when step is None
        or force). density_fn: points [N, 3] -> density [N] (or [N, 1], or a dict with
        "sigma"). Cells: new = max(0.95 * old, density(jittered point)), cells at -1 stay -1;
        bitfield = value > min(mean of valid cells, density_thresh). "spread" refreshes a
        share of the cells with the decay of :func:`~.upkeep.spread_schedule`.
        With ``lattice``, a density_fn that has an attribute ``lattice`` (axes [3, r] ->
        a function of cell indices ijk [K, 3] -> sigma [K], equal to density_fn at the
        points (axes[0, ix], axes[1, iy], axes[2, iz]), or None where it has none) is called
        once per update and its function per chunk; any other density_fn gets those points.
        Returns True when an update ran.
        """
        if not force and step is not None and not self.due(step):
            return False
        if self.upkeep == "spread":
            self._update_spread(density_fn)
            return True
        if self.upkeep == "sparse":
            self._update_sparse(density_fn)
            return True
        grid = self.density_grid[0]
        valid_dense = self._dense(grid) >= 0
        cells = valid_dense.nonzero().flatten()
        sub = None
        if self.fraction < 1.0:
            keep = max(1, round(self.fraction * cells.numel()))
            sub = torch.randperm(cells.numel(), device=cells.device)[:keep]
            cells = cells[sub]
        valid_morton = self.morton.index_select(0, cells)
        if self.lattice:
            new = self._evaluate(density_fn, cells)
        else:  # the originals' draw: one jitter per cell of the whole grid
            pts = self.cell_points(jitter=self.jitter)[cells]
            new = evaluate_density(density_fn, pts, self.chunk, grid.dtype, self.compute_dtype)
        # cells not evaluated this time only decay (with every valid cell evaluated, the
        # same as the originals' max(decay * old, new) at each of them)
        self._finish(valid_morton, new, self.decay)
        return True

    def _update_spread(self, density_fn) -> None:
        """One "spread" update: a random share of the valid cells, built and evaluated only
        for those cells; every valid cell decays by the schedule's per-update decay."""
        grid = self.density_grid[0]
        valid_dense = (self._dense(grid) >= 0).nonzero().flatten()
        n = valid_dense.numel()
        _, decay, p = spread_schedule(self.update_every, self.decay, self.fraction, n)
        keep = round(p * n)
        if keep < n:  # sorted: neighbouring cells share hash-table lines
            cells = valid_dense[torch.randperm(n, device=grid.device)[:keep]].sort().values
        else:
            cells = valid_dense
        new = self._evaluate(density_fn, cells)
        self._finish(self.morton.index_select(0, cells), new, decay)  # every valid cell decays

    def _update_sparse(self, density_fn) -> None:
        """One "sparse" update (see :mod:`~lokitalk_plugins.render.upkeep`): the occupied
        cells, their neighbours and a random ``fraction`` of the other valid cells are
        evaluated; every valid cell decays by ``decay``."""
        grid, r = self.density_grid[0], self.resolution
        ops, draw = self._kernel(), torch.rand(r, r, r, device=grid.device)  # sparse_cells' draw
        if ops is None or draw.dtype != torch.float32:
            valid = (self._dense(grid) >= 0).view(r, r, r)
            cells = sparse_cells(self.occupancy & valid, valid, self.fraction, draw)
        else:  # the same cells in one pass
            occ = self.occupancy.reshape(-1)
            cells = ops.occupancy_select(grid, self.morton, occ, draw.reshape(-1), self.fraction)
        new = self._evaluate(density_fn, cells)
        self._finish(self.morton.index_select(0, cells), new, self.decay)  # every valid cell decays

    def _dense(self, values: torch.Tensor) -> torch.Tensor:
        """[res^3] values in Morton order -> the same in dense [ix, iy, iz] order (a gather by
        ``index_select``: the same values as ``values[self.morton]``, several times faster on
        the CPU than advanced indexing)."""
        return values.index_select(0, self.morton)

    def _kernel(self):
        """The fused kernel's operators for this grid's bookkeeping, or None (backend "torch",
        a grid off the CPU or not float32, an occupancy or Morton table not contiguous, or no
        build: then the PyTorch operations run)."""
        grid = self.density_grid
        if self.backend != "auto" or grid.device.type != "cpu" or grid.dtype != torch.float32:
            return None
        if not (self.occupancy.is_contiguous() and self.morton.is_contiguous()):
            return None
        return load_kernel()

    def _finish(self, target: torch.Tensor, new: torch.Tensor, decay: float) -> None:
        """After a refresh's densities: every valid cell decays by ``decay``, the cells at
        the Morton indices ``target`` (distinct) <- max(value, new), then the threshold,
        bitfield and occupancy (:meth:`_threshold`)."""
        grid = self.density_grid[0]
        new = new.to(grid.dtype)
        ops = self._kernel()
        if ops is None:
            grid.copy_(torch.where(grid >= 0, grid * decay, grid))
            grid.index_copy_(0, target, torch.maximum(grid.index_select(0, target), new))
            self._threshold()
            return
        occ, total, count = ops.occupancy_finish(
            grid, self.morton, target.contiguous(), new.contiguous(), float(decay),
            self.density_thresh, self.density_bitfield,
        )  # fmt: skip
        self.mean_density = total / count if count else 0.0
        r = self.resolution
        self.occupancy = occ.view(r, r, r)

    def _evaluate(self, density_fn, cells: torch.Tensor) -> torch.Tensor:
        """The density at one point inside each of ``cells`` ([K] dense indices) -> [K] float
        (see :meth:`update` for the lattice path)."""
        r, dtype, dev = self.resolution, self.density_grid.dtype, self.density_grid.device
        if not self.lattice:
            pts = cell_points_of(cells, r, self.bound, self.jitter, dtype)
            return evaluate_density(density_fn, pts, self.chunk, dtype, self.compute_dtype)
        axes = lattice_axes(r, self.bound, self.jitter, dtype, dev)
        ijk = cell_indices(cells, r)
        prepare, on_cells, cd = getattr(density_fn, "lattice", None), None, self.compute_dtype
        if prepare is not None:
            with torch.autocast(dev.type, dtype=cd, enabled=cd is not None):
                on_cells = prepare(axes)
        if on_cells is None:  # no lattice form (for this refresh): the lattice's points
            pts = lattice_points(axes, ijk)
            return evaluate_density(density_fn, pts, self.chunk, dtype, cd)
        return evaluate_density(on_cells, ijk, self.chunk, dtype, cd)

    def _valid_mean(self) -> tuple[float, torch.Tensor]:
        """(the mean density of the valid cells, the valid mask [res^3] in Morton order).
        Unseen cells hold -1, so clamping them to 0 leaves them out of the sum; the sum runs
        in float64 so its order cannot move the threshold."""
        grid = self.density_grid[0]
        valid = grid >= 0
        count = int(valid.sum())
        mean = float(grid.clamp_min(0).sum(dtype=torch.float64)) / count if count else 0.0
        return mean, valid

    def _threshold(self) -> None:
        mean, valid = self._valid_mean()
        self.mean_density = mean
        thresh = min(mean, self.density_thresh)
        self.density_bitfield.copy_(pack_bits((self.density_grid[0] > thresh) & valid))
        self.sync_occupancy()
