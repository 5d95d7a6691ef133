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

import torch
from PIL import Image

from lokitalk_plugins.metrics.image import psnr
from lokitalk_plugins.train.ema import EMA
from lokitalk_plugins.train.rng import capture_rng, restore_rng
from lokitalk_plugins.train.video import side_by_side

__all__ = ["frame_field", "validate_frame"]


def frame_field(frame: Any, name: str) -> Any:
    """``frame.name`` or ``frame[name]`` (FrameSample or dict frames); None when absent."""
    if isinstance(frame, dict):
        return frame.get(name)
    return getattr(frame, name, None)


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
        depth = out.get("depth")
        depth = None if depth is None else depth.detach().float().cpu().reshape(pred.shape[:2])
        gt_cpu = None if gt is None else gt.detach().float().cpu()
        panels = side_by_side(pred.detach().float().cpu().clamp(0, 1), gt_cpu, depth)
        Image.fromarray(panels).save(out_path)
    return {} if gt is None else {"val_psnr": psnr(pred.clamp(0, 1), gt)}
