"""Pixel metrics: PSNR, masked PSNR and SSIM.

Layout convention (the whole ``metrics`` package): images are channels-last,
``[..., H, W, C]`` with values in ``[0, max_val]`` (``[0, 1]`` by default); any leading
dimensions are frames. Inputs may be numpy arrays or torch tensors (any device, any
float dtype); they are converted to float64 numpy and each function returns a Python float.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["as_numpy", "psnr", "masked_psnr", "ssim", "gaussian_window"]

# SSIM constants (Wang et al. 2004): Gaussian window 11 x 11, sigma 1.5, K1 = 0.01, K2 = 0.03.
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def as_numpy(x) -> np.ndarray:
    """Any array-like (numpy, torch tensor on any device, list) -> float64 numpy array."""
    if hasattr(x, "detach"):  # torch tensor, without importing torch here
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def _frames(pred, target) -> tuple[np.ndarray, np.ndarray]:
    """pred, target: [..., H, W, C] -> both as [F, H, W, C] float64 (F = prod of leading dims)."""
    p, t = as_numpy(pred), as_numpy(target)
    if p.shape != t.shape:
        raise ValueError(f"pred and target shapes differ: {p.shape} vs {t.shape}")
    if p.ndim < 3:
        raise ValueError(f"expected images [..., H, W, C], got shape {p.shape}")
    return p.reshape(-1, *p.shape[-3:]), t.reshape(-1, *t.shape[-3:])


def _psnr_from_mse(mse: float, max_val: float) -> float:
    return math.inf if mse == 0 else 10.0 * math.log10(max_val**2 / mse)


def psnr(pred, target, max_val: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB, averaged over frames.

    pred, target: [..., H, W, C] in [0, max_val] (leading dims are frames). Each frame's PSNR is
    ``10 log10(max_val^2 / MSE)`` over its pixels and channels; the mean over frames is returned
    (``inf`` when every frame matches exactly).
    """
    p, t = _frames(pred, target)
    mse = ((p - t) ** 2).reshape(p.shape[0], -1).mean(axis=1)
    return float(np.mean([_psnr_from_mse(float(m), max_val) for m in mse]))


def masked_psnr(pred, target, mask, max_val: float = 1.0) -> float:
    """PSNR in dB over the pixels where ``mask`` is set, pooled over all frames.

    pred, target: [..., H, W, C] in [0, max_val]; mask: [..., H, W] (bool or {0, 1}), e.g. a face
    or mouth region. The MSE is taken over all masked pixels (and channels) of all frames at once,
    so frames with an empty mask do not break the result. Raises ValueError if the mask is empty.
    """
    p, t = _frames(pred, target)
    m = as_numpy(mask).reshape(p.shape[:-1]) > 0.5
    if not m.any():
        raise ValueError("mask selects no pixel")
    mse = float(((p - t) ** 2)[m].mean())
    return _psnr_from_mse(mse, max_val)


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """1-D normalised Gaussian window: [size], sums to 1, centred on (size - 1) / 2."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    w = np.exp(-(x**2) / (2.0 * sigma**2))
    return w / w.sum()


def _filter_valid(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Separable 'valid' filtering of x: [F, H, W, C] with window w: [k] along H then W.

    Returns [F, H - k + 1, W - k + 1, C].
    """
    k = w.shape[0]
    rows = np.lib.stride_tricks.sliding_window_view(x, k, axis=1)  # [F, H-k+1, W, C, k]
    x = rows @ w
    cols = np.lib.stride_tricks.sliding_window_view(x, k, axis=2)  # [F, H-k+1, W-k+1, C, k]
    return cols @ w


def ssim(pred, target, max_val: float = 1.0) -> float:
    """Structural similarity (Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03), mean over frames.

    pred, target: [..., H, W, C] in [0, max_val] with H, W >= 11. Local means, variances and the
    covariance are Gaussian-weighted over each full 11 x 11 window (no padding, 'valid' region);
    the SSIM map is averaged over positions and channels, then over frames. Identical images
    give exactly 1.
    """
    p, t = _frames(pred, target)
    if min(p.shape[1:3]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs H, W >= {SSIM_WINDOW}, got {p.shape[1:3]}")
    w = gaussian_window()
    c1 = (SSIM_K1 * max_val) ** 2
    c2 = (SSIM_K2 * max_val) ** 2
    mu_p, mu_t = _filter_valid(p, w), _filter_valid(t, w)
    var_p = _filter_valid(p * p, w) - mu_p**2
    var_t = _filter_valid(t * t, w) - mu_t**2
    cov = _filter_valid(p * t, w) - mu_p * mu_t
    num = (2.0 * mu_p * mu_t + c1) * (2.0 * cov + c2)
    den = (mu_p**2 + mu_t**2 + c1) * (var_p + var_t + c2)
    per_frame = (num / den).reshape(p.shape[0], -1).mean(axis=1)
    return float(per_frame.mean())
