"""What an evaluation reports beside its metrics (model size, machine) and how it is saved.

``save_eval`` writes the result as JSON (non-finite floats, e.g. the infinite PSNR of a
perfect frame, become the strings "inf", "-inf", "nan", so any JSON reader accepts the file)
and as a small markdown table where a metric that was not measured reads "n/a".
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from pathlib import Path

import torch

from lokitalk_plugins.metrics import format_metric
from lokitalk_plugins.train.runtime import cpu_model

__all__ = ["model_size", "machine_info", "save_eval", "jsonable", "markdown_table", "ROWS"]

# (key, label, digits) of the markdown table, in order
ROWS = (
    ("psnr", "PSNR (dB) ↑", 3),
    ("ssim", "SSIM ↑", 4),
    ("lpips", "LPIPS (AlexNet) ↓", 4),
    ("lmd", "LMD (px) ↓", 3),
    ("lmd_eyes", "LMD-E (px) ↓", 3),
    ("mouth_error", "studio mouth error (px) ↓", 3),
    ("eye_error", "studio eye error (px) ↓", 3),
    ("sync_conf", "sync confidence (peak - median) ↑", 3),
    ("sync_offset", "sync offset (frames, 0 = in sync)", 0),
    ("lip_sync", "legacy studio lip sync (r)", 3),
    ("fps", "render FPS ↑", 2),
    ("size_mb", "model size (MB)", 2),
)


def model_size(system) -> dict:
    """Parameters and buffers of a module: {"parameters": count of parameter elements,
    "buffers": count of buffer elements, "bytes": their storage, "size_mb": bytes / 2**20}.

    Shared tensors count once; an object that is not an ``nn.Module`` has size 0.
    """
    params = list(system.parameters()) if hasattr(system, "parameters") else []
    buffers = list(system.buffers()) if hasattr(system, "buffers") else []
    nbytes = sum(t.numel() * t.element_size() for t in params + buffers)
    return {
        "parameters": sum(p.numel() for p in params),
        "buffers": sum(b.numel() for b in buffers),
        "bytes": nbytes,
        "size_mb": nbytes / 2**20,
    }


def machine_info(system=None) -> dict:
    """Where the numbers were measured: platform, CPU count, torch version and threads,
    Python version, and the device of the system's first parameter (or "cpu")."""
    device = "cpu"
    if system is not None and hasattr(system, "parameters"):
        first = next(iter(system.parameters()), None)
        if first is not None:
            device = str(first.device)
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": device,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def jsonable(value):
    """Nested dicts/lists/tuples of numbers and strings -> the same with non-finite floats as
    strings ("inf", "-inf", "nan") and numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def markdown_table(result: dict) -> str:
    """The headline metrics of an ``evaluate`` result as a markdown table (+ machine line)."""
    lines = ["| metric | value |", "|---|---|"]
    for key, label, digits in ROWS:
        value = result.get(key)
        if isinstance(value, float) and math.isinf(value):
            text = "inf"
        else:
            text = format_metric(None if value is None else float(value), digits)
        lines.append(f"| {label} | {text} |")
    lines.append(f"| parameters | {result.get('parameters', 0):,} |")
    lines.append(f"| frames | {result.get('frames', 0)} |")
    m = result.get("machine", {})
    lines.append("")
    lines.append(
        f"Measured on {m.get('platform', '?')}, {m.get('cpu_count', '?')} CPUs, "
        f"torch {m.get('torch', '?')} ({m.get('torch_threads', '?')} threads), "
        f"device {m.get('device', '?')}."
    )
    for key, note in result.get("notes", {}).items():
        lines.append(f"- {key}: {note}")
    return "\n".join(lines) + "\n"


def save_eval(result: dict, path_json, path_md=None) -> tuple[Path, Path | None]:
    """Write ``result`` as JSON (indent 1, sorted keys) and, if ``path_md``, the markdown
    table; parent folders are created. Returns the paths written."""
    path_json = Path(path_json)
    path_json.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(jsonable(result), indent=1, sort_keys=True, allow_nan=False)
    path_json.write_text(text + "\n")
    if path_md is None:
        return path_json, None
    path_md = Path(path_md)
    path_md.parent.mkdir(parents=True, exist_ok=True)
    path_md.write_text(markdown_table(result))
    return path_json, path_md
