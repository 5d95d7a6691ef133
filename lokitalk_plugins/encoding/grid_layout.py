"""Parameter layout and per-level constants of the multi-resolution grid encoder.

The layout reproduces the originals' (RAD-NeRF / ER-NeRF "gridencoder") exactly, so their
checkpoints load with ``strict=True``:

- per-level growth ``s = 2 ** (log2(finest / base) / (L - 1))`` when a finest
  (``desired_resolution``) is given, else the ``per_level_scale`` argument;
- level ``l`` has resolution ``res_l = ceil(base * s**l)`` and holds
  ``min(2**log2_hashmap_size, (res_l + 1) ** D)`` entries (``res_l ** D`` with
  ``align_corners``), rounded up to a multiple of 8;
- ``offsets[l]`` is where level ``l`` starts in the concatenated table; ``offsets[L]`` is the
  table size.

The per-level ``scale = 2 ** (l * log2 s) * base - 1`` and grid resolution
``R = ceil(scale) + 1`` used by the forward pass are computed in float32 arithmetic, as the
original CUDA kernel does, so that ``ceil`` rounds the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["GRID_TYPES", "INTERPOLATIONS", "GridLayout", "grid_layout", "per_level_scale_for"]

GRID_TYPES = ("hash", "tiled")
INTERPOLATIONS = ("linear", "smoothstep")


def per_level_scale_for(num_levels: int, base_resolution: int, desired_resolution: float) -> float:
    """Growth factor s with ``base * s ** (L - 1) == desired_resolution``.

    ``s = 2 ** (log2(desired / base) / (L - 1))``; a single level gives ``s = 1``.
    """
    if num_levels <= 1:
        return 1.0
    return float(np.exp2(np.log2(desired_resolution / base_resolution) / (num_levels - 1)))


@dataclass(frozen=True)
class GridLayout:
    """Static description of a grid encoder's table.

    offsets: [L + 1] start of each level in the table (``offsets[L]`` = total entries).
    resolutions: [L] ``ceil(base * s**l)`` (layout resolution).
    scales: [L] forward-pass scale ``2**(l log2 s) * base - 1`` (float32-rounded values).
    grid_res: [L] forward-pass grid resolution ``ceil(scale) + 1``.
    """

    input_dim: int
    num_levels: int
    level_dim: int
    per_level_scale: float
    base_resolution: int
    log2_hashmap_size: int
    gridtype: str
    align_corners: bool
    offsets: tuple[int, ...]
    resolutions: tuple[int, ...]
    scales: tuple[float, ...]
    grid_res: tuple[int, ...]

    @property
    def total(self) -> int:
        """Number of table entries (rows of ``embeddings``)."""
        return self.offsets[-1]

    @property
    def output_dim(self) -> int:
        """Width of the encoding: ``num_levels * level_dim``."""
        return self.num_levels * self.level_dim


def grid_layout(
    input_dim: int = 3,
    num_levels: int = 16,
    level_dim: int = 2,
    per_level_scale: float = 2.0,
    base_resolution: int = 16,
    log2_hashmap_size: int = 19,
    desired_resolution: float | None = None,
    gridtype: str = "hash",
    align_corners: bool = False,
) -> GridLayout:
    """Compute the table layout and per-level forward constants (see module docstring)."""
    if input_dim not in (1, 2, 3):
        raise ValueError(f"input_dim must be 1, 2 or 3 (three hash primes), got {input_dim}")
    if gridtype not in GRID_TYPES:
        raise ValueError(f"gridtype must be one of {GRID_TYPES}, got {gridtype!r}")
    if num_levels < 1 or level_dim < 1 or base_resolution < 1:
        raise ValueError("num_levels, level_dim and base_resolution must be >= 1")
    if desired_resolution is not None:
        per_level_scale = per_level_scale_for(num_levels, base_resolution, desired_resolution)
    max_params = 2**log2_hashmap_size
    offsets, resolutions = [0], []
    for level in range(num_levels):
        res = int(math.ceil(base_resolution * per_level_scale**level))
        side = res if align_corners else res + 1
        params = min(max_params, side**input_dim)
        params = int(math.ceil(params / 8) * 8)
        resolutions.append(res)
        offsets.append(offsets[-1] + params)
    if offsets[-1] >= 2**31:
        raise ValueError(f"table of {offsets[-1]} entries does not fit int32 offsets")
    # forward constants in float32 arithmetic: scale = exp2f(l * S) * H - 1
    log2_s = np.float32(np.log2(per_level_scale))
    base32 = np.float32(base_resolution)
    scales, grid_res = [], []
    for level in range(num_levels):
        s32 = np.exp2(np.float32(level) * log2_s) * base32 - np.float32(1.0)
        scale = float(np.float32(s32))
        scales.append(scale)
        grid_res.append(int(math.ceil(scale)) + 1)
    return GridLayout(
        input_dim=input_dim,
        num_levels=num_levels,
        level_dim=level_dim,
        per_level_scale=float(per_level_scale),
        base_resolution=base_resolution,
        log2_hashmap_size=log2_hashmap_size,
        gridtype=gridtype,
        align_corners=align_corners,
        offsets=tuple(offsets),
        resolutions=tuple(resolutions),
        scales=tuple(scales),
        grid_res=tuple(grid_res),
    )
