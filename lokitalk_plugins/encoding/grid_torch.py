"""Pure-PyTorch reference of the grid encoding (the oracle every other backend is tested against).

Vectorised over points and the ``2**D`` cell corners, one Python loop over levels; gradients
for the table (``index_select`` -> ``index_add`` in backward) and for the input coordinates
(through the interpolation weights) come from autograd, so double backward works too.
"""

from __future__ import annotations

import torch

from .grid_layout import GridLayout

__all__ = ["HASH_PRIMES", "corner_indices", "grid_encode_torch"]

# primes of the spatial hash, one per input dimension (uint32 arithmetic)
HASH_PRIMES = (1, 2654435761, 805459861)
_U32 = 0xFFFFFFFF


def _level_strides(size: int, grid_res: int, input_dim: int, align_corners: bool):
    """Dense strides per dim (0 past the cut-off) and whether the level hashes.

    The running stride ``side**d`` (``side = R + 1``, or ``R`` with ``align_corners``) is used
    only while it is ``<= size``; if the full stride ends up ``> size`` the level is "too big"
    for a dense table (a hash level then hashes instead).
    """
    side = grid_res if align_corners else grid_res + 1
    strides, stride = [], 1
    for _ in range(input_dim):
        if stride <= size:
            strides.append(stride)
            stride *= side
        else:
            strides.append(0)
    return strides, stride > size


def corner_indices(corners: torch.Tensor, level: int, layout: GridLayout) -> torch.Tensor:
    """Table rows of integer grid corners at one level.

    corners: [..., D] int64 (non-negative) -> [...] int64 rows into ``embeddings``
    (already shifted by ``offsets[level]``).
    """
    size = layout.offsets[level + 1] - layout.offsets[level]
    strides, too_big = _level_strides(
        size, layout.grid_res[level], layout.input_dim, layout.align_corners
    )
    if layout.gridtype == "hash" and too_big:
        index = torch.zeros_like(corners[..., 0])
        for d in range(layout.input_dim):
            index = index ^ ((corners[..., d] * HASH_PRIMES[d]) & _U32)
    else:
        index = torch.zeros_like(corners[..., 0])
        for d in range(layout.input_dim):
            if strides[d]:
                index = index + corners[..., d] * strides[d]
    return index % size + layout.offsets[level]


def grid_encode_torch(
    u: torch.Tensor, embeddings: torch.Tensor, layout: GridLayout, interpolation: str = "linear"
) -> torch.Tensor:
    """Encode normalised coordinates with the multi-resolution grid.

    u: [N, D] in [0, 1] (a point with any coordinate outside, or NaN, encodes to zeros);
    embeddings: [total, C]. Returns [N, L * C] in the table's dtype, level-major within a point
    (computed in float32 at least, float64 for a float64 table).

    Per level: ``p = u * scale + 0.5`` (no 0.5 with ``align_corners``), corner = floor(p),
    weight = p - corner (smoothstepped for ``interpolation='smoothstep'``), multilinear over
    the ``2**D`` corners.
    """
    n, dim = u.shape
    if dim != layout.input_dim:
        raise ValueError(f"expected [N, {layout.input_dim}] coordinates, got {tuple(u.shape)}")
    channels = embeddings.shape[1]
    # positions and weights at least in float32 (a half/bfloat16 table still gets fine weights)
    dtype = torch.promote_types(embeddings.dtype, torch.float32)
    u = u.to(dtype)
    inside = ((u >= 0) & (u <= 1)).all(dim=-1)  # NaN compares False
    u_safe = torch.where(inside[:, None], u, torch.zeros_like(u))
    bits = torch.tensor(
        [[(k >> d) & 1 for d in range(dim)] for k in range(2**dim)], device=u.device
    )  # [K, D]
    upper = bits.bool()[None]  # [1, K, D]
    shift = 0.0 if layout.align_corners else 0.5
    outs = []
    for level in range(layout.num_levels):
        p = u_safe * layout.scales[level] + shift
        floor = torch.floor(p)
        frac = p - floor  # differentiable in u
        if interpolation == "smoothstep":
            frac = frac * frac * (3.0 - 2.0 * frac)
        corners = floor.long()[:, None, :] + bits[None]  # [N, K, D]
        f = frac[:, None, :].expand(n, bits.shape[0], dim)
        weights = torch.where(upper, f, 1.0 - f).prod(dim=-1)  # [N, K]
        rows = corner_indices(corners, level, layout)  # [N, K]
        feats = embeddings.index_select(0, rows.reshape(-1)).view(n, len(bits), channels)
        feats = feats.to(dtype)
        outs.append((weights[..., None] * feats).sum(dim=1))  # [N, C]
    out = torch.stack(outs, dim=1).reshape(n, layout.num_levels * channels)
    return (out * inside[:, None].to(out.dtype)).to(embeddings.dtype)
