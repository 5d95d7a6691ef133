"""Audio2Motion targets: lip and jaw landmark motion of a folder, normalised per clip.

Normalisation (``motion_targets``), per frame of a clip:

1. Rigid head motion is removed: the frame's 68 landmarks are mapped onto the clip's
   alignment target by the least-squares 2D similarity (rotation, uniform scale, translation)
   fitted on the STABLE points (the four eye corners 36, 39, 42, 45 and the nose 27-35, which
   neither speech nor blinks move). The alignment target comes from two rounds of
   generalised Procrustes started from the raw mean, over the frames given (the train split
   in ``train_audio2motion``); the reference is the mean of the shapes aligned onto it.
2. The motion is the aligned position minus the reference position, for the lip (48-67) and
   jaw (2-14) points: P = 33 points, jaw first.
3. It is expressed in the eye frame of the reference and divided by its inter-ocular
   distance: with points as complex numbers, motion = (aligned - reference) / (r45 - r36),
   r36 and r45 the outer eye corners of the reference (pixels). x runs along the eye line
   (image left to right), y perpendicular to it (image down for an upright face); a motion
   of 0.1 is a tenth of the eye span whatever the image size, face size or camera roll.

So motion [N, 33, 2] is identity- and resolution-independent, and zero means "the clip's
mean mouth"; ``to_pixels`` maps a normalised motion back onto a clip's reference shape.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from lokitalk_plugins.data.audio import load_audio_features
from lokitalk_plugins.data.readers import read_landmarks
from lokitalk_plugins.data.transforms import load_transforms
from lokitalk_plugins.data.validate import SPLITS

__all__ = [
    "JAW_POINTS",
    "LIP_POINTS",
    "MOTION_POINTS",
    "STABLE_POINTS",
    "align_to",
    "motion_targets",
    "to_pixels",
    "read_split",
    "padded_features",
    "gather_windows",
]

JAW_POINTS = tuple(range(2, 15))
LIP_POINTS = tuple(range(48, 68))
MOTION_POINTS = JAW_POINTS + LIP_POINTS  # P = 33
STABLE_POINTS = (36, 39, 42, 45) + tuple(range(27, 36))
OUTER_EYE_CORNERS = (36, 45)


def align_to(landmarks: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Map each shape onto ``reference`` by the similarity fitted on the stable points.

    landmarks: [N, 68, 2]; reference: [68, 2] -> [N, 68, 2]. Points are complex numbers
    z = x + iy; the least-squares similarity z -> a (z - c_x) + c_y has
    a = sum(conj(x_c) y_c) / sum(|x_c|^2) over the centred stable points x_c, y_c.
    """
    lm = landmarks.to(torch.float64)
    z = torch.complex(lm[..., 0], lm[..., 1])  # [N, 68]
    ref = reference.to(torch.float64)
    r = torch.complex(ref[:, 0], ref[:, 1])  # [68]
    idx = list(STABLE_POINTS)
    cx = z[:, idx].mean(dim=1, keepdim=True)
    cy = r[idx].mean()
    xc, yc = z[:, idx] - cx, r[idx] - cy
    a = (xc.conj() * yc).sum(dim=1, keepdim=True) / (xc.abs() ** 2).sum(dim=1, keepdim=True)
    out = a * (z - cx) + cy
    return torch.stack([out.real, out.imag], dim=-1).to(landmarks.dtype)


def motion_targets(landmarks: torch.Tensor, rounds: int = 2) -> tuple[torch.Tensor, dict]:
    """Normalised lip and jaw motion of one clip (see the module docstring).

    landmarks: [N, 68, 2] pixels. Returns motion [N, 33, 2] and stats
    {"reference": [68, 2] pixels, "iod": float pixels}.
    """
    if landmarks.ndim != 3 or landmarks.shape[1:] != (68, 2):
        raise ValueError(f"landmarks must be [N, 68, 2], got {list(landmarks.shape)}")
    target = landmarks.mean(dim=0)
    for _ in range(rounds):
        target = align_to(landmarks, target).mean(dim=0)
    ref = align_to(landmarks, target).mean(dim=0)
    stats = {"target": target, "reference": ref, "iod": float(_eye_axis(ref).abs())}
    return normalise(landmarks, stats), stats


def _eye_axis(reference: torch.Tensor) -> torch.Tensor:
    """r45 - r36 of a reference [68, 2] as a complex number (float64)."""
    d = reference[OUTER_EYE_CORNERS[1]].double() - reference[OUTER_EYE_CORNERS[0]].double()
    return torch.complex(d[0], d[1])


def normalise(landmarks: torch.Tensor, stats: dict) -> torch.Tensor:
    """landmarks [N, 68, 2] pixels -> motion [N, 33, 2] with the stats of motion_targets."""
    pts = list(MOTION_POINTS)
    delta = (align_to(landmarks, stats["target"]) - stats["reference"])[:, pts].double()
    m = torch.complex(delta[..., 0], delta[..., 1]) / _eye_axis(stats["reference"])
    return torch.stack([m.real, m.imag], dim=-1).to(landmarks.dtype)


def to_pixels(motion: torch.Tensor, stats: dict) -> torch.Tensor:
    """motion [B, 33, 2] -> the 33 points in the reference frame, pixels [B, 33, 2]."""
    ref = stats["reference"]
    m = torch.complex(motion[..., 0].double(), motion[..., 1].double()) * _eye_axis(ref)
    out = torch.stack([m.real, m.imag], dim=-1).to(motion.dtype)
    return ref.to(motion)[list(MOTION_POINTS)] + out


def read_split(root: str | Path, split: str) -> tuple[list[int], list[int], torch.Tensor]:
    """img_ids, aud_ids and landmarks [N, 68, 2] (pixels) of one split of a folder."""
    root = Path(root)
    transforms = load_transforms(root / SPLITS[split])
    img_ids = [f.img_id for f in transforms.frames]
    aud_ids = [f.aud_id for f in transforms.frames]
    lms = np.stack([read_landmarks(root / f"ori_imgs/{i}.lms") for i in img_ids])
    return img_ids, aud_ids, torch.from_numpy(lms)


def padded_features(root: str | Path, audio_file: str, num_windows: int = 8) -> torch.Tensor:
    """A folder's audio features [N_aud, K, T] with num_windows // 2 zero windows before and
    num_windows - num_windows // 2 after, so windows of any aud_id are one slice."""
    feats = load_audio_features(Path(root) / audio_file)
    left, right = num_windows // 2, num_windows - num_windows // 2
    pad_l = feats.new_zeros((left,) + tuple(feats.shape[1:]))
    pad_r = feats.new_zeros((right,) + tuple(feats.shape[1:]))
    return torch.cat([pad_l, feats, pad_r])


def gather_windows(padded: torch.Tensor, aud_ids: torch.Tensor, num_windows: int = 8):
    """Windows [B, num_windows, K, T] of frames aud_ids [B] from ``padded_features``; equal
    to ``lokitalk_plugins.data.audio.audio_window`` of each (zeros outside the file)."""
    offsets = torch.arange(num_windows, device=aud_ids.device)
    return padded[aud_ids[:, None] + offsets]
