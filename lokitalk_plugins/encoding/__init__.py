"""Grid encoders (hash, tiled, tri-plane), frequency and spherical-harmonics encodings.

- :class:`GridEncoder`: multi-resolution hash/tiled grid, layout-compatible with the
  RAD-NeRF / ER-NeRF checkpoints, with a pure-PyTorch reference backend and a fused C++ CPU
  kernel (JIT-built once per process, falls back to the reference with one warning).
- :class:`TriPlane` / :func:`triplane_project`: three 2D grids (xy, yz, xz), as in ER-NeRF.
- :class:`FrequencyEncoder`, :class:`SHEncoder`, :class:`TcnnGridEncoder` (tiny-cuda-nn).
- :func:`get_encoder`: factory by the originals' names.
"""

from .factory import ENCODER_NAMES, get_encoder
from .frequency import FrequencyEncoder
from .grid import BACKENDS, ENV_BACKEND, GridEncoder, resolve_backend
from .grid_cpp import grid_encode_cpp, kernel_available, load_kernel
from .grid_layout import GridLayout, grid_layout, per_level_scale_for
from .grid_torch import HASH_PRIMES, corner_indices, grid_encode_torch
from .sh import SHEncoder, sh_basis
from .tcnn import TcnnGridEncoder, tcnn_available, tcnn_grid_config
from .triplane import PLANES, TriPlane, triplane_project

__all__ = [
    "BACKENDS",
    "ENCODER_NAMES",
    "ENV_BACKEND",
    "HASH_PRIMES",
    "PLANES",
    "FrequencyEncoder",
    "GridEncoder",
    "GridLayout",
    "SHEncoder",
    "TcnnGridEncoder",
    "TriPlane",
    "corner_indices",
    "get_encoder",
    "grid_encode_cpp",
    "grid_encode_torch",
    "grid_layout",
    "kernel_available",
    "load_kernel",
    "per_level_scale_for",
    "resolve_backend",
    "sh_basis",
    "tcnn_available",
    "tcnn_grid_config",
    "triplane_project",
]
