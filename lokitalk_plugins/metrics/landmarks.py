"""Landmark distances (LMD on the mouth, LMD-E on the eyes) and landmark sources.

Landmarks follow the iBUG 68-point layout in pixel coordinates ``(x, y)``: 36-41 right eye,
42-47 left eye (subject's sides), 48-59 outer lip, 60-67 inner lip. A ``LandmarkSource`` turns
frames into landmarks; ``GroundTruthLandmarks`` serves given arrays, and the optional
MediaPipe detector lives in ``lokitalk_plugins.metrics.mediapipe_landmarks`` (needs the
``landmarks`` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from .image import as_numpy

__all__ = [
    "MOUTH_IDX",
    "EYES_IDX",
    "landmark_distance",
    "lmd",
    "lmd_eyes",
    "LandmarkSource",
    "GroundTruthLandmarks",
]

MOUTH_IDX = tuple(range(48, 68))
EYES_IDX = tuple(range(36, 48))


def landmark_distance(pred_lms, gt_lms, idx: Sequence[int]) -> float:
    """Mean-centred landmark distance on the points ``idx``.

    pred_lms, gt_lms: [F, 68, 2] (numpy or torch), pixels. Per frame, the selected points of
    each set are centred on their own mean (so a global translation costs nothing); the L2
    distance between matching points is averaged over points, then over frames. Frames where
    any selected point of either set is NaN (e.g. no face detected) are skipped; if all are,
    the result is NaN.
    """
    p, g = as_numpy(pred_lms), as_numpy(gt_lms)
    if p.shape != g.shape or p.ndim != 3 or p.shape[1:] != (68, 2):
        raise ValueError(f"expected two [F, 68, 2] arrays, got {p.shape} and {g.shape}")
    idx = list(idx)
    p, g = p[:, idx], g[:, idx]  # [F, K, 2]
    ok = ~(np.isnan(p).any(axis=(1, 2)) | np.isnan(g).any(axis=(1, 2)))
    if not ok.any():
        return float("nan")
    p, g = p[ok], g[ok]
    p = p - p.mean(axis=1, keepdims=True)
    g = g - g.mean(axis=1, keepdims=True)
    return float(np.linalg.norm(p - g, axis=-1).mean())


def lmd(pred_lms, gt_lms, idx: Sequence[int] = MOUTH_IDX) -> float:
    """LMD: mouth landmark distance (points 48-67), see ``landmark_distance``. [F, 68, 2] -> px."""
    return landmark_distance(pred_lms, gt_lms, idx)


def lmd_eyes(pred_lms, gt_lms, idx: Sequence[int] = EYES_IDX) -> float:
    """LMD-E: eye landmark distance (points 36-47), see ``landmark_distance``. [F, 68, 2] -> px."""
    return landmark_distance(pred_lms, gt_lms, idx)


@runtime_checkable
class LandmarkSource(Protocol):
    """Anything that maps frames [F, H, W, 3] uint8 RGB to landmarks [F, 68, 2] float (pixels).

    Points a source cannot provide are NaN.
    """

    def __call__(self, frames: np.ndarray) -> np.ndarray: ...


class GroundTruthLandmarks:
    """A ``LandmarkSource`` reading known landmarks (e.g. the studio's or a folder's).

    landmarks: [N, 68, 2] pixels. ``source(frames)`` returns all N when F == N;
    ``source(frames, index=ids)`` returns the rows ``ids`` (F of them) for a chunk of frames.
    """

    def __init__(self, landmarks):
        lms = as_numpy(landmarks)
        if lms.ndim != 3 or lms.shape[1:] != (68, 2):
            raise ValueError(f"expected landmarks [N, 68, 2], got {lms.shape}")
        self.landmarks = lms

    def __len__(self) -> int:
        return self.landmarks.shape[0]

    def __call__(self, frames, index=None) -> np.ndarray:
        n_frames = len(frames)
        if index is None:
            if n_frames != len(self):
                raise ValueError(
                    f"{n_frames} frames but {len(self)} landmark rows: pass index= for a chunk"
                )
            return self.landmarks.copy()
        index = np.asarray(index, dtype=np.int64).reshape(-1)
        if index.shape[0] != n_frames:
            raise ValueError(f"{n_frames} frames but {index.shape[0]} indices")
        return self.landmarks[index]
