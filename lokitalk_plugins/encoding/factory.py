"""``get_encoder(name, **kw)``: build an encoder by the originals' names.

Names: ``'hashgrid'`` and ``'tiledgrid'`` (:class:`GridEncoder`), ``'triplane'``
(:class:`TriPlane`), ``'frequency'`` (:class:`FrequencyEncoder`), ``'sphere_harmonics'``
(:class:`SHEncoder`). Every returned module has ``input_dim`` and ``output_dim``.
"""

from __future__ import annotations

import os

from torch import nn

from .frequency import FrequencyEncoder
from .grid import ENV_BACKEND, GridEncoder
from .sh import SHEncoder
from .tcnn import TcnnGridEncoder, tcnn_available
from .triplane import TriPlane

__all__ = ["ENCODER_NAMES", "get_encoder"]

ENCODER_NAMES = ("hashgrid", "tiledgrid", "triplane", "frequency", "sphere_harmonics")


def _wants_tcnn(kw: dict) -> bool:
    backend = kw.get("backend", "auto")
    if backend == "auto":
        return os.environ.get(ENV_BACKEND, "").strip().lower() == "tcnn" and tcnn_available()
    return backend == "tcnn"


def get_encoder(name: str, **kw) -> nn.Module:
    """Build encoder ``name`` from keyword arguments.

    - ``'hashgrid'`` / ``'tiledgrid'``: GridEncoder kwargs (``gridtype`` set by the name);
      ``backend='tcnn'`` (or ``$LOKITALK_ENCODER_BACKEND=tcnn`` with ``'auto'`` on a CUDA
      machine with tinycudann) returns a :class:`TcnnGridEncoder` instead (other weights).
    - ``'triplane'``: TriPlane kwargs (three 2D grids).
    - ``'frequency'``: ``input_dim`` and either ``multires=m`` (the originals' name:
      ``max_freq_log2 = m - 1``, ``n_freqs = m``) or ``max_freq_log2`` and ``n_freqs``.
    - ``'sphere_harmonics'``: ``input_dim=3``, ``degree=4``.
    """
    if name in ("hashgrid", "tiledgrid"):
        kw["gridtype"] = "hash" if name == "hashgrid" else "tiled"
        if _wants_tcnn(kw):
            kw.pop("backend", None)
            return TcnnGridEncoder(**kw)
        return GridEncoder(**kw)
    if name == "triplane":
        return TriPlane(**kw)
    if name == "frequency":
        if "multires" in kw:
            multires = kw.pop("multires")
            kw.setdefault("max_freq_log2", multires - 1)
            kw.setdefault("n_freqs", multires)
        return FrequencyEncoder(**kw)
    if name == "sphere_harmonics":
        return SHEncoder(**kw)
    raise ValueError(f"unknown encoder {name!r}; choose one of {ENCODER_NAMES}")
