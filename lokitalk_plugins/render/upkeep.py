"""The occupancy grid's refresh schedules ("full", the originals', and "spread") and the
vectorised evaluation of a density function over a subset of cells.

Originals ("full"): every E = ``update_every`` steps (16) every valid cell is refreshed,
v <- max(d v, sigma) with d = ``decay`` (0.95). A cell is refreshed every E steps and
decays by delta = d^(1/E) per wall step.

"spread" with fraction f in (0, 1]: an update every I = max(1, round(f E)) steps refreshes a
random f-share of the valid cells (k = ceil(f n) of n, without replacement), and every valid
cell decays by d_I = d^(I/E) per update. Then, when f E is a whole number (I = f E):

- decay per wall step: d_I^(1/I) = d^(1/E) = delta, as the originals;
- a cell is drawn with probability p = k/n (= f when f n is whole) per update, so the number
  of updates between its refreshes is geometric with mean 1/p: expected refresh interval
  I/p = f E / f = E steps, as the originals;
- cells evaluated per wall step: f n / I = n / E, as the originals, but in updates f times
  smaller, so no step waits for a whole-grid refresh.

:func:`spread_schedule` returns (I, d_I, p); tests check these identities.

"sparse" with fraction f: every E steps, as the originals, but only the cells that can matter
are evaluated: every occupied cell and its 26 neighbours (content grows from what is there;
a one-cell ring per update), plus a random f-share of the other valid cells (content that
appears away from any occupied cell is found after 1/f updates on average). Every valid cell
decays by d per update, as the originals; an occupied cell is evaluated at every update, so
its value follows the originals' rule exactly. The cells left out are empty and stay empty
between their draws, which is what makes the refresh cheap once the grid has thinned out
(:func:`sparse_cells`).
"""

from __future__ import annotations

import math

import torch

from lokitalk_plugins.layers import fused_linear_on

from .buckets import call_padded

__all__ = [
    "UPKEEP_MODES",
    "cell_indices",
    "cell_points_of",
    "dilate",
    "evaluate_density",
    "lattice_axes",
    "lattice_points",
    "sparse_cells",
    "spread_schedule",
]

UPKEEP_MODES = ("full", "spread", "sparse")


def spread_schedule(update_every: int, decay: float, fraction: float, n: int):
    """(interval I in steps, decay per update d^(I/E), probability a valid cell is drawn per
    update) of the "spread" upkeep (see the module doc) for n valid cells."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    interval = max(1, round(fraction * update_every))
    keep = min(n, max(1, math.ceil(fraction * n))) if n else 0
    return interval, float(decay) ** (interval / update_every), (keep / n if n else 0.0)


def dilate(mask: torch.Tensor) -> torch.Tensor:
    """mask: [r, r, r] bool -> the cells within one cell of a True cell (its 26 neighbours and
    itself): a 3x3x3 box, dilated one axis at a time (the same cells as a 3x3x3 max pool)."""
    out = mask.clone()
    for dim in range(3):
        src, n = out.clone(), out.shape[dim]
        out.narrow(dim, 1, n - 1).logical_or_(src.narrow(dim, 0, n - 1))
        out.narrow(dim, 0, n - 1).logical_or_(src.narrow(dim, 1, n - 1))
    return out


def sparse_cells(
    occupied: torch.Tensor, valid: torch.Tensor, fraction: float, draw: torch.Tensor | None = None
) -> torch.Tensor:
    """occupied, valid: [r, r, r] bool ([ix, iy, iz]) -> sorted dense indices of the cells a
    "sparse" update evaluates: valid cells within one cell of an occupied one, and a random
    ``fraction`` of the other valid cells (those whose ``draw`` [r, r, r], by default a fresh
    ``torch.rand``, is below ``fraction``)."""
    near = dilate(occupied) & valid
    if draw is None:
        draw = torch.rand(valid.shape, device=valid.device)
    drawn = valid & (draw < fraction)
    return (near | drawn).reshape(-1).nonzero().flatten()  # one pass, sorted


def cell_indices(cells: torch.Tensor, resolution: int) -> torch.Tensor:
    """cells: [K] dense indices (ix * r^2 + iy * r + iz) -> [K, 3] (ix, iy, iz), int64. For
    a power of two r (every grid's) by shifts and masks, several times cheaper than the
    integer divisions (the same values for indices >= 0)."""
    r = resolution
    if r > 0 and not r & (r - 1):
        b = r.bit_length() - 1
        return torch.stack([cells >> (2 * b), (cells >> b) & (r - 1), cells & (r - 1)], -1)
    return torch.stack([cells // (r * r), (cells // r) % r, cells % r], -1)


def lattice_axes(resolution: int, bound: float, jitter: bool, dtype, device=None) -> torch.Tensor:
    """The "lattice" refresh's points: [3, r], the coordinate of grid line i on axis a is
    ``-bound + (i + u) * 2 bound / r`` with one u ~ U(0, 1) per line and axis (0.5 without
    jitter). Cell (ix, iy, iz) takes the point (axes[0, ix], axes[1, iy], axes[2, iz]): at
    every refresh each cell's point is uniform inside the cell and drawn afresh, as with one
    draw per cell (the originals'), so each cell's sequence of values has the same law; only
    cells sharing a grid line share that coordinate. The points then form a lattice, which a
    field with a separable encoding (tri-planes) encodes from r^2 points per plane."""
    r = resolution
    i = torch.arange(r, device=device, dtype=dtype).expand(3, r)
    frac = torch.rand(3, r, device=device, dtype=dtype) if jitter else torch.full_like(i, 0.5)
    return -bound + (i + frac) * (2.0 * bound / r)


def lattice_points(axes: torch.Tensor, ijk: torch.Tensor) -> torch.Tensor:
    """axes [3, r] (:func:`lattice_axes`), ijk [K, 3] int64 line indices -> the lattice's
    points [K, 3], (axes[0, i], axes[1, j], axes[2, k])."""
    return torch.stack([axes[a].index_select(0, ijk[:, a]) for a in range(3)], -1)


def cell_points_of(
    cells: torch.Tensor, resolution: int, bound: float, jitter: bool, dtype
) -> torch.Tensor:
    """cells: [K] dense indices (ix * r^2 + iy * r + iz) -> [K, 3] points in those cells
    (uniform inside each cell when jitter, else its centre); only the K cells are built."""
    ijk = cell_indices(cells, resolution).to(dtype)
    frac = torch.rand_like(ijk) if jitter else torch.full_like(ijk, 0.5)
    return -bound + (ijk + frac) * (2.0 * bound / resolution)


def evaluate_density(
    density_fn, points: torch.Tensor, chunk: int, dtype, compute_dtype=None
) -> torch.Tensor:
    """density_fn over points [K, ...] (world points [K, 3], or the [K, 3] cell indices of a
    lattice refresh) in chunks -> [K] in ``dtype``. density_fn returns [k], [k, 1] or a dict
    with "sigma". compute_dtype: None (float32, outside any autocast) or a dtype the density
    is computed under autocast in (torch.bfloat16: the refresh's bfloat16 precision); the
    values are stored in ``dtype`` either way, so the grid stays float32. On a CPU where
    oneDNN runs the products (bfloat16, or the MLPs' oneDNN calls) the last, shorter chunk is
    padded to a bucket size (:mod:`.buckets`: one kernel build a shape)."""
    out = torch.empty(points.shape[0], dtype=dtype, device=points.device)
    dev = points.device.type
    pad = dev == "cpu" and (compute_dtype == torch.bfloat16 or fused_linear_on())

    def fn(p):
        res = density_fn(p)
        return res if isinstance(res, dict) else {"sigma": res}

    with torch.autocast(dev, dtype=compute_dtype, enabled=compute_dtype is not None):
        for s in range(0, points.shape[0], chunk):
            part = points[s : s + chunk]
            res = (call_padded(fn, part) if pad else fn(part))["sigma"]
            out[s : s + chunk] = res.reshape(-1).to(dtype)
    return out
