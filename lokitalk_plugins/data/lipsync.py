"""The lip-sync module's data: lips crops of a split's frames, its audio windows, and the
checks that a clip can train it (DH-NeRF §3.4).

Lips crops (``lips_box``, ``crop_at``): one box size for the whole clip (the largest lips box
of its frames, grown by ``margin`` and widened to the crop's aspect), centred on each frame's
lips, resampled bilinearly to ``crop`` pixels; so the crop follows the head while an open
mouth stays larger than a closed one. Other splits are cropped with the train clip's size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lokitalk_plugins.data.audio2motion import gather_windows, read_split
from lokitalk_plugins.data.masks import LIPS
from lokitalk_plugins.data.readers import read_rgb
from lokitalk_plugins.signals.lipsync import negative_candidates

__all__ = ["lips_box", "crop_at", "lips_crops", "check_clip", "read_lipsync_split"]


def lips_box(landmarks: torch.Tensor, crop=(16, 24), margin=0.15):
    """The clip's lips box: landmarks [n, 68, 2] pixels -> centres [n, 2] (x, y) of each
    frame's lips, and one half-size [2] (x, y): the largest lips box, grown by ``margin`` on
    each side and widened to the crop's aspect h:w."""
    lips = landmarks[:, LIPS].to(torch.float32)
    lo, hi = lips.min(dim=1).values, lips.max(dim=1).values  # [n, 2] (x, y)
    half = ((hi - lo) / 2).max(dim=0).values * (1 + 2 * margin)
    h, w = crop
    return (lo + hi) / 2, torch.maximum(half, torch.stack([half[1] * w / h, half[0] * h / w]))


def crop_at(images: torch.Tensor, centre: torch.Tensor, half: torch.Tensor, crop=(16, 24)):
    """images [n, H, W, 3], box centres [n, 2] and half-size [2] pixels -> [n, 3, h, w]
    (bilinear; pixel i spans [i, i+1); the border repeats outside the image)."""
    n, H, W, _ = images.shape
    h, w = crop
    rows = (torch.arange(h, dtype=torch.float32) + 0.5) / h * 2 - 1
    cols = (torch.arange(w, dtype=torch.float32) + 0.5) / w * 2 - 1
    u = centre[:, None, None, 0] + half[0] * cols[None, None, :]  # pixels [n, 1, w]
    v = centre[:, None, None, 1] + half[1] * rows[None, :, None]  # pixels [n, h, 1]
    grid = torch.stack(torch.broadcast_tensors(2 * u / W - 1, 2 * v / H - 1), dim=-1)
    img = images.permute(0, 3, 1, 2).to(torch.float32)
    return F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=False)


def lips_crops(images: torch.Tensor, landmarks: torch.Tensor, crop=(16, 24), margin=0.15):
    """images [n, H, W, 3] in [0, 1], landmarks [n, 68, 2] pixels -> crops [n, 3, h, w]."""
    centre, half = lips_box(landmarks, crop, margin)
    return crop_at(images, centre, half, crop)


def check_clip(root, aud_ids, num_windows: int, negatives: int, min_gap: int) -> torch.Tensor:
    """The negative candidates [n, n] of a split, after checking it can train (ValueError)."""
    n = len(aud_ids)
    if n < num_windows:
        raise ValueError(
            f"{root}: the train split has {n} frames, shorter than the audio window of "
            f"{num_windows} frames: use a longer clip"
        )
    cand = negative_candidates(torch.as_tensor(aud_ids), min_gap)
    fewest = int(cand.sum(dim=1).min())
    if fewest < negatives:
        raise ValueError(
            f"{root}: too few frames for {negatives} negatives: with {n} frames, some frame has "
            f"only {fewest} frames at least {min_gap} frames away; use a longer clip, or lower "
            "--negatives or --min-gap"
        )
    return cand


def read_lipsync_split(root: Path, split: str, padded, crop, margin, num_windows, half=None):
    """Crops [n, 3, h, w], windows [n, 8, K, T], aud_ids, and (images, centres, half) to
    crop again elsewhere; the box half-size is the train split's (``half``) when given."""
    img_ids, aud_ids, lms = read_split(root, split)
    if not img_ids:
        return None, None, aud_ids, None
    images = torch.from_numpy(np.stack([read_rgb(root / f"gt_imgs/{i}.jpg") for i in img_ids]))
    images = images.float() / 255.0
    centre, own = lips_box(lms, crop, margin)
    half = own if half is None else half
    crops = crop_at(images, centre, half, crop)
    windows = gather_windows(padded, torch.tensor(aud_ids), num_windows)
    return crops, windows, aud_ids, (images, centre, half)
