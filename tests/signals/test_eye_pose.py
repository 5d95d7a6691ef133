"""Eye signals (aspect ratio, shoelace area, AU45) and 6-D poses against hand-computed values."""

import math

import numpy as np
import pytest
import torch

from lokitalk_plugins.signals.eye import (
    au45_to_eye,
    eye_area_ratio,
    eye_aspect_ratio,
    polygon_area,
)
from lokitalk_plugins.signals.pose import (
    euler_from_rotation,
    head_pose_from_c2w,
    matrix_from_pose,
    pose_from_matrix,
    pose_from_track,
    rotation_from_euler,
)


def _landmarks_with_eyes(right, left) -> np.ndarray:
    lms = np.zeros((68, 2))
    lms[36:42] = right
    lms[42:48] = left
    return lms


# corner (0,0), upper (2,-1), (4,-1), corner (6,0), lower (4,1), (2,1)
RIGHT = np.array([[0, 0], [2, -1], [4, -1], [6, 0], [4, 1], [2, 1]], dtype=float)
# corner (10,0), upper (11,-2), (13,-2), corner (14,0), lower (13,2), (11,2)
LEFT = np.array([[10, 0], [11, -2], [13, -2], [14, 0], [13, 2], [11, 2]], dtype=float)


def test_eye_aspect_ratio_hand_computed():
    # right: (|p1-p5| + |p2-p4|) / (2 |p0-p3|) = (2 + 2) / 12 = 1/3; left: (4 + 4) / 8 = 1
    lms = _landmarks_with_eyes(RIGHT, LEFT)
    ear = eye_aspect_ratio(lms)
    assert ear.shape == ()
    assert ear.item() == pytest.approx(0.5 * (1 / 3 + 1.0))
    batch = torch.tensor(np.stack([lms, lms]), dtype=torch.float32)
    out = eye_aspect_ratio(batch)
    assert out.shape == (2,) and out.dtype == torch.float32
    assert torch.allclose(out, torch.full((2,), 2 / 3))


def test_eye_aspect_ratio_closed_eye_is_zero():
    closed = RIGHT.copy()
    closed[:, 1] = 0.0
    lms = _landmarks_with_eyes(closed, closed + [10, 0])
    assert eye_aspect_ratio(lms).item() == pytest.approx(0.0)


def test_shoelace_area_and_radnerf_eye_value():
    # hexagon RIGHT: trapezoid rows -> area = 2 * (6 + 2) / 2 * 1 = 8; LEFT: 2 * (4 + 2)/2 * 2 = 12
    assert polygon_area(RIGHT).item() == pytest.approx(8.0)
    assert polygon_area(LEFT[::-1].copy()).item() == pytest.approx(12.0)  # orientation-free
    lms = _landmarks_with_eyes(RIGHT, LEFT)
    assert eye_area_ratio(lms, H=10, W=20).item() == pytest.approx((8 + 12) / 200 * 100)


def test_au45_clipped_and_halved():
    out = au45_to_eye(torch.tensor([-1.0, 0.0, 0.5, 2.0, 4.3]))
    assert torch.allclose(out, torch.tensor([0.0, 0.0, 0.25, 1.0, 1.0]))


def test_eye_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"\[\.\.\., 68, 2\]"):
        eye_aspect_ratio(np.zeros((67, 2)))


def test_euler_of_a_known_rotation():
    c, s = math.cos(0.3), math.sin(0.3)
    rz = torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    assert torch.allclose(
        euler_from_rotation(rz), torch.tensor([0.0, 0.0, 0.3], dtype=torch.float64)
    )
    rx = torch.tensor([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]], dtype=torch.float64)
    assert torch.allclose(
        euler_from_rotation(rx), torch.tensor([0.3, 0.0, 0.0], dtype=torch.float64)
    )


def test_pose_round_trip():
    g = torch.Generator().manual_seed(0)
    pose = torch.rand(5, 6, generator=g, dtype=torch.float64) - 0.5
    m = matrix_from_pose(pose)
    R = m[:, :3, :3]
    assert torch.allclose(R @ R.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(5, 3, 3))
    assert torch.allclose(pose_from_matrix(m), pose, atol=1e-12)
    assert torch.allclose(rotation_from_euler(pose[:, :3]), R)


def test_head_pose_inverse_and_track():
    pose = torch.tensor([0.1, -0.2, 0.05, 0.3, -0.1, 2.0], dtype=torch.float64)
    c2w = matrix_from_pose(pose)
    assert torch.allclose(head_pose_from_c2w(c2w), pose)
    inv = head_pose_from_c2w(c2w, invert=True)
    assert torch.allclose(matrix_from_pose(inv), torch.linalg.inv(c2w), atol=1e-12)
    assert torch.allclose(head_pose_from_c2w(c2w[:3]), pose)  # [3, 4] accepted
    euler, trans = torch.rand(4, 3), torch.rand(4, 3)
    out = pose_from_track(euler, trans)
    assert out.shape == (4, 6)
    assert torch.equal(out[:, :3], euler) and torch.equal(out[:, 3:], trans)
