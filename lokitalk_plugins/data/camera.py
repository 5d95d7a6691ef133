"""Cameras of a preprocessed folder: the instant-ngp axis change and the intrinsics.

``transform_matrix`` in ``transforms_*.json`` is a 4x4 camera-to-world matrix in the
tracker's axes. The originals' loaders reorder its rows to (y, z, x), negate its columns 1
and 2, and scale (then offset) its translation; ``lokitalk_plugins.render.rays`` expects the
result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

__all__ = ["nerf_matrix_to_ngp", "intrinsics_from_meta", "focal_keys_present"]


def nerf_matrix_to_ngp(
    matrix,
    scale: float = 4.0,
    offset: Sequence[float] = (0.0, 0.0, 0.0),
) -> torch.Tensor:
    """Instant-ngp axis change of camera-to-world matrices.

    matrix: [..., 4, 4] (array or tensor). Returns [..., 4, 4] float (float32 for arrays,
    the input dtype for float tensors) with rows (y, z, x, w), columns 1 and 2 negated,
    translation * scale + offset, and bottom row (0, 0, 0, 1).
    """
    if isinstance(matrix, torch.Tensor):
        m = matrix if matrix.is_floating_point() else matrix.float()
    else:
        m = torch.as_tensor(np.asarray(matrix, dtype=np.float32))
    if m.shape[-2:] != (4, 4):
        raise ValueError(f"camera matrix must be [..., 4, 4], got {tuple(m.shape)}")
    out = torch.zeros_like(m)
    rows = m[..., [1, 2, 0], :]
    out[..., :3, 0] = rows[..., 0]
    out[..., :3, 1] = -rows[..., 1]
    out[..., :3, 2] = -rows[..., 2]
    off = torch.as_tensor(offset, dtype=m.dtype, device=m.device)
    out[..., :3, 3] = rows[..., 3] * scale + off
    out[..., 3, 3] = 1.0
    return out


def focal_keys_present(meta: Mapping) -> bool:
    """True if ``meta`` names a focal length (``focal_len`` or ``fl_x``)."""
    return "focal_len" in meta or "fl_x" in meta


def intrinsics_from_meta(meta: Mapping) -> tuple[float, float, float, float]:
    """(fx, fy, cx, cy) in pixels from a transforms json's top level.

    fx = ``fl_x`` else ``focal_len``; fy = ``fl_y`` else fx. ``cx`` and ``cy`` are required
    (the validator reports their absence before this runs).
    """
    fx = float(meta["fl_x"]) if "fl_x" in meta else float(meta["focal_len"])
    fy = float(meta["fl_y"]) if "fl_y" in meta else fx
    return fx, fy, float(meta["cx"]), float(meta["cy"])
