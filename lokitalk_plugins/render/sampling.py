"""Ray marching through the occupancy grid into a packed sample layout.

Each ray is cut into segments of length ``dt`` from its near to its far distance: segment k
covers [near + k dt, min(near + (k + 1) dt, far)). A sample sits inside its segment (at the
middle, or uniformly at random with ``perturb``) and its ``delta`` is the segment length, so
the last segment of a ray is clipped at ``far`` and a constant density integrates exactly.
Samples whose cell is empty are dropped; at most ``max_samples`` occupied samples are kept per
ray (the first ones along it).

Packed layout (:class:`PackedSamples`): all kept samples of all rays in one flat list, grouped
by ray and ordered along each ray; ``ray_indices`` [S] int64 is sorted, ``indptr`` [R + 1]
gives each ray's slice (CSR).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["DEFAULT_STEP", "PackedSamples", "march_rays"]

DEFAULT_STEP = 2.0 * math.sqrt(3.0) / 128


@dataclass
class PackedSamples:
    """Samples of R rays, packed.

    xyzs: [S, 3] positions; dirs: [S, 3] unit view directions; deltas: [S] segment lengths;
    ts: [S] distances along the ray; ray_indices: [S] int64 sorted in [0, R); num_rays: R;
    cut: [R] bool, True where the cap of occupied samples a ray dropped occupied samples
    further along the ray (None when the march had no cap).
    """

    xyzs: torch.Tensor
    dirs: torch.Tensor
    deltas: torch.Tensor
    ts: torch.Tensor
    ray_indices: torch.Tensor
    num_rays: int
    cut: torch.Tensor | None = None

    @property
    def num_samples(self) -> int:
        return int(self.ray_indices.shape[0])

    def counts(self) -> torch.Tensor:
        """[R] int64: samples per ray."""
        return torch.bincount(self.ray_indices, minlength=self.num_rays)

    def indptr(self) -> torch.Tensor:
        """[R + 1] int64: ray r owns samples indptr[r]:indptr[r + 1]."""
        c = self.counts()
        return torch.cat([c.new_zeros(1), c.cumsum(0)])


def march_rays(
    grid,
    rays_o: torch.Tensor,
    rays_d: torch.Tensor,
    near: torch.Tensor,
    far: torch.Tensor,
    dt: float = DEFAULT_STEP,
    max_samples: int | None = None,
    perturb: bool = False,
    first_step: int = 0,
    num_steps: int | None = None,
) -> PackedSamples:
    """March R rays through ``grid`` (anything with ``query(points [..., 3]) -> bool [...]``).

    rays_o, rays_d: [R, 3] (rays_d unit); near, far: [R] from ``near_far_from_aabb``;
    dt: step length; max_samples: keep at most this many occupied samples per ray (None: all;
    an int, or an [R] tensor of per-ray budgets, as chunked inference uses);
    perturb: jitter each sample inside its segment; first_step, num_steps: march only segments
    [first_step, first_step + num_steps) (None: up to the longest ray), for chunked inference.
    Fully vectorised over rays and steps. Returns :class:`PackedSamples`.
    """
    grad = rays_o.requires_grad or rays_d.requires_grad
    with torch.set_grad_enabled(grad and torch.is_grad_enabled()):
        return _march(grid, rays_o, rays_d, near, far, dt, max_samples, perturb, first_step,
                      num_steps)  # fmt: skip


def _march(grid, rays_o, rays_d, near, far, dt, max_samples, perturb, first_step, num_steps):
    R = rays_o.shape[0]
    if num_steps is None:
        longest = float((far - near).max()) if R else 0.0
        num_steps = max(0, math.ceil(longest / dt) - first_step)
    k = torch.arange(first_step, first_step + num_steps, device=rays_o.device, dtype=near.dtype)
    start = near[:, None] + k[None, :] * dt  # [R, K]
    end = torch.minimum(start + dt, far[:, None])
    valid = start < far[:, None]
    u = torch.rand_like(start) if perturb else torch.full_like(start, 0.5)
    ts = start + u * (end - start)
    xyzs = rays_o[:, None, :] + ts[..., None] * rays_d[:, None, :]
    keep = valid & grid.query(xyzs)
    cut = None
    if max_samples is not None:
        budget = max_samples[:, None] if isinstance(max_samples, torch.Tensor) else max_samples
        within = keep.cumsum(dim=1) <= budget
        cut = (keep & ~within).any(dim=1)
        keep &= within
    ray_idx, step_idx = keep.nonzero(as_tuple=True)  # row-major: sorted by ray, then step
    return PackedSamples(
        xyzs=xyzs[ray_idx, step_idx],
        dirs=rays_d[ray_idx],
        deltas=(end - start)[ray_idx, step_idx],
        ts=ts[ray_idx, step_idx],
        ray_indices=ray_idx,
        num_rays=R,
        cut=cut,
    )
