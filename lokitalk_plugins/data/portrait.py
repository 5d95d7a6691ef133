"""The portrait box: an axis-aligned box covering head, neck and torso, from a folder's data.

With the torso in the 3D field (``configs/lokitalk_loss.gin``) the rays through torso and neck
pixels must enter the rendering box, or those pixels can only show ``bc.jpg``. The head-only
box of both originals (``HEAD_AABB``, half-height 0.5 along the vertical axis) misses about
half of them on the studio. :func:`portrait_box` derives a box from the cameras and the
torso/neck masks (the parsing): for every torso or neck pixel of every frame, the point of its
ray closest to the origin (where the head sits) is taken; the box is the union of the head box
and those points' extent, grown by ``margin`` and rounded outward to ``step``.
:func:`ray_coverage` measures the share of a region's pixel rays that enter a box.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from lokitalk_plugins.render.grid import HEAD_AABB
from lokitalk_plugins.render.rays import get_rays, near_far_from_aabb

from .folder import TalkingHeadFolder

__all__ = ["portrait_bound", "portrait_box", "ray_coverage", "region_rays"]

REGIONS = ("torso", "face", "lips", "eyes")


def region_rays(root: str | Path, split: str = "train", region: str = "torso"):
    """Rays through the pixels of ``region`` (RegionMasks name; "torso" = neck + torso) in every
    frame of ``split`` -> rays_o [R, 3], rays_d [R, 3] (unit), in the cameras' ngp axes."""
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")
    folder = TalkingHeadFolder(root, split=split, background="bc", validate=False, progress=False)
    origins, dirs = [], []
    for i in range(len(folder)):
        frame = folder[i]
        index = torch.nonzero(getattr(frame.masks, region).reshape(-1)).squeeze(1)
        o, d = get_rays(frame.c2w, frame.intrinsics, frame.H, frame.W, index)
        origins.append(o)
        dirs.append(d)
    return torch.cat(origins), torch.cat(dirs)


def portrait_box(
    root: str | Path,
    split: str = "train",
    margin: float = 0.1,
    step: float = 0.05,
    head=HEAD_AABB,
) -> tuple[float, ...]:
    """(xmin, ymin, zmin, xmax, ymax, zmax) covering ``head`` and, for every neck/torso pixel
    of ``split``, the point of its ray closest to the origin, grown by ``margin`` and rounded
    outward to a multiple of ``step``. Raises ValueError when no frame has a torso pixel."""
    rays_o, rays_d = region_rays(root, split, "torso")
    if rays_o.shape[0] == 0:
        raise ValueError(f"{root}: no neck or torso pixel in the {split} parsing images")
    t = -(rays_o * rays_d).sum(-1, keepdim=True)  # closest approach to the origin
    points = rays_o + t.clamp_min(0) * rays_d  # [R, 3]
    head_t = torch.tensor(head, dtype=points.dtype)
    lo = torch.minimum(points.amin(0) - margin, head_t[:3])
    hi = torch.maximum(points.amax(0) + margin, head_t[3:])
    lo = [math.floor(v / step) * step for v in lo.tolist()]
    hi = [math.ceil(v / step) * step for v in hi.tolist()]
    return tuple(round(v, 6) for v in lo + hi)


def portrait_bound(aabb, step: float = 0.25) -> float:
    """The half-size of the smallest cube [-b, b]^3 holding ``aabb`` [6], b a multiple of
    ``step`` and at least 1 (the bound of the encoders, the occupancy grid and RSDF)."""
    reach = max(abs(float(v)) for v in aabb)
    return max(1.0, math.ceil(reach / step - 1e-9) * step)


def ray_coverage(root: str | Path, aabb, split: str = "val", region: str = "torso") -> float:
    """Share in [0, 1] of the ``region`` pixels' rays of ``split`` that enter ``aabb`` [6]
    (1.0 when the region has no pixel)."""
    rays_o, rays_d = region_rays(root, split, region)
    if rays_o.shape[0] == 0:
        return 1.0
    near, far = near_far_from_aabb(rays_o, rays_d, aabb)
    return float((far > near).double().mean())
