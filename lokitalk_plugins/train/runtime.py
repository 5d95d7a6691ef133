"""Device placement of frames, mixed precision (CUDA: bf16 or fp16; CPU: bf16 where the
processor has bfloat16 instructions) and a block's intra-op thread count (``torch_threads``)."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any

import torch

from lokitalk_plugins.errors import OptionError

__all__ = [
    "AMP_MODES", "BF16_CPU_FLAGS", "CPU_AUTO_AMP", "CPU_AUTO_AMP_FROM", "Precision",
    "cpu_bf16_support", "cpu_model", "default_amp_from", "move_to", "system_device",
    "torch_threads",
]  # fmt: skip

AMP_MODES = ("auto", "off", "bf16", "fp16")
# what amp="auto" picks on a CPU: "off" (float32) or "bf16" (taken only where
# cpu_bf16_support() finds the instructions; float32 elsewhere); the one place that default
# is chosen. bf16 since issue 18's measurement: with the first quarter of each stage in
# float32 (CPU_AUTO_AMP_FROM) it trains within 0.2 dB PSNR of float32 on LokiTalk's Table 2
# (O+D+R -0.06 +- 0.06 dB paired over 3 seeds; its rows 1.25-1.5x faster) and the DH-NeRF's
# (+0.00 +- 0.01; 1.05x) (benchmarks/results/CLAIMS.md: bf16_quality_start, bf16_quality_dhnerf)
CPU_AUTO_AMP = "bf16"
# the share of each stage trained in float32 before that autocast when amp="auto" chose bf16
# on a CPU and Trainer.amp_from is not given: bf16 from the first step lost 0.24 dB
CPU_AUTO_AMP_FROM = 0.25
# /proc/cpuinfo flags of bfloat16 matrix / vector instructions (Intel AMX, AVX-512 BF16)
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_bf16_support(cpuinfo: str | Path = "/proc/cpuinfo") -> str | None:
    """The bfloat16 instructions this CPU has: a flag of :data:`BF16_CPU_FLAGS` found in
    ``cpuinfo`` (AMX first), else PyTorch's own capability when it names AMX or BF16
    (``torch.backends.cpu.get_cpu_capability()``), else None."""
    try:
        flags = set(Path(cpuinfo).read_text().split())
    except OSError:
        flags = set()
    for flag in BF16_CPU_FLAGS:
        if flag in flags:
            return flag
    capability = torch.backends.cpu.get_cpu_capability().upper()
    return capability if "AMX" in capability or "BF16" in capability else None


def cpu_model(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """The processor's model name (the first ``model name`` line of ``cpuinfo``), else
    ``platform.processor()`` or the machine type: kernels may round differently on another
    kind of processor, so results record it (on this project's two hosts, an Intel Xeon and
    an AMD EPYC, one-thread training and the 2-thread extractor gave the same weights)."""
    import platform

    try:
        for line in Path(cpuinfo).read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@contextlib.contextmanager
def torch_threads(threads: int | None):
    """Run the block on ``threads`` intra-op threads (``torch.set_num_threads``), the
    process's count restored after; None: the process's count. A float sum split over
    another number of threads rounds differently, so a training run is bit-for-bit the same
    only at the same count (on the same kind of processor)."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def default_amp_from(amp: str | bool, device: torch.device, cpuinfo="/proc/cpuinfo") -> float:
    """``Trainer.amp_from`` where it is not given: :attr:`Precision.default_from` of ``amp``
    on ``device`` (:data:`CPU_AUTO_AMP_FROM` where "auto" chooses bf16 on a CPU, else 0.0:
    every step); an amp other than "auto" (or True) is 0.0 without being checked here."""
    if amp not in ("auto", True):
        return 0.0
    return Precision(amp, device, cpuinfo).default_from


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

    amp: "auto" (CUDA: bf16 autocast where supported, else fp16 with a GradScaler; CPU:
    :data:`CPU_AUTO_AMP` where the CPU has the instructions, after a float32 first
    :data:`CPU_AUTO_AMP_FROM` of each stage unless ``Trainer.amp_from`` is given, float32
    without them; full precision elsewhere), "off", "bf16" (CUDA, or a CPU with
    bfloat16 instructions, see :func:`cpu_bf16_support`; a CPU without them is refused in
    one line) or "fp16" (CUDA only; full precision elsewhere). ``True``/``False`` mean
    "auto"/"off". Weights and optimiser state stay float32 (autocast casts per operation);
    the renderer composites in float32 and the grid tables stay float32.
    cpuinfo: where the CPU's flags are read (tests point it at a file).
    """

    def __init__(self, amp: str | bool, device: torch.device, cpuinfo="/proc/cpuinfo"):
        mode = {True: "auto", False: "off"}.get(amp, amp) if isinstance(amp, bool) else amp
        if mode not in AMP_MODES:
            raise OptionError(f"amp must be one of {AMP_MODES} or a bool, got {amp!r}")
        self.dtype: torch.dtype | None = None
        # the share of a stage in float32 before the autocast where Trainer.amp_from is not
        # given: CPU_AUTO_AMP_FROM when "auto" chose bf16 on a CPU, else 0 (every step)
        self.default_from = 0.0
        if device.type == "cuda" and mode != "off":
            if mode == "bf16" or (mode == "auto" and torch.cuda.is_bf16_supported()):
                self.dtype = torch.bfloat16
            else:
                self.dtype = torch.float16
        elif device.type == "cpu":
            wanted = CPU_AUTO_AMP if mode == "auto" else mode
            support = cpu_bf16_support(cpuinfo) if wanted == "bf16" else None
            if mode == "bf16" and support is None:
                raise OptionError(
                    f"Trainer.amp = 'bf16': this CPU has no bfloat16 instructions "
                    f"({' / '.join(BF16_CPU_FLAGS)} not in {cpuinfo}); use amp = 'off'"
                )
            if support is not None:
                self.dtype = torch.bfloat16
                self.default_from = CPU_AUTO_AMP_FROM if mode == "auto" else 0.0
        self.device = device
        use_scaler = self.dtype == torch.float16
        self.scaler = torch.amp.GradScaler("cuda") if use_scaler else None

    @property
    def name(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    def autocast(self, on: bool = True) -> contextlib.AbstractContextManager:
        """The autocast of this precision (a null context in full precision, or with
        ``on`` False: a float32 step of a precision schedule, ``TrainerConfig.amp_from`` and
        ``amp_until``)."""
        if self.dtype is None or not on:
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
