"""Camera rays, in the convention of the originals' loaders.

Camera-to-world matrices here are *after* the instant-ngp axis change (see
``lokitalk_plugins.data``): the camera looks along its +z axis, x to the right, y down
(OpenCV), pixel centres at integer + 0.5.
"""

from __future__ import annotations

import torch

__all__ = ["get_rays", "pixel_grid"]


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
    rays_d = dirs @ c2w[:3, :3].transpose(0, 1)
    rays_d = rays_d / rays_d.norm(dim=-1, keepdim=True)
    rays_o = c2w[:3, 3].expand_as(rays_d)
    return rays_o.contiguous(), rays_d.contiguous()
