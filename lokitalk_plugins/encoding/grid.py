"""Multi-resolution grid encoder (hash or tiled), layout-compatible with RAD-NeRF / ER-NeRF.

State dict keys are exactly ``embeddings`` [total, level_dim] and ``offsets`` (int32 [L + 1]),
so a ``gridencoder`` module of an original checkpoint loads with ``strict=True``.

Backends: ``'torch'`` (pure-PyTorch reference), ``'cpp'`` (fused CPU kernel, JIT-built once
per process; falls back to ``'torch'`` with one warning if it cannot be built, and is used
only for CPU float32/float64 tensors), ``'auto'`` (``cpp`` for CPU tensors when it builds,
else ``torch``).
With ``backend='auto'`` the environment variable ``LOKITALK_ENCODER_BACKEND`` (``torch``,
``cpp`` or ``auto``) decides. tiny-cuda-nn has its own module, :class:`TcnnGridEncoder`
(different layout and hash, weights not interchangeable).
"""

from __future__ import annotations

import os

import torch
from torch import nn

from .grid_cpp import grid_encode_cpp, load_kernel
from .grid_layout import INTERPOLATIONS, grid_layout
from .grid_torch import grid_encode_torch

__all__ = ["BACKENDS", "ENV_BACKEND", "GridEncoder", "resolve_backend"]

BACKENDS = ("auto", "torch", "cpp")
ENV_BACKEND = "LOKITALK_ENCODER_BACKEND"


def resolve_backend(backend: str, device: torch.device) -> str:
    """The backend that will actually run for tensors on ``device``: ``'torch'`` or ``'cpp'``.

    ``'auto'`` defers to ``$LOKITALK_ENCODER_BACKEND`` if set. ``'cpp'`` needs a CPU device
    and a successful build, else the reference runs (a failed build warns once per process).
    """
    if backend == "auto":
        backend = os.environ.get(ENV_BACKEND, "auto").strip().lower() or "auto"
        if backend not in BACKENDS:
            raise ValueError(f"${ENV_BACKEND} must be one of {BACKENDS}, got {backend!r}")
    if backend not in BACKENDS:
        raise ValueError(
            f"backend must be one of {BACKENDS}, got {backend!r} (for tiny-cuda-nn use "
            f"TcnnGridEncoder or get_encoder(..., backend='tcnn'))"
        )
    if backend == "torch" or device.type != "cpu":
        return "torch"
    return "cpp" if load_kernel() is not None else "torch"


class GridEncoder(nn.Module):
    """Multi-resolution grid encoding of points in a box.

    Args:
        input_dim: D in {1, 2, 3}.
        num_levels: L. level_dim: C features per level.
        per_level_scale: growth s between levels (ignored if ``desired_resolution`` is set).
        base_resolution: coarsest resolution. log2_hashmap_size: log2 of the per-level cap.
        desired_resolution: finest resolution; sets ``s = 2**(log2(finest/base)/(L-1))``.
        gridtype: ``'hash'`` (hash levels too big for a dense table) or ``'tiled'`` (never hash).
        align_corners: grid nodes at cell corners (no +0.5 shift, ``res**D`` entries).
        interpolation: ``'linear'`` or ``'smoothstep'``. bound: box half-size.
        backend: ``'auto'``, ``'torch'`` or ``'cpp'`` (see module docstring).

    forward(x: [..., D] in [-bound, bound], bound=None) -> [..., L * C], level-major within a
    point. A point with any coordinate outside the box encodes to zeros (zero gradients too).
    """

    def __init__(
        self,
        input_dim: int = 3,
        num_levels: int = 16,
        level_dim: int = 2,
        per_level_scale: float = 2,
        base_resolution: int = 16,
        log2_hashmap_size: int = 19,
        desired_resolution: float | None = None,
        gridtype: str = "hash",
        align_corners: bool = False,
        interpolation: str = "linear",
        bound: float = 1.0,
        backend: str = "auto",
    ):
        super().__init__()
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {INTERPOLATIONS}")
        if backend not in BACKENDS:
            resolve_backend(backend, torch.device("cpu"))  # raises the explanatory error
        self.layout = grid_layout(
            input_dim=input_dim,
            num_levels=num_levels,
            level_dim=level_dim,
            per_level_scale=per_level_scale,
            base_resolution=base_resolution,
            log2_hashmap_size=log2_hashmap_size,
            desired_resolution=desired_resolution,
            gridtype=gridtype,
            align_corners=align_corners,
        )
        self.input_dim, self.num_levels, self.level_dim = input_dim, num_levels, level_dim
        self.per_level_scale = self.layout.per_level_scale
        self.base_resolution, self.log2_hashmap_size = base_resolution, log2_hashmap_size
        self.desired_resolution, self.gridtype = desired_resolution, gridtype
        self.align_corners, self.interpolation = align_corners, interpolation
        self.bound, self.backend = float(bound), backend
        self.output_dim = num_levels * level_dim
        self.embeddings = nn.Parameter(torch.empty(self.layout.total, level_dim))
        self.register_buffer("offsets", torch.tensor(self.layout.offsets, dtype=torch.int32))
        self.reset_parameters()
        self.register_load_state_dict_post_hook(_check_offsets)

    def reset_parameters(self, std: float = 1e-4) -> None:
        """Uniform(-std, std) initialisation of the table (the originals' 1e-4)."""
        with torch.no_grad():
            self.embeddings.uniform_(-std, std)

    def active_backend(self, device: torch.device | None = None) -> str:
        """``'torch'`` or ``'cpp'``: what forward runs for tensors on ``device``."""
        return resolve_backend(self.backend, device or self.embeddings.device)

    def forward(self, x: torch.Tensor, bound: float | None = None) -> torch.Tensor:
        """x: [..., D] in [-bound, bound] -> [..., L * C] (zeros outside the box)."""
        b = self.bound if bound is None else float(bound)
        lead = x.shape[:-1]
        u = (x.reshape(-1, self.input_dim) + b) / (2 * b)
        fused_dtype = self.embeddings.dtype in (torch.float32, torch.float64)
        if fused_dtype and self.active_backend(u.device) == "cpp":
            out = grid_encode_cpp(u, self.embeddings, self.layout, self.interpolation)
        else:
            out = grid_encode_torch(u, self.embeddings, self.layout, self.interpolation)
        return out.reshape(*lead, self.output_dim)

    def extra_repr(self) -> str:
        return (
            f"input_dim={self.input_dim}, num_levels={self.num_levels}, "
            f"level_dim={self.level_dim}, base_resolution={self.base_resolution}, "
            f"per_level_scale={self.per_level_scale:.4f}, "
            f"log2_hashmap_size={self.log2_hashmap_size}, gridtype={self.gridtype}, "
            f"params={tuple(self.embeddings.shape)}, backend={self.backend}"
        )


def _check_offsets(module: GridEncoder, incompatible_keys) -> None:
    """After loading a state dict, the stored offsets must match this encoder's layout."""
    loaded = [int(v) for v in module.offsets.tolist()]
    if loaded != list(module.layout.offsets):
        raise ValueError(
            f"loaded grid offsets {loaded} do not match this encoder's layout "
            f"{list(module.layout.offsets)}: check levels, resolutions and table size"
        )
