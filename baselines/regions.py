"""Image regions the backbones' regularisers use, from a frame's landmarks."""

from __future__ import annotations

import torch

__all__ = ["lower_face_rect", "in_rect"]


def lower_face_rect(landmarks: torch.Tensor) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) in pixels of the lower face: from the nose bridge (landmark 28)
    down to the chin (8), across the jaw contour (landmarks 2-14). landmarks: [68, 2]."""
    jaw = landmarks[2:15]
    return (float(jaw[:, 0].min()), float(landmarks[28, 1]), float(jaw[:, 0].max()),
            float(landmarks[8, 1]))  # fmt: skip


def in_rect(index: torch.Tensor, W: int, rect) -> torch.Tensor:
    """Which row-major pixel indices [R] fall inside rect (x0, y0, x1, y1) -> bool [R]."""
    x = (index % W).float() + 0.5
    y = torch.div(index, W, rounding_mode="floor").float() + 0.5
    x0, y0, x1, y1 = rect
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
