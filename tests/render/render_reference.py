"""Slow, explicit per-ray references for the render tests (test helper, not a test module)."""

from __future__ import annotations

import torch

__all__ = ["loop_composite", "loop_exclusive_cumsum", "random_packed"]


def random_packed(num_rays: int, max_per_ray: int, channels: int = 3, seed: int = 0, dtype=None):
    """Random packed samples with some empty rays: sigmas, deltas, ts, ray_indices, colors."""
    g = torch.Generator().manual_seed(seed)
    dtype = dtype or torch.float32
    counts = torch.randint(0, max_per_ray + 1, (num_rays,), generator=g)
    counts[0] = 0  # at least one empty ray
    ray_indices = torch.repeat_interleave(torch.arange(num_rays), counts)
    S = int(counts.sum())
    sigmas = torch.rand(S, generator=g, dtype=dtype) * 20.0
    deltas = torch.rand(S, generator=g, dtype=dtype) * 0.05 + 0.01
    ts = torch.rand(S, generator=g, dtype=dtype) * 3.0
    colors = torch.rand(S, channels, generator=g, dtype=dtype)
    return sigmas, deltas, ts, ray_indices, colors


def loop_exclusive_cumsum(values, ray_indices, num_rays):
    out = torch.zeros_like(values)
    for r in range(num_rays):
        idx = (ray_indices == r).nonzero().flatten()
        running = values.new_zeros(())
        for i in idx.tolist():
            out[i] = running
            running = running + values[i]
    return out


def loop_composite(sigmas, deltas, ts, ray_indices, num_rays, values, stop=None):
    """Textbook front-to-back compositing, one ray and one sample at a time."""
    wsum = sigmas.new_zeros(num_rays)
    depth = sigmas.new_zeros(num_rays)
    sums = {k: v.new_zeros((num_rays,) + tuple(v.shape[1:])) for k, v in values.items()}
    weights = torch.zeros_like(sigmas)
    for r in range(num_rays):
        T = 1.0
        for i in (ray_indices == r).nonzero().flatten().tolist():
            if stop is not None and T < stop:
                break
            alpha = 1.0 - torch.exp(-sigmas[i] * deltas[i])
            w = T * alpha
            weights[i] = w
            wsum[r] = wsum[r] + w
            depth[r] = depth[r] + w * ts[i]
            for k, v in values.items():
                sums[k][r] = sums[k][r] + w * v[i]
            T = T * (1.0 - alpha)
    return weights, wsum, depth, sums
