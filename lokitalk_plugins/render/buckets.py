"""Sample counts rounded up to a few sizes, for oneDNN's matrix products on a CPU.

A march keeps a different number of samples every step, so every matrix product of a field
sees a new row count. torch's own float32 product (the BLAS kernels) takes any size at no
cost, but a bfloat16 product on a CPU goes to oneDNN, which builds (just in time) and caches
a kernel per shape: with a new shape each step, most of the time of a bfloat16 product goes into
building kernels, and bfloat16 training was slower than float32 on a CPU with AMX. Padding the
count to a bucket gives each product a handful of shapes, each built once
(``benchmarks/bf16_buckets.py`` measures the products and the training step side by side).
The float32 products of :func:`~lokitalk_plugins.layers.linear_act` (every ``MLP`` on the CPU
where no gradient is recorded: renders, occupancy refreshes) are oneDNN calls too: a new row
count cost them about 7 ms a product here (against 2.2 ms for a [32768, 64] x [64, 64]
product whose kernel is built), so "auto" pads on the CPU whenever those calls are on
(:func:`~lokitalk_plugins.layers.fused_linear_on`).

:func:`bucket_size` rounds a count up to one of ``2 ** bits`` sizes an octave (``bits``
3: at most 12.5% more rows, about 6% on average), so a training run meets a few dozen shapes,
each built once. :func:`call_padded` evaluates a point-wise field on the padded points (the
first point repeated) and cuts every per-point output back; rows do not mix in a point-wise
field, so the kept outputs are those of the unpadded call (to the kernels' rounding) and the
padded rows get no gradient.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lokitalk_plugins.layers import fused_linear_on

__all__ = ["BUCKET_BITS", "PAD_MODES", "bucket_size", "call_padded", "padding_wanted"]

BUCKET_BITS = 3
PAD_MODES = ("auto", "on", "off")
_MIN_BUCKET = 16


def bucket_size(n: int, bits: int = BUCKET_BITS) -> int:
    """The smallest bucket >= n: n rounded up to a multiple of 2 ** (floor(log2 n) - bits)
    (16 at least); n itself when it is already a bucket."""
    if n < 0 or bits < 0:
        raise ValueError(f"bucket_size needs n >= 0 and bits >= 0, got n={n}, bits={bits}")
    if n <= _MIN_BUCKET:
        return _MIN_BUCKET
    step = 1 << max(n.bit_length() - 1 - bits, 0)
    return -(-n // step) * step


def padding_wanted(
    mode: str, device: torch.device | str = "cpu", bfloat16_inside: bool = False
) -> bool:
    """Whether to pad under ``mode``: "on", "off", or "auto" (pad on the CPU when oneDNN,
    which builds a kernel per shape, runs the products: CPU autocast in bfloat16, the
    ``MLP``'s oneDNN calls (:func:`~lokitalk_plugins.layers.fused_linear_on`), or a caller
    that knows the field autocasts to bfloat16 inside: ``bfloat16_inside``)."""
    if mode not in PAD_MODES:
        raise ValueError(f"pad_samples must be one of {PAD_MODES}, got {mode!r}")
    if mode != "auto":
        return mode == "on"
    if bfloat16_inside:
        return True
    if torch.device(device).type != "cpu":
        return False
    return fused_linear_on() or (
        torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
    )


def _pad(t: torch.Tensor, m: int) -> torch.Tensor:
    return torch.cat([t, t[:1].expand(m - t.shape[0], *t.shape[1:])])


def call_padded(field: Callable[..., dict], *points: torch.Tensor, bits: int = BUCKET_BITS) -> dict:
    """field(*points) with the points' first dimension padded to :func:`bucket_size` (the
    first row repeated) -> the field's dict with every tensor whose first dimension is the
    padded count cut back to the real one (others, e.g. scalars, as returned)."""
    n = points[0].shape[0]
    m = bucket_size(n, bits)
    if n == 0 or m == n:
        return field(*points)
    out = field(*(_pad(p, m) for p in points))
    return {
        k: v[:n] if isinstance(v, torch.Tensor) and v.dim() and v.shape[0] == m else v
        for k, v in out.items()
    }
