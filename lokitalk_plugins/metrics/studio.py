"""Studio-only metrics: mouth opening, eye openness and lip sync measured on RGB frames.

The ground truth says *where* to look (its landmarks place a mouth window and two eye
windows per frame); the pixels say *what* is there, so the same measurement applied to the
ground-truth frames gives zero error, and a frame from another time step, a blurred or a
closed mouth, or an open eye where the truth blinks, gives a larger one.

frames: [N, H, W, 3] uint8 (0..255) or float (0..1), numpy or torch, matching the truth's
frames (pass ``index`` when they are a subset, e.g. the validation frames).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "mouth_opening",
    "eye_openness",
    "mouth_error",
    "eye_error",
    "lip_sync_score",
    "DARK_LEVEL",
]

DARK_LEVEL = 0.22  # luminance under which a pixel counts as mouth interior (soft, +- 0.06)
EYE_DIFF = 0.12  # mean RGB difference from the cheek colour that counts as "eye, not lid"


def _as_frames(frames) -> np.ndarray:
    if hasattr(frames, "detach"):
        frames = frames.detach().cpu().numpy()
    x = np.asarray(frames)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"frames must be [N, H, W, 3], got {x.shape}")
    x = x.astype(np.float32)
    return x / 255.0 if x.max() > 1.5 else x


def _landmarks(truth, index, n: int) -> np.ndarray:
    lm = np.asarray(truth.landmarks if hasattr(truth, "landmarks") else truth, dtype=np.float64)
    if index is not None:
        lm = lm[index]
    if lm.shape[0] != n:
        raise ValueError(f"{n} frames but {lm.shape[0]} ground-truth frames (pass index=)")
    return lm


def _window(img, x0, x1, y0, y1) -> np.ndarray:
    """Pixels whose centres fall in [x0, x1) x [y0, y1) (continuous pixel coordinates)."""
    H, W = img.shape[:2]
    c0, c1 = max(0, int(np.ceil(x0 - 0.5))), min(W, int(np.ceil(x1 - 0.5)))
    r0, r1 = max(0, int(np.ceil(y0 - 0.5))), min(H, int(np.ceil(y1 - 0.5)))
    return img[r0 : max(r0, r1), c0 : max(c0, c1)]


def mouth_opening(frames, truth, index=None) -> np.ndarray:
    """Measured mouth opening per frame, in pixels: [N].

    Window: the central half of the mouth width (landmarks 48, 54) from the top of the upper
    lip to the bottom of the lower lip (50-52, 56-58) of the ground truth; value: the summed
    darkness (luminance below DARK_LEVEL, soft) per column, averaged over the columns.
    """
    x = _as_frames(frames)
    lm = _landmarks(truth, index, x.shape[0])
    lum = x @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        left, right = lm[i, 48, 0], lm[i, 54, 0]
        w = right - left
        top = lm[i, 50:53, 1].min() - 0.5
        bottom = lm[i, 56:59, 1].max() + 0.5
        win = _window(lum[i], left + 0.25 * w, right - 0.25 * w, top, bottom)
        if win.size:
            dark = np.clip((DARK_LEVEL + 0.06 - win) / 0.12, 0.0, 1.0)
            out[i] = dark.sum(axis=0).mean()
    return out


def eye_openness(frames, truth, index=None) -> np.ndarray:
    """Measured eye openness per frame, in pixels (mean of both eyes): [N].

    Window per eye: between its corners (36-39, 42-45) and half the eye width above and below
    the corner line; value: pixels differing from the cheek colour (median of a patch below
    the eye) by more than EYE_DIFF, per column of the window.
    """
    x = _as_frames(frames)
    lm = _landmarks(truth, index, x.shape[0])
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        vals = []
        for a, b in ((36, 39), (42, 45)):
            x0, x1 = sorted((lm[i, a, 0], lm[i, b, 0]))
            yc, w = 0.5 * (lm[i, a, 1] + lm[i, b, 1]), x1 - x0
            win = _window(x[i], x0 + 0.1 * w, x1 - 0.1 * w, yc - 0.5 * w, yc + 0.5 * w)
            cheek = _window(x[i], x0 + 0.2 * w, x1 - 0.2 * w, yc + 0.9 * w, yc + 1.4 * w)
            if win.size == 0 or cheek.size == 0:
                vals.append(0.0)
                continue
            skin = np.median(cheek.reshape(-1, 3), axis=0)
            diff = np.abs(win - skin).mean(-1) > EYE_DIFF
            vals.append(float(diff.sum(axis=0).mean()))
        out[i] = np.mean(vals)
    return out


def mouth_error(pred_frames, gt_frames, truth, index=None) -> float:
    """Mean absolute difference of the measured mouth opening (pixels); 0 for gt itself."""
    a = mouth_opening(pred_frames, truth, index)
    return float(np.abs(a - mouth_opening(gt_frames, truth, index)).mean())


def eye_error(pred_frames, gt_frames, truth, index=None) -> float:
    """Mean absolute difference of the measured eye openness (pixels); 0 for gt itself."""
    a = eye_openness(pred_frames, truth, index)
    return float(np.abs(a - eye_openness(gt_frames, truth, index)).mean())


def lip_sync_score(pred_frames, truth, index=None) -> float:
    """Pearson correlation of the measured mouth opening over a clip with the true jaw track
    (-1..1, higher is better; 0 when either is constant)."""
    m = mouth_opening(pred_frames, truth, index)
    jaw = np.asarray(truth.jaw, dtype=np.float64)
    if index is not None:
        jaw = jaw[index]
    if m.std() < 1e-9 or jaw.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(m, jaw)[0, 1])
