"""Eye signals per frame: landmark eye aspect ratio, RAD-NeRF's eye area, OpenFace AU45.

Landmarks follow the iBUG-68 order: the right eye (image left) is points 36-41, the left eye
42-47, each listed clockwise from the outer corner: corner, two upper lid points, corner, two
lower lid points.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "RIGHT_EYE",
    "LEFT_EYE",
    "eye_aspect_ratio",
    "eye_area_ratio",
    "polygon_area",
    "au45_to_eye",
]

RIGHT_EYE = slice(36, 42)
LEFT_EYE = slice(42, 48)


def _as_tensor(x) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x if x.is_floating_point() else x.float()
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


def _one_eye_ratio(p: torch.Tensor, eps: float) -> torch.Tensor:
    """p: [..., 6, 2] one eye contour -> [...] (|p1-p5| + |p2-p4|) / (2 |p0-p3|)."""
    vertical = (p[..., 1, :] - p[..., 5, :]).norm(dim=-1) + (p[..., 2, :] - p[..., 4, :]).norm(
        dim=-1
    )
    horizontal = (p[..., 0, :] - p[..., 3, :]).norm(dim=-1)
    return vertical / (2.0 * horizontal).clamp_min(eps)


def eye_aspect_ratio(landmarks, eps: float = 1e-6) -> torch.Tensor:
    """Eye aspect ratio, the mean over both eyes (about 0.25-0.35 open, near 0 closed).

    landmarks: [..., 68, 2] (x, y) pixels (tensor or array). Per eye with contour p0..p5:
    EAR = (|p1 - p5| + |p2 - p4|) / (2 |p0 - p3|). Returns [...] in the input's float dtype
    (float64 for arrays).
    """
    lms = _as_tensor(landmarks)
    if lms.shape[-2:] != (68, 2):
        raise ValueError(f"landmarks must be [..., 68, 2], got {tuple(lms.shape)}")
    right = _one_eye_ratio(lms[..., RIGHT_EYE, :], eps)
    left = _one_eye_ratio(lms[..., LEFT_EYE, :], eps)
    return 0.5 * (right + left)


def polygon_area(points) -> torch.Tensor:
    """Shoelace area of a closed polygon: points [..., P, 2] -> [...] (absolute value)."""
    p = _as_tensor(points)
    x, y = p[..., 0], p[..., 1]
    x_next, y_next = x.roll(-1, dims=-1), y.roll(-1, dims=-1)
    return 0.5 * (x * y_next - x_next * y).sum(dim=-1).abs()


def eye_area_ratio(landmarks, H: int, W: int) -> torch.Tensor:
    """RAD-NeRF's eye value: (area of polygon 36-41 + area of 42-47) / (H * W) * 100.

    landmarks: [..., 68, 2] pixels; H, W: image size. Returns [...].
    """
    lms = _as_tensor(landmarks)
    if lms.shape[-2:] != (68, 2):
        raise ValueError(f"landmarks must be [..., 68, 2], got {tuple(lms.shape)}")
    area = polygon_area(lms[..., RIGHT_EYE, :]) + polygon_area(lms[..., LEFT_EYE, :])
    return area / float(H * W) * 100.0


def au45_to_eye(au45) -> torch.Tensor:
    """ER-NeRF's eye value from OpenFace AU45_r (blink intensity 0-5): clip(0, 2) / 2 in [0, 1].

    au45: [...] -> [...]. Note the direction: 0 is open, 1 is closed (the opposite of the
    aspect ratio).
    """
    return _as_tensor(au45).clamp(0.0, 2.0) / 2.0
