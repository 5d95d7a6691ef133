"""Pixels to train on from one frame: random rays, random patches, the lips crop.

Every sampler returns a ``RayBatch``: row-major pixel indices, the rays through them
(``lokitalk_plugins.render.rays.get_rays``) and the target colour, background and region
masks at those pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lokitalk_plugins.data.folder import FrameSample
from lokitalk_plugins.data.masks import LIPS, RegionMasks
from lokitalk_plugins.errors import OptionError
from lokitalk_plugins.render.rays import get_rays

__all__ = [
    "RayBatch",
    "rays_at",
    "sample_random_rays",
    "sample_patches",
    "lips_rect",
    "sample_lips_crop",
]


@dataclass
class RayBatch:
    """R pixels of one frame.

    index: [R] int64 row-major pixel indices in [0, H*W); rays_o, rays_d: [R, 3] (rays_d unit);
    rgb, background: [R, 3] in [0, 1]; masks: RegionMasks of bool [R]; shape: how R is laid
    out, (R,) for random rays, (P, s, s) for patches, (h, w) for a crop (so
    ``rgb.reshape(*shape, 3)`` gives images); rect: (top, left, height, width) of a crop.
    """

    index: torch.Tensor
    rays_o: torch.Tensor
    rays_d: torch.Tensor
    rgb: torch.Tensor
    background: torch.Tensor
    masks: RegionMasks
    shape: tuple[int, ...]
    rect: tuple[int, int, int, int] | None = None


def rays_at(
    frame: FrameSample,
    index: torch.Tensor,
    shape: tuple[int, ...] | None = None,
    rect: tuple[int, int, int, int] | None = None,
) -> RayBatch:
    """Rays and pixel data of a frame at row-major indices ``index`` [R]."""
    index = index.reshape(-1).to(torch.long)
    H, W = frame.H, frame.W
    rays_o, rays_d = get_rays(frame.c2w, frame.intrinsics.tolist(), H, W, index)
    return RayBatch(
        index=index,
        rays_o=rays_o,
        rays_d=rays_d,
        rgb=frame.image.reshape(-1, 3)[index],
        background=frame.background.reshape(-1, 3)[index],
        masks=frame.masks.at(index),
        shape=tuple(shape) if shape is not None else (index.numel(),),
        rect=rect,
    )


def sample_random_rays(
    frame: FrameSample, num_rays: int, generator: torch.Generator | None = None
) -> RayBatch:
    """``num_rays`` distinct random pixels (all H*W pixels, shuffled, if fewer exist)."""
    n = frame.H * frame.W
    index = torch.randperm(n, generator=generator)[: min(num_rays, n)]
    return rays_at(frame, index)


def sample_patches(
    frame: FrameSample,
    num_patches: int,
    patch_size: int,
    generator: torch.Generator | None = None,
) -> RayBatch:
    """``num_patches`` random square patches of ``patch_size`` pixels; shape (P, s, s)."""
    H, W, s = frame.H, frame.W, patch_size
    if not 0 < s <= min(H, W):
        raise OptionError(f"patch_size {s} must be in [1, {min(H, W)}] for a {H}x{W} image")
    top = torch.randint(0, H - s + 1, (num_patches,), generator=generator)
    left = torch.randint(0, W - s + 1, (num_patches,), generator=generator)
    r = torch.arange(s)
    rows = top[:, None, None] + r[None, :, None]  # [P, s, 1]
    cols = left[:, None, None] + r[None, None, :]  # [P, 1, s]
    index = (rows * W + cols).reshape(-1)
    return rays_at(frame, index, shape=(num_patches, s, s))


def lips_rect(
    landmarks: torch.Tensor, H: int, W: int, margin: float = 0.15
) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the lips box: landmarks 48-59 [68, 2] (x, y) pixels.

    The tight box of the outer lip contour grows by ``margin`` times its larger side on each
    side, then is clipped to the image (at least one pixel).
    """
    lips = landmarks[LIPS].to(torch.float64)
    x0, y0 = lips.min(dim=0).values.tolist()
    x1, y1 = lips.max(dim=0).values.tolist()
    pad = margin * max(x1 - x0, y1 - y0)
    left = min(max(int(x0 - pad), 0), W - 1)
    top = min(max(int(y0 - pad), 0), H - 1)
    right = max(min(int(x1 + pad) + 1, W), left + 1)
    bottom = max(min(int(y1 + pad) + 1, H), top + 1)
    return top, left, bottom - top, right - left


def sample_lips_crop(frame: FrameSample, margin: float = 0.15) -> RayBatch:
    """Every pixel of the lips box (``lips_rect``); shape (h, w), rect set."""
    top, left, h, w = lips_rect(frame.landmarks, frame.H, frame.W, margin)
    rows = torch.arange(top, top + h)[:, None]
    cols = torch.arange(left, left + w)[None, :]
    index = (rows * frame.W + cols).reshape(-1)
    return rays_at(frame, index, shape=(h, w), rect=(top, left, h, w))
