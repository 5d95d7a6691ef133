"""PSNR / masked PSNR / SSIM against hand-computed values and an independent scipy SSIM."""

import math

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from lokitalk_plugins.metrics import gaussian_window, masked_psnr, psnr, ssim


def _rng():
    return np.random.default_rng(0)


def test_psnr_constant_offset_is_exact():
    img = _rng().uniform(0.2, 0.8, size=(16, 16, 3))
    assert psnr(img + 0.1, img) == pytest.approx(20.0, abs=1e-9)  # MSE 0.01
    assert psnr(img * 255 + 1.0, img * 255, max_val=255.0) == pytest.approx(
        10 * math.log10(255.0**2), abs=1e-9
    )


def test_psnr_averages_frames_and_accepts_torch():
    img = _rng().uniform(0.2, 0.8, size=(2, 8, 8, 3))
    off = np.array([0.1, 0.01]).reshape(2, 1, 1, 1)  # 20 dB and 40 dB
    assert psnr(torch.from_numpy(img + off).float(), torch.from_numpy(img)) == pytest.approx(
        30.0, abs=1e-4
    )
    assert psnr(img, img) == math.inf


def test_psnr_shape_mismatch_raises():
    with pytest.raises(ValueError):
        psnr(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))


def test_masked_psnr_only_sees_masked_pixels():
    img = _rng().uniform(0.2, 0.8, size=(2, 8, 8, 3))
    mask = np.zeros((2, 8, 8), bool)
    mask[:, 2:5, 3:6] = True
    pred = img.copy()
    pred[~mask] += 0.3  # errors outside the mask are ignored
    assert masked_psnr(pred, img, mask) == math.inf
    pred[mask] += 0.1
    assert masked_psnr(pred, img, mask) == pytest.approx(20.0, abs=1e-9)
    with pytest.raises(ValueError):
        masked_psnr(pred, img, np.zeros((2, 8, 8)))


def test_gaussian_window():
    w = gaussian_window()
    assert w.shape == (11,) and w.sum() == pytest.approx(1.0)
    assert np.argmax(w) == 5 and np.allclose(w, w[::-1])
    assert w[6] / w[5] == pytest.approx(math.exp(-1 / (2 * 1.5**2)))


def test_ssim_identical_is_one():
    img = _rng().uniform(size=(2, 20, 24, 3))
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-12)


def test_ssim_of_constant_images_matches_formula():
    a, b = 0.3, 0.6
    c1 = (0.01 * 1.0) ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)  # variances and covariance vanish
    got = ssim(np.full((12, 12, 3), a), np.full((12, 12, 3), b))
    assert got == pytest.approx(expected, rel=1e-9)


def test_ssim_decreases_with_noise_and_negation():
    img = gaussian_filter(_rng().uniform(size=(32, 32, 3)), sigma=(2, 2, 0))
    noise = _rng().normal(size=img.shape)
    values = [ssim(np.clip(img + s * noise, 0, 1), img) for s in (0.0, 0.02, 0.1, 0.3)]
    assert values[0] == pytest.approx(1.0)
    assert all(x > y for x, y in zip(values, values[1:]))
    assert ssim(1.0 - img, img) < 0.0  # negation anti-correlates local structure


def _ssim_scipy(x, y, c1=1e-4, c2=9e-4):
    """Independent SSIM: scipy's Gaussian filter (radius 5 = window 11), border of 5 cropped."""

    def filt(z):
        out = gaussian_filter(z, sigma=(1.5, 1.5, 0), truncate=3.5, mode="reflect")
        return out[5:-5, 5:-5]

    mx, my = filt(x), filt(y)
    vx, vy, cxy = filt(x * x) - mx**2, filt(y * y) - my**2, filt(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return s.mean()


def test_ssim_matches_scipy_reference():
    x = _rng().uniform(size=(23, 19, 3))
    y = np.clip(x + 0.1 * _rng().normal(size=x.shape), 0, 1)
    assert ssim(x, y) == pytest.approx(_ssim_scipy(x, y), rel=1e-10)
    frames = np.stack([x, y])
    both = ssim(frames, frames[::-1].copy())  # layout: leading dim is frames
    assert both == pytest.approx(_ssim_scipy(x, y), rel=1e-10)


def test_ssim_too_small_raises():
    with pytest.raises(ValueError):
        ssim(np.zeros((10, 40, 3)), np.zeros((10, 40, 3)))
