"""Evaluate a trained system on a split: image quality, landmarks, studio sync, speed, size.

>>> val = TalkingHeadFolder("data/obama", split="val")
>>> result = evaluate(system, val)                          # PSNR, SSIM, LPIPS, FPS, size
>>> result = evaluate(system, val, truth=load_truth(root))  # + studio mouth/eye/lip sync
>>> save_eval(result, "eval.json", "eval.md")

Every frame is rendered with ``system.render_frame(frame)`` (no gradients, module in eval
mode) and compared with ``frame.image``; metrics are accumulated frame by frame, so memory
does not grow with the clip. Means over frames are reported (the same values as the
``lokitalk_plugins.metrics`` functions on the stacked frames).

- LPIPS (AlexNet) needs local trunk weights: without them it is None, printed "n/a".
- LMD / LMD-E need a landmark detector (``landmarks``: a ``LandmarkSource``, e.g. the optional
  MediaPipe one). The same detector runs on the rendered and on the ground-truth frames, so
  its bias cancels. The synthetic studio ships no detector: there LMD is "n/a" and the studio
  metrics below take its place.
- Studio metrics (``truth`` from ``lokitalk_plugins.data.studio.load_truth``): mouth and eye
  error and the legacy lip-sync score, measured on pixels where the ground truth says the mouth
  and eyes are; and the sync offset and confidence (``metrics.sync``: one fixed mouth window
  placed from the first frame's landmarks, offsets up to 15 frames, fewer on short clips).
  A split's frames are rows ``frame.img_id`` of the truth (the val split is the last frames
  of the folder).
- FPS: frames per second of ``render_frame`` alone (wall clock, including the copy of the
  result to the host; not data loading or metrics), over all frames after one warm-up render.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from tqdm import tqdm

from lokitalk_plugins.metrics import (
    LPIPSMetric,
    eye_openness,
    lmd,
    lmd_eyes,
    mouth_opening,
    psnr,
    ssim,
)
from lokitalk_plugins.metrics.sync import mouth_box, mouth_signal, sync_from_signals

from .eval_report import machine_info, model_size, save_eval

__all__ = ["evaluate", "save_eval", "model_size", "machine_info", "LANDMARK_CHUNK"]

LANDMARK_CHUNK = 16  # frames handed to a landmark detector at once


def _to_image(x: torch.Tensor) -> np.ndarray:
    """A rendered rgb [H, W, 3] (any device/dtype) -> float32 numpy in [0, 1]."""
    return x.detach().to("cpu", torch.float32).clamp(0.0, 1.0).numpy()


def _u8(x: np.ndarray) -> np.ndarray:
    return np.round(x * 255.0).astype(np.uint8)


def _render(system, frame) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    out = system.render_frame(frame)
    rgb = _to_image(out["rgb"])  # the copy to the host waits for the device
    return rgb, time.perf_counter() - start


def _sync_score(m: np.ndarray, jaw: np.ndarray) -> float:
    """Pearson correlation, 0 when either is constant (as ``metrics.lip_sync_score``)."""
    if m.std() < 1e-9 or jaw.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(m, jaw)[0, 1])


@torch.no_grad()
def evaluate(
    system,
    dataset,
    landmarks=None,
    truth=None,
    lpips=None,
    max_frames: int | None = None,
    progress: bool = True,
) -> dict:
    """Render the frames of ``dataset`` and measure them -> a JSON-ready dict.

    system: has ``render_frame(frame) -> {"rgb": [H, W, 3] in [0, 1], ...}``; dataset: frames
    (``FrameSample``: image [H, W, 3] in [0, 1], img_id); landmarks: a ``LandmarkSource``
    (frames [F, H, W, 3] uint8 -> [F, 68, 2] px) or None; truth: studio ``Truth`` or None;
    lpips: None (``LPIPSMetric()``, None without local weights), False (skip), or any
    ``callable(pred, gt) -> float | None`` on [1, H, W, 3]; max_frames: only the first ones.

    Keys: frames, img_ids, psnr, ssim, lpips, lmd, lmd_eyes, mouth_error, eye_error,
    lip_sync (legacy correlation), sync_offset, sync_conf, sync_peak, sync_max_offset,
    sync_curve (None when not measured), per_frame (psnr, ssim lists), fps, render_seconds,
    loop_seconds, size_mb, parameters, machine, notes.
    """
    n = len(dataset) if max_frames is None else min(len(dataset), int(max_frames))
    if n < 1:
        raise ValueError("evaluate needs at least one frame")
    if truth is not None:
        last = max(int(dataset[i].img_id) for i in (0, n - 1))
        if last >= len(truth):
            raise ValueError(
                f"frame img_id {last} but the truth has {len(truth)} frames: is it this folder's?"
            )
    metric = LPIPSMetric() if lpips is None else (lpips or None)
    was_training = getattr(system, "training", None)
    if was_training:
        system.eval()
    try:
        first, _ = _render(system, dataset[0])  # warm-up: caches, kernels, lazy buffers
        box = None
        if truth is not None:  # the sync window: placed once, from the first frame's truth
            ref = truth.landmarks[int(dataset[0].img_id)]
            box = mouth_box(ref, first.shape[0], first.shape[1])
        acc = _accumulate(system, dataset, n, landmarks, truth, metric, progress, box)
    finally:
        if was_training:
            system.train()
    size = model_size(system)
    result = {
        "frames": n,
        "img_ids": acc["img_ids"],
        "psnr": float(np.mean(acc["psnr"])),
        "ssim": float(np.mean(acc["ssim"])),
        "lpips": float(np.mean(acc["lpips"])) if acc["lpips"] else None,
        "lmd": None,
        "lmd_eyes": None,
        "mouth_error": None,
        "eye_error": None,
        "lip_sync": None,
        "sync_offset": None,
        "sync_conf": None,
        "per_frame": {"psnr": acc["psnr"], "ssim": acc["ssim"]},
        "fps": n / acc["render_seconds"] if acc["render_seconds"] > 0 else math.inf,
        "render_seconds": acc["render_seconds"],
        "loop_seconds": acc["loop_seconds"],
        "size_mb": size["size_mb"],
        "parameters": size["parameters"],
        "machine": machine_info(system),
        "notes": {},
    }
    if metric is not None:
        result["lpips_backbone"] = getattr(metric, "backbone_source", None)
    if result["lpips"] is None:
        result["notes"]["lpips"] = "n/a: no local AlexNet trunk weights (see metrics.perceptual)"
    if landmarks is not None:
        pred_lms, gt_lms = np.concatenate(acc["pred_lms"]), np.concatenate(acc["gt_lms"])
        for key, fn in (("lmd", lmd), ("lmd_eyes", lmd_eyes)):
            value = fn(pred_lms, gt_lms)
            result[key] = None if math.isnan(value) else value
        if result["lmd"] is None:  # JSON has no NaN: say why instead
            result["notes"]["lmd"] = "n/a: the landmark detector found no face in any frame"
    else:
        result["notes"]["lmd"] = "n/a: LMD needs a landmark detector (landmarks=...)"
    if truth is not None:
        mp, mg = np.asarray(acc["mouth_pred"]), np.asarray(acc["mouth_gt"])
        ep, eg = np.asarray(acc["eye_pred"]), np.asarray(acc["eye_gt"])
        jaw = np.asarray(truth.jaw, dtype=np.float64)[acc["img_ids"]]
        result["mouth_error"] = float(np.abs(mp - mg).mean())
        result["eye_error"] = float(np.abs(ep - eg).mean())
        result["lip_sync"] = _sync_score(mp, jaw)
        result.update(sync_from_signals(acc["sync_pred"], acc["sync_gt"]))
    return result


def _accumulate(system, dataset, n, landmarks, truth, metric, progress, box) -> dict:
    acc = {k: [] for k in ("img_ids", "psnr", "ssim", "lpips", "pred_lms", "gt_lms",
                           "mouth_pred", "mouth_gt", "eye_pred", "eye_gt", "sync_pred",
                           "sync_gt")}  # fmt: skip
    chunk_pred, chunk_gt = [], []
    render_seconds, start = 0.0, time.perf_counter()

    def flush():
        if chunk_pred:
            acc["pred_lms"].append(np.asarray(landmarks(np.stack(chunk_pred)), np.float64))
            acc["gt_lms"].append(np.asarray(landmarks(np.stack(chunk_gt)), np.float64))
            chunk_pred.clear(), chunk_gt.clear()

    for i in tqdm(range(n), desc="evaluate", unit="frame", disable=not progress):
        frame = dataset[i]
        pred, seconds = _render(system, frame)
        render_seconds += seconds
        gt = _to_image(frame.image)
        acc["img_ids"].append(int(frame.img_id))
        acc["psnr"].append(psnr(pred, gt))
        acc["ssim"].append(ssim(pred, gt))
        if metric is not None:
            value = metric(pred[None], gt[None])
            if value is not None:
                acc["lpips"].append(float(value))
        if landmarks is not None:
            chunk_pred.append(_u8(pred)), chunk_gt.append(_u8(gt))
            if len(chunk_pred) == LANDMARK_CHUNK:
                flush()
        if truth is not None:
            idx = [int(frame.img_id)]
            acc["mouth_pred"].append(float(mouth_opening(pred[None], truth, idx)[0]))
            acc["mouth_gt"].append(float(mouth_opening(gt[None], truth, idx)[0]))
            acc["eye_pred"].append(float(eye_openness(pred[None], truth, idx)[0]))
            acc["eye_gt"].append(float(eye_openness(gt[None], truth, idx)[0]))
            acc["sync_pred"].append(float(mouth_signal(pred[None], box)[0]))
            acc["sync_gt"].append(float(mouth_signal(gt[None], box)[0]))
    if landmarks is not None:
        flush()
    acc["render_seconds"] = render_seconds
    acc["loop_seconds"] = time.perf_counter() - start
    return acc
