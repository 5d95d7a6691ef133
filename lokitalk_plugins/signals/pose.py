"""6-D head pose (3 Euler angles in radians + 3 translations) for torso conditioning.

Convention: R = Rx(a) @ Ry(b) @ Rz(c) (rotations about x, then y, then z as intrinsic
axes), pose = (a, b, c, tx, ty, tz). ``pose_from_matrix`` and ``matrix_from_pose`` are exact
inverses for |b| < pi/2.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "euler_from_rotation",
    "rotation_from_euler",
    "pose_from_matrix",
    "matrix_from_pose",
    "head_pose_from_c2w",
    "pose_from_track",
]


def _as_tensor(x) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x if x.is_floating_point() else x.float()
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


def euler_from_rotation(R) -> torch.Tensor:
    """R: [..., 3, 3] rotation -> [..., 3] angles (a, b, c) with R = Rx(a) Ry(b) Rz(c)."""
    R = _as_tensor(R)
    b = torch.asin(R[..., 0, 2].clamp(-1.0, 1.0))
    a = torch.atan2(-R[..., 1, 2], R[..., 2, 2])
    c = torch.atan2(-R[..., 0, 1], R[..., 0, 0])
    return torch.stack([a, b, c], dim=-1)


def rotation_from_euler(angles) -> torch.Tensor:
    """angles: [..., 3] (a, b, c) radians -> [..., 3, 3] Rx(a) @ Ry(b) @ Rz(c)."""
    ang = _as_tensor(angles)
    ca, cb, cc = ang.cos().unbind(-1)
    sa, sb, sc = ang.sin().unbind(-1)
    one, zero = torch.ones_like(ca), torch.zeros_like(ca)
    rx = torch.stack([one, zero, zero, zero, ca, -sa, zero, sa, ca], -1)
    ry = torch.stack([cb, zero, sb, zero, one, zero, -sb, zero, cb], -1)
    rz = torch.stack([cc, -sc, zero, sc, cc, zero, zero, zero, one], -1)
    shape = ang.shape[:-1] + (3, 3)
    return rx.reshape(shape) @ ry.reshape(shape) @ rz.reshape(shape)


def pose_from_matrix(matrix) -> torch.Tensor:
    """matrix: [..., 4, 4] or [..., 3, 4] rigid transform -> [..., 6] (euler a, b, c, t)."""
    m = _as_tensor(matrix)
    return torch.cat([euler_from_rotation(m[..., :3, :3]), m[..., :3, 3]], dim=-1)


def matrix_from_pose(pose) -> torch.Tensor:
    """pose: [..., 6] (a, b, c, tx, ty, tz) -> [..., 4, 4] rigid transform."""
    p = _as_tensor(pose)
    out = torch.zeros(p.shape[:-1] + (4, 4), dtype=p.dtype, device=p.device)
    out[..., :3, :3] = rotation_from_euler(p[..., :3])
    out[..., :3, 3] = p[..., 3:]
    out[..., 3, 3] = 1.0
    return out


def head_pose_from_c2w(c2w, invert: bool = False) -> torch.Tensor:
    """6-D pose from a camera-to-world matrix c2w: [..., 4, 4] -> [..., 6].

    With ``invert=False`` (RAD-NeRF's choice) the camera pose itself is encoded; with
    ``invert=True`` the head pose in the camera frame (the inverse, world-to-camera).
    """
    m = _as_tensor(c2w)
    if m.shape[-2:] == (3, 4):
        bottom = torch.zeros(m.shape[:-2] + (1, 4), dtype=m.dtype, device=m.device)
        bottom[..., 0, 3] = 1.0
        m = torch.cat([m, bottom], dim=-2)
    if invert:
        R = m[..., :3, :3].transpose(-1, -2)
        t = -(R @ m[..., :3, 3:4])[..., 0]
        return torch.cat([euler_from_rotation(R), t], dim=-1)
    return pose_from_matrix(m)


def pose_from_track(euler, trans) -> torch.Tensor:
    """6-D pose from ``track_params.pt``: euler [..., 3] radians, trans [..., 3] -> [..., 6].

    The tracker's own angle order is kept (concatenation, no conversion).
    """
    e, t = _as_tensor(euler), _as_tensor(trans)
    if e.shape[-1] != 3 or t.shape[-1] != 3:
        raise ValueError(f"euler and trans must end in 3, got {tuple(e.shape)}, {tuple(t.shape)}")
    return torch.cat([e, t.to(e.dtype)], dim=-1)
