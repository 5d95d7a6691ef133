"""Device placement of frames and mixed precision (autocast only on CUDA)."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import torch

__all__ = ["AMP_MODES", "system_device", "move_to", "Precision"]

AMP_MODES = ("auto", "off", "bf16", "fp16")


def system_device(system: torch.nn.Module) -> torch.device:
    """The device of the system's first parameter or buffer (CPU when it has none)."""
    for t in list(system.parameters()) + list(system.buffers()):
        return t.device
    return torch.device("cpu")


def move_to(obj: Any, device: torch.device) -> Any:
    """Tensors inside ``obj`` (tensor, dict, list, tuple, dataclass) moved to ``device``."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, dict):
        return {k: move_to(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_fields"):
        return type(obj)(move_to(v, device) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {
            f.name: move_to(getattr(obj, f.name), device) for f in dataclasses.fields(obj) if f.init
        }
        return dataclasses.replace(obj, **changes)
    return obj


class Precision:
    """Mixed precision for one device.

    amp: "auto" (bf16 autocast where CUDA supports it, else fp16 with a GradScaler; full
    precision on CPU and other devices), "off", "bf16" or "fp16" (these two need CUDA; on
    other devices they fall back to full precision). ``True``/``False`` mean "auto"/"off".
    """

    def __init__(self, amp: str | bool, device: torch.device):
        mode = {True: "auto", False: "off"}.get(amp, amp) if isinstance(amp, bool) else amp
        if mode not in AMP_MODES:
            raise ValueError(f"amp must be one of {AMP_MODES} or a bool, got {amp!r}")
        self.dtype: torch.dtype | None = None
        if device.type == "cuda" and mode != "off":
            if mode == "bf16" or (mode == "auto" and torch.cuda.is_bf16_supported()):
                self.dtype = torch.bfloat16
            else:
                self.dtype = torch.float16
        self.device = device
        use_scaler = self.dtype == torch.float16
        self.scaler = torch.amp.GradScaler("cuda") if use_scaler else None

    @property
    def name(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def backward_and_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """loss.backward() and optimizer.step(), through the GradScaler for fp16."""
        if self.scaler is None:
            loss.backward()
            optimizer.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(optimizer)
            self.scaler.update()

    def state_dict(self) -> dict:
        return {} if self.scaler is None else self.scaler.state_dict()

    def load_state_dict(self, state: dict) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)
