"""Metrics: PSNR, SSIM, LPIPS, landmark distances, studio mouth/eye/lip-sync measurements.

Images are channels-last ``[..., H, W, C]`` in [0, 1] (numpy or torch); landmarks are iBUG-68
``[F, 68, 2]`` pixels. Metrics return Python floats (LPIPS returns None when its backbone
weights are unavailable; ``format_metric`` prints that as "n/a").
"""

from .image import as_numpy, gaussian_window, masked_psnr, psnr, ssim
from .landmarks import (
    EYES_IDX,
    MOUTH_IDX,
    GroundTruthLandmarks,
    LandmarkSource,
    landmark_distance,
    lmd,
    lmd_eyes,
)
from .mediapipe_landmarks import IBUG_FROM_FACEMESH, MediaPipeLandmarks, require_mediapipe
from .perceptual import (
    BACKBONE_ENV,
    LPIPSLoss,
    LPIPSMetric,
    build_lpips,
    find_backbone_weights,
    format_metric,
)
from .studio import eye_error, eye_openness, lip_sync_score, mouth_error, mouth_opening

__all__ = [
    "as_numpy",
    "psnr",
    "masked_psnr",
    "ssim",
    "gaussian_window",
    "MOUTH_IDX",
    "EYES_IDX",
    "landmark_distance",
    "lmd",
    "lmd_eyes",
    "LandmarkSource",
    "GroundTruthLandmarks",
    "IBUG_FROM_FACEMESH",
    "MediaPipeLandmarks",
    "require_mediapipe",
    "BACKBONE_ENV",
    "find_backbone_weights",
    "build_lpips",
    "LPIPSLoss",
    "LPIPSMetric",
    "format_metric",
    "mouth_opening",
    "eye_openness",
    "mouth_error",
    "eye_error",
    "lip_sync_score",
]
