"""Segmented (per-ray) reductions over packed samples, with interchangeable backends.

Backends: ``"torch_scatter"`` (``segment_csr``; optional extra ``lokitalk-plugins[scatter]``),
``"index_add"`` (native ``Tensor.index_add``), ``"segment_reduce"`` (native
``torch.segment_reduce``). ``"auto"`` picks torch_scatter when it imports, else index_add.
All are differentiable and agree to rounding (parity tests in tests/render).
"""

from __future__ import annotations

import functools

import torch

__all__ = [
    "BACKENDS",
    "has_torch_scatter",
    "resolve_backend",
    "segment_exclusive_cumsum",
    "segment_sum",
]

BACKENDS = ("auto", "torch_scatter", "index_add", "segment_reduce")


@functools.lru_cache(maxsize=1)
def has_torch_scatter() -> bool:
    """True when the optional torch_scatter extension imports."""
    try:
        import torch_scatter  # noqa: F401
    except Exception:  # ImportError, or a binary built for another torch (OSError)
        return False
    return True


def resolve_backend(backend: str = "auto") -> str:
    """Map a backend name (see ``BACKENDS``) to the one that will run."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown segment backend {backend!r}; choose one of {BACKENDS}")
    if backend == "auto":
        return "torch_scatter" if has_torch_scatter() else "index_add"
    if backend == "torch_scatter" and not has_torch_scatter():
        raise ImportError(
            "segment backend 'torch_scatter' requested but torch_scatter is not importable; "
            "install the extra `pip install lokitalk-plugins[scatter]` or use backend='auto'"
        )
    return backend


def segment_sum(
    values: torch.Tensor,
    ray_indices: torch.Tensor,
    indptr: torch.Tensor,
    num_rays: int,
    backend: str = "auto",
) -> torch.Tensor:
    """Per-ray sums of packed values.

    values: [S] or [S, C]; ray_indices: [S] int64 sorted; indptr: [R + 1] CSR offsets
    (consistent with ray_indices); num_rays: R. Returns [R] or [R, C] (zero for empty rays).
    """
    backend = resolve_backend(backend)
    if backend == "torch_scatter":
        from torch_scatter import segment_csr

        return segment_csr(values, indptr, reduce="sum")
    if backend == "segment_reduce":
        lengths = indptr[1:] - indptr[:-1]
        return torch.segment_reduce(values, "sum", lengths=lengths, axis=0)
    out = values.new_zeros((num_rays,) + tuple(values.shape[1:]))
    return out.index_add(0, ray_indices, values)


def segment_exclusive_cumsum(
    values: torch.Tensor, ray_indices: torch.Tensor, indptr: torch.Tensor, num_rays: int
) -> torch.Tensor:
    """Exclusive cumulative sum within each ray: out[i] = sum of values before i on its ray.

    values: [S]; ray_indices: [S] int64 sorted; indptr: [R + 1]. Returns [S].
    Computed on a zero-padded [R, max samples per ray] layout, so each ray's sum starts from
    zero (no cancellation against other rays, unlike a global cumsum minus offsets).
    """
    S = values.shape[0]
    if S == 0:
        return values.clone()
    pos = torch.arange(S, device=values.device) - indptr[ray_indices]
    width = int((indptr[1:] - indptr[:-1]).max())
    padded = values.new_zeros(num_rays, width).index_put((ray_indices, pos), values)
    inclusive = padded.cumsum(dim=1)
    exclusive = torch.cat([inclusive.new_zeros(num_rays, 1), inclusive[:, :-1]], dim=1)
    return exclusive[ray_indices, pos]
