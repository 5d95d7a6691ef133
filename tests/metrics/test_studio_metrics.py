"""Studio metrics: zero on the ground truth, larger under known perturbations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import uniform_filter

from lokitalk_plugins.metrics.studio import (
    eye_error,
    eye_openness,
    lip_sync_score,
    mouth_error,  # fmt: skip
    mouth_opening,
)


def test_zero_on_ground_truth(clip):
    gt, truth = clip
    assert mouth_error(gt, gt, truth) == 0.0
    assert eye_error(gt, gt, truth) == 0.0
    assert mouth_error(gt.astype(np.float32) / 255, gt, truth) < 1e-5  # float input agrees


def test_measurements_follow_the_causes(clip):
    gt, truth = clip
    assert np.corrcoef(mouth_opening(gt, truth), truth.jaw)[0, 1] > 0.7
    assert lip_sync_score(gt, truth) > 0.7
    blink = truth.eye_closure > 0.8
    assert blink.any() and (~blink).any()
    e = eye_openness(gt, truth)
    assert e[blink].mean() < 0.5 * e[truth.eye_closure < 0.05].mean()


def test_errors_grow_with_perturbations(clip):
    gt, truth = clip
    shifted = np.roll(gt, 7, axis=0)  # frames from other time steps
    blurred = uniform_filter(gt.astype(np.float64), (0, 5, 5, 0))
    closed = gt[np.full(len(gt), int(np.argmin(truth.jaw)))]
    for bad in (shifted, blurred, closed):
        assert mouth_error(bad, gt, truth) > 0.3
    assert lip_sync_score(shifted, truth) < lip_sync_score(gt, truth) - 0.2
    assert lip_sync_score(closed, truth) < 0.3
    assert eye_error(shifted, gt, truth) > 0.1
    sub = np.arange(10, 30)
    assert mouth_error(gt[sub], gt[sub], truth, index=sub) == 0.0
    with pytest.raises(ValueError):
        mouth_opening(gt[sub], truth)
