"""tiny-cuda-nn grid encoding on CUDA (optional accelerator).

Install on a CUDA machine (needs nvcc and a matching PyTorch)::

    pip install git+https://github.com/NVlabs/tiny-cuda-nn/#subdirectory=bindings/torch

:class:`TcnnGridEncoder` maps the same hyper-parameters as :class:`GridEncoder` (levels,
features per level, base resolution, per-level scale, table size, hash or tiled) onto a
tiny-cuda-nn ``Grid`` encoding. Its hash function, per-level layout and parameter storage
(one flat ``params`` vector) differ from the originals' ``gridencoder``, so weights are NOT
interchangeable with :class:`GridEncoder` or with RAD-NeRF / ER-NeRF checkpoints: use it to
train new models fast on a GPU, not to load original checkpoints. Points outside the box
encode to zeros, as with :class:`GridEncoder`.
"""

from __future__ import annotations

import importlib.util

import torch
from torch import nn

from .grid_layout import per_level_scale_for

__all__ = ["TcnnGridEncoder", "tcnn_available", "tcnn_grid_config"]


def tcnn_available() -> bool:
    """True when ``tinycudann`` is importable and a CUDA device is present."""
    return torch.cuda.is_available() and importlib.util.find_spec("tinycudann") is not None


def tcnn_grid_config(
    num_levels: int = 16,
    level_dim: int = 2,
    per_level_scale: float = 2.0,
    base_resolution: int = 16,
    log2_hashmap_size: int = 19,
    desired_resolution: float | None = None,
    gridtype: str = "hash",
    interpolation: str = "linear",
) -> dict:
    """tiny-cuda-nn encoding config with the same levels/features/base/scale/table size.

    ``gridtype='hash'`` -> ``{"otype": "Grid", "type": "Hash", ...}``; ``'tiled'`` ->
    ``"type": "Tiled"``. ``desired_resolution`` sets ``per_level_scale`` as in GridEncoder.
    """
    if gridtype not in ("hash", "tiled"):
        raise ValueError(f"gridtype must be 'hash' or 'tiled', got {gridtype!r}")
    if level_dim not in (1, 2, 4, 8):
        raise ValueError("tiny-cuda-nn grids need 1, 2, 4 or 8 features per level")
    if desired_resolution is not None:
        per_level_scale = per_level_scale_for(num_levels, base_resolution, desired_resolution)
    return {
        "otype": "Grid",
        "type": "Hash" if gridtype == "hash" else "Tiled",
        "n_levels": int(num_levels),
        "n_features_per_level": int(level_dim),
        "log2_hashmap_size": int(log2_hashmap_size),
        "base_resolution": int(base_resolution),
        "per_level_scale": float(per_level_scale),
        "interpolation": "Smoothstep" if interpolation == "smoothstep" else "Linear",
    }


class TcnnGridEncoder(nn.Module):
    """Grid encoder backed by tiny-cuda-nn (CUDA only; see module docstring).

    forward(x: [..., D] in [-bound, bound], bound=None) -> [..., L * C] float32.
    """

    def __init__(
        self,
        input_dim: int = 3,
        num_levels: int = 16,
        level_dim: int = 2,
        per_level_scale: float = 2.0,
        base_resolution: int = 16,
        log2_hashmap_size: int = 19,
        desired_resolution: float | None = None,
        gridtype: str = "hash",
        interpolation: str = "linear",
        bound: float = 1.0,
        **_ignored,
    ):
        super().__init__()
        if not tcnn_available():
            raise RuntimeError(
                "tiny-cuda-nn needs a CUDA device and the tinycudann package: pip install "
                "git+https://github.com/NVlabs/tiny-cuda-nn/#subdirectory=bindings/torch"
            )
        import tinycudann

        self.config = tcnn_grid_config(
            num_levels,
            level_dim,
            per_level_scale,
            base_resolution,
            log2_hashmap_size,
            desired_resolution,
            gridtype,
            interpolation,
        )
        self.input_dim, self.bound = input_dim, float(bound)
        self.output_dim = num_levels * level_dim
        self.encoding = tinycudann.Encoding(input_dim, self.config)

    def forward(self, x: torch.Tensor, bound: float | None = None) -> torch.Tensor:
        """x: [..., D] -> [..., L * C] (zeros outside the box)."""
        b = self.bound if bound is None else float(bound)
        lead = x.shape[:-1]
        u = (x.reshape(-1, self.input_dim) + b) / (2 * b)
        inside = ((u >= 0) & (u <= 1)).all(dim=-1, keepdim=True)
        out = self.encoding(u.clamp(0, 1)).float() * inside
        return out.reshape(*lead, self.output_dim)
