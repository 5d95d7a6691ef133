"""Validation during training: render one frame with the EMA weights, save a side-by-side
PNG (prediction | ground truth | depth colour-mapped) and return its PSNR.

Rendering runs in eval mode, and every global random state (torch CPU / CUDA, numpy,
python) is put back afterwards, so validating never changes what training draws next (exact
resume does not depend on when validation ran).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from lokitalk_plugins.metrics.image import psnr
from lokitalk_plugins.train.ema import EMA
from lokitalk_plugins.train.rng import capture_rng, restore_rng

__all__ = ["frame_field", "colorize_depth", "side_by_side", "validate_frame"]


def frame_field(frame: Any, name: str) -> Any:
    """``frame.name`` or ``frame[name]`` (FrameSample or dict frames); None when absent."""
    if isinstance(frame, dict):
        return frame.get(name)
    return getattr(frame, name, None)


def colorize_depth(depth: torch.Tensor, cmap: str = "turbo") -> np.ndarray:
    """depth [H, W] -> uint8 [H, W, 3], min-max normalised over finite values."""
    import matplotlib

    d = depth.detach().float().cpu().numpy()
    finite = np.isfinite(d)
    lo, hi = (d[finite].min(), d[finite].max()) if finite.any() else (0.0, 1.0)
    norm = np.where(finite, (d - lo) / max(hi - lo, 1e-12), 0.0)
    rgb = matplotlib.colormaps[cmap](norm)[..., :3]
    return (rgb * 255.0 + 0.5).astype(np.uint8)


def _to_uint8(img: torch.Tensor) -> np.ndarray:
    """img [H, W, 3] in [0, 1] -> uint8 [H, W, 3]."""
    x = img.detach().float().clamp(0, 1).cpu().numpy()
    return (x * 255.0 + 0.5).astype(np.uint8)


def side_by_side(
    pred: torch.Tensor, gt: torch.Tensor | None, depth: torch.Tensor | None
) -> np.ndarray:
    """pred, gt [H, W, 3] in [0, 1], depth [H, W] -> uint8 [H, W * panels, 3]."""
    panels = [_to_uint8(pred)]
    if gt is not None:
        panels.append(_to_uint8(gt.reshape(pred.shape)))
    if depth is not None:
        panels.append(colorize_depth(depth.reshape(pred.shape[:2])))
    return np.concatenate(panels, axis=1)


def validate_frame(
    system: torch.nn.Module, frame: Any, ema: EMA | None, out_path: str | Path | None
) -> dict[str, float]:
    """Render ``frame`` with the EMA weights swapped in; returns {"val_psnr": dB} when the
    frame has an ``image`` (else {}); writes the PNG to ``out_path`` when given."""
    was_training, rng = system.training, capture_rng()
    swap = ema.swapped() if ema is not None else contextlib.nullcontext()
    try:
        with swap, torch.no_grad():
            system.eval()
            out = system.render_frame(frame)
    finally:
        system.train(was_training)
        restore_rng(rng)
    if "rgb" not in out:
        raise KeyError(f"render_frame must return 'rgb'; it returned {sorted(out)}")
    pred = out["rgb"]
    gt = frame_field(frame, "image")
    if gt is not None:
        gt = gt.reshape(pred.shape).to(pred.device)
    if out_path is not None:
        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(side_by_side(pred, gt, out.get("depth"))).save(out_path)
    return {} if gt is None else {"val_psnr": psnr(pred.clamp(0, 1), gt)}
