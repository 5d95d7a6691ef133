"""The SyncNet-style measure: offset 0 and the ceiling on the truth, offset k for frames
shifted by k, the floor for one static frame, low confidence for shuffled frames."""

from __future__ import annotations

import numpy as np
import pytest

from lokitalk_plugins.metrics.sync import (
    MAX_OFFSET,
    av_sync,
    clip_max_offset,
    mouth_box,
    mouth_signal,
    sync_curve,
    sync_from_signals,
    sync_measure,
)


def _shift(frames, k):
    """pred[t] = gt[t - k] (the render lags the truth by k frames), edges held."""
    idx = np.clip(np.arange(len(frames)) - k, 0, len(frames) - 1)
    return frames[idx]


def test_curve_of_known_signals():
    t = np.arange(80, dtype=np.float64)
    gt = np.sin(t / 3.0) + 0.3 * np.sin(t / 1.7)
    curve = sync_curve(gt, gt, 5)
    assert curve.shape == (11,) and curve[5] == pytest.approx(1.0)
    lag = np.concatenate([np.zeros(4), gt[:-4]])
    res = av_sync(lag, gt, 5)
    assert res["offset"] == 4 and res["peak"] == pytest.approx(1.0)
    flat = av_sync(np.full(80, 0.3), gt, 5)
    assert flat["confidence"] == 0.0 and flat["curve"] == [0.0] * 11 and flat["offset"] is None
    with pytest.raises(ValueError, match="more than 10"):
        sync_curve(gt[:10], gt[:10], 5)


def test_ground_truth_is_the_ceiling_at_offset_zero(clip):
    gt, truth = clip
    res = sync_measure(gt, gt, truth.landmarks[0])
    assert res["offset"] == 0 and res["peak"] == pytest.approx(1.0)
    assert res["confidence"] > 0.9
    assert len(res["curve"]) == 2 * MAX_OFFSET + 1


@pytest.mark.parametrize("k", [3, -5, 9])
def test_shifted_frames_give_their_offset(clip, k):
    gt, truth = clip
    res = sync_measure(_shift(gt, k), gt, truth.landmarks[0])
    assert res["offset"] == k
    assert res["confidence"] > 0.5


def test_static_frame_is_the_floor(clip):
    gt, truth = clip
    still = gt[np.full(len(gt), 17)]
    res = sync_measure(still, gt, truth.landmarks[0])
    assert res["confidence"] == 0.0 and res["peak"] == 0.0 and res["offset"] is None


def test_shuffled_frames_have_low_confidence(clip):
    gt, truth = clip
    ceiling = sync_measure(gt, gt, truth.landmarks[0])["confidence"]
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(len(gt))
        res = sync_measure(gt[order], gt, truth.landmarks[0])
        assert res["confidence"] < 0.5 * ceiling


def test_window_is_fixed_and_checked(clip):
    gt, truth = clip
    box = mouth_box(truth.landmarks[0], 64, 64)
    r0, r1, c0, c1 = box
    assert 0 <= r0 < r1 <= 64 and 0 <= c0 < c1 <= 64
    lm = truth.landmarks[0]
    assert c0 <= lm[48, 0] and lm[54, 0] <= c1 and r0 <= lm[51, 1] <= lm[57, 1] <= r1
    sig = mouth_signal(gt, box)
    assert sig.shape == (len(gt),) and -1.0 <= sig.min() <= sig.max() <= 0.0
    assert np.allclose(mouth_signal(gt.astype(np.float32) / 255, box), sig, atol=1e-6)
    assert np.corrcoef(sig, truth.jaw)[0, 1] > 0.7  # darker mouth window = wider jaw
    with pytest.raises(ValueError, match="68, 2"):
        mouth_box(np.zeros((5, 2)), 64, 64)
    with pytest.raises(ValueError, match="outside"):
        mouth_box(lm + 500.0, 64, 64)


def test_short_clips_shrink_the_offset_range():
    assert clip_max_offset(100) == 15 and clip_max_offset(31) == 10 and clip_max_offset(3) == 0
    t = np.arange(13, dtype=np.float64)
    sig = np.sin(t) + 0.1 * t
    res = sync_from_signals(sig, sig)
    assert res["sync_max_offset"] == 4 and res["sync_offset"] == 0 and len(res["sync_curve"]) == 9
    none = sync_from_signals(sig[:3], sig[:3])
    assert none["sync_conf"] is None and none["sync_max_offset"] == 0
