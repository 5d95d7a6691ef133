"""Region masks of a frame: face and torso from the parsing image, lips and eyes from landmarks.

Parsing images are written in BGR order by the original preprocessing; read as RGB, the head
(with hair and mouth) is (0, 0, 255), the neck (0, 255, 0), the torso (255, 0, 0) and the
background white. Pixel (row j, column i) has its centre at (i + 0.5, j + 0.5) in landmark
coordinates, as in ``lokitalk_plugins.render.rays``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch
from scipy import ndimage

__all__ = [
    "PARSING_COLOURS",
    "PARSING_CLASSES",
    "RegionMasks",
    "classify_parsing",
    "polygon_mask",
    "outline_mask",
    "dilate",
    "region_masks",
]

# class name -> RGB colour as read from parsing/%d.png
PARSING_COLOURS: dict[str, tuple[int, int, int]] = {
    "background": (255, 255, 255),
    "head": (0, 0, 255),
    "neck": (0, 255, 0),
    "torso": (255, 0, 0),
}
PARSING_CLASSES = tuple(PARSING_COLOURS)
_PALETTE = np.asarray(list(PARSING_COLOURS.values()), dtype=np.int16)  # [C, 3]

LIPS = slice(48, 60)
EYES = (slice(36, 42), slice(42, 48))


@dataclass
class RegionMasks:
    """Boolean masks of one frame, each [H, W] (or [R] for sampled pixels, [B, ...] batched).

    face: head class of the parsing; torso: neck + torso classes; lips: filled polygon of
    landmarks 48-59; eyes: polygons 36-41 and 42-47, dilated.
    """

    face: torch.Tensor
    torso: torch.Tensor
    lips: torch.Tensor
    eyes: torch.Tensor

    def at(self, index: torch.Tensor) -> RegionMasks:
        """Masks at row-major pixel indices: index [R] -> each mask [R]."""
        return RegionMasks(
            **{f.name: getattr(self, f.name).reshape(-1)[index] for f in fields(self)}
        )

    def to(self, device) -> RegionMasks:
        return RegionMasks(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


def classify_parsing(rgb: np.ndarray, max_distance: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Parsing colours -> class ids. rgb: uint8 [H, W, 3].

    Returns labels int64 [H, W] (index into PARSING_CLASSES, the nearest colour) and
    unknown bool [H, W]: pixels farther than ``max_distance`` (largest channel difference)
    from every class colour.
    """
    H, W = rgb.shape[:2]
    flat = np.ascontiguousarray(rgb[..., :3]).reshape(-1, 3)
    code = (flat[:, 0].astype(np.int32) << 16) | (flat[:, 1].astype(np.int32) << 8) | flat[:, 2]
    labels = np.full(code.shape, -1, dtype=np.int64)
    for c, (r, g, b) in enumerate(_PALETTE.tolist()):  # exact colours: the common case
        labels[code == ((r << 16) | (g << 8) | b)] = c
    unknown = np.zeros(code.shape, dtype=bool)
    rest = np.flatnonzero(labels < 0)
    if rest.size:  # blended or foreign colours: nearest class by largest channel difference
        dist = np.abs(flat[rest].astype(np.int16)[:, None, :] - _PALETTE).max(axis=-1)
        labels[rest] = dist.argmin(axis=-1)
        unknown[rest] = dist.min(axis=-1) > max_distance
    return labels.reshape(H, W), unknown.reshape(H, W)


def polygon_mask(points: np.ndarray, H: int, W: int) -> np.ndarray:
    """Filled polygon (even-odd rule on pixel centres). points: [P, 2] (x, y) -> bool [H, W]."""
    pts = np.asarray(points, dtype=np.float64)
    mask = np.zeros((H, W), dtype=bool)
    if len(pts) < 3 or not np.isfinite(pts).all():
        return mask
    x0 = max(int(np.floor(pts[:, 0].min())), 0)
    x1 = min(int(np.ceil(pts[:, 0].max())) + 1, W)
    y0 = max(int(np.floor(pts[:, 1].min())), 0)
    y1 = min(int(np.ceil(pts[:, 1].max())) + 1, H)
    if x1 <= x0 or y1 <= y0:
        return mask
    ys, xs = np.mgrid[y0:y1, x0:x1]
    px, py = xs[..., None] + 0.5, ys[..., None] + 0.5  # [h, w, 1]
    ax, ay = pts[:, 0], pts[:, 1]
    bx, by = np.roll(ax, -1), np.roll(ay, -1)
    crosses = (ay > py) != (by > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = ax + (py - ay) * (bx - ax) / (by - ay)
    inside = (crosses & (px < x_at)).sum(axis=-1) % 2 == 1
    mask[y0:y1, x0:x1] = inside
    return mask


def outline_mask(points: np.ndarray, H: int, W: int) -> np.ndarray:
    """Pixels the closed outline of a polygon passes through. points: [P, 2] -> bool [H, W].

    Keeps a closed eye (a polygon of zero area) visible before dilation.
    """
    pts = np.asarray(points, dtype=np.float64)
    mask = np.zeros((H, W), dtype=bool)
    if len(pts) == 0 or not np.isfinite(pts).all():
        return mask
    a, b = pts, np.roll(pts, -1, axis=0)
    steps = int(np.ceil(np.abs(b - a).max())) * 2 + 2
    t = np.linspace(0.0, 1.0, steps)[:, None, None]
    p = (a + t * (b - a)).reshape(-1, 2)
    cols, rows = np.floor(p[:, 0]).astype(np.int64), np.floor(p[:, 1]).astype(np.int64)
    ok = (cols >= 0) & (cols < W) & (rows >= 0) & (rows < H)
    mask[rows[ok], cols[ok]] = True
    return mask


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by a disk of ``radius`` pixels. mask: bool [H, W] -> bool [H, W]."""
    if radius <= 0:
        return mask
    r = np.arange(-radius, radius + 1)
    disk = (r[:, None] ** 2 + r[None, :] ** 2) <= radius * radius
    return ndimage.binary_dilation(mask, structure=disk)


def region_masks(
    parsing_rgb: np.ndarray, landmarks: np.ndarray, eye_dilation: int = 3
) -> RegionMasks:
    """All region masks of a frame.

    parsing_rgb: uint8 [H, W, 3]; landmarks: [68, 2] (x, y) pixels; eye_dilation: pixels.
    Returns RegionMasks of bool [H, W] tensors.
    """
    H, W = parsing_rgb.shape[:2]
    labels, _ = classify_parsing(parsing_rgb)
    head = PARSING_CLASSES.index("head")
    neck, torso = PARSING_CLASSES.index("neck"), PARSING_CLASSES.index("torso")
    lips = polygon_mask(landmarks[LIPS], H, W)
    eyes = np.zeros((H, W), dtype=bool)
    for eye in EYES:
        eyes |= polygon_mask(landmarks[eye], H, W) | outline_mask(landmarks[eye], H, W)
    eyes = dilate(eyes, eye_dilation)
    return RegionMasks(
        face=torch.from_numpy(labels == head),
        torso=torch.from_numpy((labels == neck) | (labels == torso)),
        lips=torch.from_numpy(lips),
        eyes=torch.from_numpy(eyes),
    )
