"""Camera rays, in the convention of the originals' loaders.

Camera-to-world matrices here are *after* the instant-ngp axis change (see
``lokitalk_plugins.data``): the camera looks along its +z axis, x to the right, y down
(OpenCV), pixel centres at integer + 0.5.
"""

from __future__ import annotations

import contextlib

import torch

__all__ = ["exact_geometry", "get_rays", "near_far_from_aabb", "pixel_grid", "torso_pixel_coords"]


def exact_geometry(device) -> contextlib.AbstractContextManager:
    """A context in which a product of cameras, rays and points stays in its own dtype: the
    autocast of ``device`` (a torch.device, tensor or device type) switched off. A training
    autocast (``Trainer.amp = 'bf16'``) otherwise computes ``@`` / ``einsum`` in bfloat16:
    ray directions with 8 significant bits (on the studio's 128 px camera 0.13 px off on
    average and up to 0.56 px, as angle x focal length), and at evaluation (no autocast) other
    rays than in training. Learned layers are not geometry and keep the autocast."""
    kind = getattr(device, "device", device)
    kind = getattr(kind, "type", kind)
    return torch.autocast(str(kind), enabled=False)


def pixel_grid(H: int, W: int, device=None) -> torch.Tensor:
    """All pixel indices of an H x W image in row-major order: [H*W] int64."""
    return torch.arange(H * W, device=device)


def get_rays(
    c2w: torch.Tensor,
    intrinsics,
    H: int,
    W: int,
    index: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rays through pixels of one camera.

    c2w: [4, 4] (or [3, 4]) camera-to-world; intrinsics: (fx, fy, cx, cy) in pixels;
    index: [R] row-major pixel indices in [0, H*W), all pixels when None.
    Returns rays_o [R, 3] and unit rays_d [R, 3], in c2w's dtype and device.
    """
    device, dtype = c2w.device, c2w.dtype
    if index is None:
        index = pixel_grid(H, W, device=device)
    index = index.to(device=device, dtype=torch.long)
    fx, fy, cx, cy = (float(v) for v in intrinsics)
    i = (index % W).to(dtype) + 0.5
    j = torch.div(index, W, rounding_mode="floor").to(dtype) + 0.5
    dirs = torch.stack([(i - cx) / fx, (j - cy) / fy, torch.ones_like(i)], dim=-1)
    with exact_geometry(device):  # float32 rays under a bfloat16 training autocast too
        rays_d = dirs @ c2w[:3, :3].transpose(0, 1)
    rays_d = rays_d / rays_d.norm(dim=-1, keepdim=True)
    rays_o = c2w[:3, 3].expand_as(rays_d)
    return rays_o.contiguous(), rays_d.contiguous()


def near_far_from_aabb(
    rays_o: torch.Tensor,
    rays_d: torch.Tensor,
    aabb,
    min_near: float = 0.05,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Entry and exit distances of rays through an axis-aligned box (slab method).

    rays_o, rays_d: [R, 3] (rays_d need not be unit; distances are in units of |rays_d|);
    aabb: [6] (xmin, ymin, zmin, xmax, ymax, zmax), tensor or sequence.
    Returns near [R], far [R] with near >= min_near; a ray that misses the box (or whose box
    segment lies entirely before min_near) gets near = far, so it yields no samples.
    """
    aabb = torch.as_tensor(aabb, dtype=rays_o.dtype, device=rays_o.device).reshape(6)
    lo, hi = aabb[:3], aabb[3:]
    # 1/d with a signed tiny value for axis-parallel rays: their slab becomes +-inf.
    tiny = torch.finfo(rays_d.dtype).tiny
    d = torch.where(rays_d.abs() < tiny, torch.full_like(rays_d, tiny), rays_d)
    inv = 1.0 / d
    t0 = (lo - rays_o) * inv
    t1 = (hi - rays_o) * inv
    near = torch.minimum(t0, t1).amax(dim=-1).clamp_min(min_near)
    far = torch.maximum(t0, t1).amin(dim=-1)
    miss = far <= near
    far = torch.where(miss, near, far)
    return near, far


def torso_pixel_coords(index: torch.Tensor, H: int, W: int) -> torch.Tensor:
    """The originals' torso coordinates of pixels: index [R] (row-major, row * W + col) ->
    [R, 2] = (row / (H - 1), col / (W - 1)) * 2 - 1, the row first, corners at exactly -1/1."""
    row, col = (index // W).float(), (index % W).float()
    return torch.stack([row / max(H - 1, 1), col / max(W - 1, 1)], -1) * 2 - 1
