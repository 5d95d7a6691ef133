"""Morton (Z-order) cell indexing and bit packing of an occupancy grid.

Layout of the checkpoint buffers (what :class:`~lokitalk_plugins.render.grid.OccupancyGrid`
stores, so a grid from the original codebases loads as is):

- ``density_grid`` [1, res^3] float: cell ``(ix, iy, iz)`` lives at Morton code
  ``morton3d(ix, iy, iz)``, the bits of ix, iy and iz interleaved with **x in the lowest bit**
  (bit 3b of the code is bit b of ix, bit 3b+1 is bit b of iy, bit 3b+2 is bit b of iz).
- ``density_bitfield`` [res^3 // 8] uint8: the occupancy of Morton code ``m`` is bit
  ``m % 8`` (least significant bit first) of byte ``m // 8``.

The bit-within-byte order (``byte[m // 8] & (1 << (m % 8))``) is the originals' documented
convention. The axis interleaving (x lowest) is our reading of the originals and has not
been checked against a real checkpoint: if a loaded grid looks transposed, the fix is only
here (``morton3d``).

``res`` must be a power of two (Morton codes of a res^3 grid then fill [0, res^3) exactly).
Dense grids here are indexed ``[ix, iy, iz]`` (x slowest).
"""

from __future__ import annotations

import torch

__all__ = [
    "dense_to_morton",
    "morton3d",
    "morton_order",
    "morton_to_dense",
    "pack_bits",
    "unpack_bits",
]


def _check_res(res: int) -> int:
    if res < 2 or res & (res - 1):
        raise ValueError(f"grid resolution must be a power of two >= 2, got {res}")
    return res.bit_length() - 1


def morton3d(ix: torch.Tensor, iy: torch.Tensor, iz: torch.Tensor, bits: int) -> torch.Tensor:
    """Morton codes of integer cell coordinates.

    ix, iy, iz: [...] int64 in [0, 2^bits); returns [...] int64 in [0, 2^(3 bits)).
    """
    code = torch.zeros_like(ix, dtype=torch.long)
    for b in range(bits):
        code |= ((ix.long() >> b) & 1) << (3 * b)
        code |= ((iy.long() >> b) & 1) << (3 * b + 1)
        code |= ((iz.long() >> b) & 1) << (3 * b + 2)
    return code


def morton_order(res: int, device=None) -> torch.Tensor:
    """Morton code of every cell of a dense res^3 grid in row-major [ix, iy, iz] order.

    Returns [res^3] int64, a permutation of [0, res^3).
    """
    bits = _check_res(res)
    r = torch.arange(res, device=device)
    ix, iy, iz = torch.meshgrid(r, r, r, indexing="ij")
    return morton3d(ix.reshape(-1), iy.reshape(-1), iz.reshape(-1), bits)


def dense_to_morton(dense: torch.Tensor, order: torch.Tensor | None = None) -> torch.Tensor:
    """dense: [res, res, res] (indexed [ix, iy, iz]) -> [res^3] in Morton order."""
    res = dense.shape[0]
    order = morton_order(res, dense.device) if order is None else order
    out = torch.empty(res**3, dtype=dense.dtype, device=dense.device)
    out[order] = dense.reshape(-1)
    return out


def morton_to_dense(flat: torch.Tensor, res: int, order: torch.Tensor | None = None):
    """flat: [res^3] in Morton order -> [res, res, res] indexed [ix, iy, iz]."""
    order = morton_order(res, flat.device) if order is None else order
    return flat.reshape(-1)[order].reshape(res, res, res)


def pack_bits(bits: torch.Tensor) -> torch.Tensor:
    """bits: [N] bool, N a multiple of 8 -> [N // 8] uint8, bit i of byte n = bits[8n + i]."""
    if bits.numel() % 8:
        raise ValueError(f"pack_bits needs a multiple of 8 values, got {bits.numel()}")
    weights = (1 << torch.arange(8, device=bits.device)).to(torch.int32)
    packed = (bits.reshape(-1, 8).to(torch.int32) * weights).sum(dim=1)
    return packed.to(torch.uint8)


def unpack_bits(packed: torch.Tensor) -> torch.Tensor:
    """packed: [N // 8] uint8 -> [N] bool, the inverse of :func:`pack_bits`."""
    shifts = torch.arange(8, device=packed.device, dtype=torch.int32)
    return ((packed.reshape(-1, 1).to(torch.int32) >> shifts) & 1).bool().reshape(-1)
