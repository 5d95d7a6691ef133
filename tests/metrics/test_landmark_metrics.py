"""LMD / LMD-E with hand-computed values; landmark sources; the optional MediaPipe extra."""

import importlib.util
import sys

import numpy as np
import pytest
import torch

from lokitalk_plugins.metrics import (
    IBUG_FROM_FACEMESH,
    GroundTruthLandmarks,
    LandmarkSource,
    MediaPipeLandmarks,
    lmd,
    lmd_eyes,
)


def _lms(frames=3):
    return np.random.default_rng(0).uniform(50, 200, size=(frames, 68, 2))


def test_translation_costs_nothing():
    gt = _lms()
    shift = np.array([[[5.0, -7.0]], [[0.5, 2.0]], [[-3.0, 0.0]]])  # per-frame translation
    assert lmd(gt + shift, gt) == pytest.approx(0.0, abs=1e-12)
    assert lmd_eyes(torch.from_numpy(gt + shift), torch.from_numpy(gt)) == pytest.approx(
        0.0, abs=1e-9
    )


def test_zero_mean_displacement_gives_its_length():
    gt = _lms(2)
    pred = gt.copy()
    sign = np.where(np.arange(20) % 2 == 0, 1.0, -1.0)[:, None]  # sums to zero over 20 points
    pred[0, 48:68] += sign * np.array([3.0, 4.0])  # 5 px each
    pred[1, 48:68] += sign * np.array([0.0, 1.0])  # 1 px each
    assert lmd(pred, gt) == pytest.approx((5.0 + 1.0) / 2, abs=1e-12)
    assert lmd_eyes(pred, gt) == pytest.approx(0.0, abs=1e-12)  # mouth edits leave eyes alone


def test_single_point_displacement_after_centring():
    gt = _lms(1)
    pred = gt.copy()
    pred[0, 40] += (3.0, 4.0)  # one of K = 12 eye points moves by 5 px
    k = 12
    # centred error: 5 (1 - 1/k) on the moved point, 5 / k on each of the other k - 1
    expected = (5.0 * (1 - 1 / k) + (k - 1) * 5.0 / k) / k
    assert lmd_eyes(pred, gt) == pytest.approx(expected, abs=1e-12)
    assert lmd(pred, gt) == pytest.approx(0.0, abs=1e-12)


def test_nan_frames_are_skipped():
    gt = _lms(2)
    pred = gt.copy()
    pred[0, 48:68] += np.where(np.arange(20) % 2 == 0, 1.0, -1.0)[:, None] * (0.0, 2.0)
    pred[1, 50] = np.nan
    assert lmd(pred, gt) == pytest.approx(2.0, abs=1e-12)
    pred[0, 60] = np.nan
    assert np.isnan(lmd(pred, gt))
    with pytest.raises(ValueError):
        lmd(pred[:, :60], gt[:, :60])


def test_ground_truth_source():
    gt = _lms(4)
    src = GroundTruthLandmarks(gt)
    assert isinstance(src, LandmarkSource)
    frames = np.zeros((4, 8, 8, 3), np.uint8)
    np.testing.assert_array_equal(src(frames), gt)
    np.testing.assert_array_equal(src(frames[:2], index=[3, 1]), gt[[3, 1]])
    with pytest.raises(ValueError):
        src(frames[:2])
    with pytest.raises(ValueError):
        GroundTruthLandmarks(gt[:, :20])


def test_facemesh_mapping_covers_eyes_and_mouth():
    assert sorted(IBUG_FROM_FACEMESH) == list(range(36, 68))
    values = list(IBUG_FROM_FACEMESH.values())
    assert len(set(values)) == len(values) and all(0 <= v < 468 for v in values)


def test_missing_mediapipe_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # makes `import mediapipe` fail
    with pytest.raises(ImportError, match=r"pip install lokitalk-plugins\[landmarks\]"):
        MediaPipeLandmarks()


@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is None, reason="needs [landmarks]")
def test_mediapipe_detector_on_blank_frames():
    det = MediaPipeLandmarks()
    out = det(np.zeros((2, 64, 64, 3), np.uint8))  # no face: every row NaN
    det.close()
    assert out.shape == (2, 68, 2) and np.isnan(out).all()
