"""Optional landmark detector: MediaPipe Face Mesh mapped onto the iBUG-68 eye and mouth points.

Needs the ``landmarks`` extra: ``pip install lokitalk-plugins[landmarks]`` (mediapipe==0.10.21).
mediapipe is imported only when a detector is built; its legacy ``solutions.face_mesh`` models
ship inside the wheel, so nothing is downloaded.

Only the points LMD and LMD-E use are filled: iBUG 36-47 (eyes) and 48-67 (mouth); the other
rows are NaN. The correspondence below is this project's own choice, picking for each iBUG point
the Face Mesh vertex at the matching place on the same contour (eye and mouth corners to
corners, lip midline points 51/57/62/66 to the midline, the others spread along the lids and
lips), ordered like iBUG: left-to-right in the image for a frontal, non-mirrored face. Mapped
landmarks are close to, not identical with, a 68-point detector's, so compare LMD values only
between runs that used the same landmark source.
"""

from __future__ import annotations

import numpy as np

__all__ = ["IBUG_FROM_FACEMESH", "MediaPipeLandmarks", "require_mediapipe"]

EXTRA_HINT = "pip install lokitalk-plugins[landmarks]  (mediapipe==0.10.21)"

# iBUG-68 index -> MediaPipe Face Mesh vertex index.
IBUG_FROM_FACEMESH = {
    # right eye (image left): outer corner, upper lid x2, inner corner, lower lid x2
    36: 33, 37: 160, 38: 158, 39: 133, 40: 153, 41: 144,
    # left eye (image right): inner corner, upper lid x2, outer corner, lower lid x2
    42: 362, 43: 385, 44: 387, 45: 263, 46: 373, 47: 380,
    # outer lip: right corner, upper lip to left corner, lower lip back
    48: 61, 49: 40, 50: 37, 51: 0, 52: 267, 53: 270,
    54: 291, 55: 321, 56: 314, 57: 17, 58: 84, 59: 91,
    # inner lip: right corner, upper inner, left corner, lower inner back
    60: 78, 61: 81, 62: 13, 63: 311, 64: 308, 65: 402, 66: 14, 67: 178,
}  # fmt: skip


def require_mediapipe():
    """Import and return mediapipe, or raise ImportError naming the extra to install."""
    try:
        import mediapipe
    except ImportError as err:
        raise ImportError(
            f"the MediaPipe landmark detector needs the 'landmarks' extra: {EXTRA_HINT}"
        ) from err
    return mediapipe


class MediaPipeLandmarks:
    """``LandmarkSource`` running MediaPipe Face Mesh (needs the ``landmarks`` extra).

    ``detector(frames)``: frames [F, H, W, 3] uint8 RGB -> [F, 68, 2] float64 pixels (x, y);
    rows outside 36-67, and every row of a frame with no face found, are NaN (``lmd`` skips
    such frames). ``static_image_mode=False`` tracks the face across consecutive video frames.
    """

    def __init__(self, static_image_mode: bool = True, min_detection_confidence: float = 0.5):
        mp = require_mediapipe()
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static_image_mode,
            max_num_faces=1,
            refine_landmarks=False,
            min_detection_confidence=min_detection_confidence,
        )

    def __call__(self, frames) -> np.ndarray:
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(
                f"expected uint8 frames [F, H, W, 3], got {frames.dtype} {frames.shape}"
            )
        height, width = frames.shape[1:3]
        out = np.full((frames.shape[0], 68, 2), np.nan)
        for f, frame in enumerate(frames):
            found = self._mesh.process(np.ascontiguousarray(frame)).multi_face_landmarks
            if not found:
                continue
            points = found[0].landmark
            for ibug, mesh in IBUG_FROM_FACEMESH.items():
                out[f, ibug] = (points[mesh].x * width, points[mesh].y * height)
        return out

    def close(self) -> None:
        self._mesh.close()
