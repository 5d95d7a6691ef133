"""Reading preprocessed talking-head folders, validating them, and the synthetic studio.

The names below are imported on first use (PEP 562), so importing a submodule such as
``lokitalk_plugins.data.validate_command`` (for ``lokitalk --help``) does not import torch.
"""

from __future__ import annotations

from lokitalk_plugins._lazy import lazy_exports

# public name -> submodule defining it
_EXPORTS = {
    "AudioLayoutError": "audio",
    "audio_window": "audio",
    "load_audio_features": "audio",
    "intrinsics_from_meta": "camera",
    "ConsecutiveRays": "consecutive",
    "clip_starts": "consecutive",
    "consecutive_pair": "consecutive",
    "consecutive_rays_at": "consecutive",
    "sample_consecutive_rays": "consecutive",
    "nerf_matrix_to_ngp": "camera",
    "FrameSample": "folder",
    "TalkingHeadFolder": "folder",
    "collate_frames": "folder",
    "RegionMasks": "masks",
    "portrait_bound": "portrait",
    "portrait_box": "portrait",
    "ray_coverage": "portrait",
    "FolderValidationError": "problems",
    "Problem": "problems",
    "RayBatch": "sampling",
    "lips_rect": "sampling",
    "sample_lips_crop": "sampling",
    "sample_patches": "sampling",
    "sample_random_rays": "sampling",
    "validate_folder": "validate",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
