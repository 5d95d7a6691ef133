"""Which points some camera of a set can see (for marking unseen occupancy cells)."""

from __future__ import annotations

import torch

__all__ = ["frustum_planes", "visible_mask"]


def frustum_planes(c2w: torch.Tensor, intrinsics, H: int, W: int) -> torch.Tensor:
    """World-space planes of camera frusta: [M, 5, 4] as (unit normal n, offset c).

    A point X is inside frustum m when n . X + c >= 0 for its 5 planes: left, right, top,
    bottom (through the camera centre and the image borders) and the camera plane z = 0.
    c2w: [M, 4, 4] (or [M, 3, 4]), camera looking along +z (x right, y down);
    intrinsics: (fx, fy, cx, cy) or [M, 4] in pixels.
    """
    M = c2w.shape[0]
    k = torch.as_tensor(intrinsics, dtype=c2w.dtype, device=c2w.device)
    k = k.reshape(1, 4).expand(M, 4) if k.numel() == 4 else k.reshape(M, 4)
    fx, fy, cx, cy = k.unbind(-1)
    one, zero = torch.ones_like(fx), torch.zeros_like(fx)
    # camera-frame normals: x + (cx/fx) z >= 0, ((W-cx)/fx) z - x >= 0, same for y; z >= 0
    n_cam = torch.stack(
        [
            torch.stack([one, zero, cx / fx], -1),
            torch.stack([-one, zero, (W - cx) / fx], -1),
            torch.stack([zero, one, cy / fy], -1),
            torch.stack([zero, -one, (H - cy) / fy], -1),
            torch.stack([zero, zero, one], -1),
        ],
        dim=1,
    )  # [M, 5, 3]
    n_cam = n_cam / n_cam.norm(dim=-1, keepdim=True)
    R, o = c2w[:, :3, :3], c2w[:, :3, 3]
    n_world = torch.einsum("mij,mpj->mpi", R, n_cam)  # R n
    offset = -(n_world * o[:, None, :]).sum(-1, keepdim=True)
    return torch.cat([n_world, offset], dim=-1)


def visible_mask(
    points: torch.Tensor,
    c2w: torch.Tensor,
    intrinsics,
    H: int,
    W: int,
    radius: float = 0.0,
    cam_chunk: int = 16,
) -> torch.Tensor:
    """True for points whose ball of ``radius`` meets the view frustum of any camera.

    points: [N, 3] world; c2w, intrinsics, H, W: as in :func:`frustum_planes`. Conservative:
    every plane is pushed out by ``radius``. Returns [N] bool. Points already found visible
    are not tested against further cameras.
    """
    planes = frustum_planes(c2w.to(points.dtype), intrinsics, H, W)  # [M, 5, 4]
    # a fixed shuffle puts diverse cameras in each chunk, so most points exit early
    gen = torch.Generator().manual_seed(0)
    planes = planes[torch.randperm(planes.shape[0], generator=gen).to(planes.device)]
    seen = torch.zeros(points.shape[0], dtype=torch.bool, device=points.device)
    todo = torch.arange(points.shape[0], device=points.device)
    for start in range(0, planes.shape[0], cam_chunk):
        if todo.numel() == 0:
            break
        p = planes[start : start + cam_chunk]  # [m, 5, 4]
        dist = points[todo] @ p[..., :3].reshape(-1, 3).T + p[..., 3].reshape(-1)  # [P, m*5]
        hit = (dist.view(todo.numel(), -1, 5) >= -radius).all(-1).any(-1)
        seen[todo[hit]] = True
        todo = todo[~hit]
    return seen
