"""Volume compositing of packed samples (emission-absorption model).

For sample i of a ray: tau_i = sigma_i * delta_i, alpha_i = 1 - exp(-tau_i),
T_i = exp(-(tau_0 + sum_{j < i} tau_j)) (exclusive; tau_0 is an optional optical depth already
crossed), w_i = T_i * alpha_i. Per ray: weights_sum = sum w_i, depth = sum w_i t_i and, for
each named value v, sum w_i v_i. With ``stop_transmittance`` (1e-4 in inference), samples
whose T_i is below it get zero weight, so a ray loses at most that much of its composite.
Image = rgb + (1 - weights_sum) * bg.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .segments import segment_exclusive_cumsum, segment_sum

__all__ = ["Composite", "composite", "composite_background"]


@dataclass
class Composite:
    """weights: [S]; weights_sum, depth, optical_depth: [R]; sums: name -> [R] or [R, C].

    optical_depth is the total optical depth crossed by the composited samples (plus the
    starting one); exp(-optical_depth) is the transmittance left after them.
    """

    weights: torch.Tensor
    weights_sum: torch.Tensor
    depth: torch.Tensor
    optical_depth: torch.Tensor
    sums: dict[str, torch.Tensor] = field(default_factory=dict)


def composite(
    sigmas: torch.Tensor,
    deltas: torch.Tensor,
    ts: torch.Tensor,
    ray_indices: torch.Tensor,
    num_rays: int,
    values: dict[str, torch.Tensor] | None = None,
    *,
    indptr: torch.Tensor | None = None,
    backend: str = "auto",
    optical_depth0: torch.Tensor | None = None,
    stop_transmittance: float | None = None,
) -> Composite:
    """Composite packed samples along their rays.

    sigmas, deltas, ts: [S] (sigma >= 0); ray_indices: [S] int64 sorted in [0, R);
    num_rays: R; values: name -> [S] or [S, C] per-sample quantities to weight-sum per ray
    (e.g. "color" [S, 3], deformation magnitudes, attention scores); indptr: [R + 1] CSR offsets
    (computed when None); backend: see :mod:`lokitalk_plugins.render.segments`;
    optical_depth0: [R] optical depth before the first sample (chunked marching);
    stop_transmittance: early-stop threshold (samples with T_i below it contribute zero).
    Differentiable w.r.t. sigmas and values. Always float32 or wider: half-precision inputs
    (a field run under autocast) are cast up and autocast is off inside, so alpha,
    transmittance and the cumulative sums never round to bfloat16.
    """
    with torch.autocast(sigmas.device.type, enabled=False):
        values = {k: _wide(v) for k, v in (values or {}).items()}
        return _composite(_wide(sigmas), deltas, ts, ray_indices, num_rays, values, indptr,
                          backend, optical_depth0, stop_transmittance)  # fmt: skip


def _wide(t: torch.Tensor) -> torch.Tensor:
    """float16 / bfloat16 -> float32; other tensors unchanged."""
    return t.float() if t.is_floating_point() and t.element_size() < 4 else t


def _composite(sigmas, deltas, ts, ray_indices, num_rays, values, indptr, backend,
               optical_depth0, stop_transmittance) -> Composite:  # fmt: skip
    if indptr is None:
        counts = torch.bincount(ray_indices, minlength=num_rays)
        indptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
    tau = sigmas * deltas
    before = segment_exclusive_cumsum(tau, ray_indices, indptr, num_rays)
    if optical_depth0 is not None:
        before = before + optical_depth0[ray_indices]
    trans = torch.exp(-before)
    alpha = -torch.expm1(-tau)
    weights = trans * alpha
    if stop_transmittance is not None:
        alive = trans >= stop_transmittance
        weights = torch.where(alive, weights, torch.zeros_like(weights))
        tau = torch.where(alive, tau, torch.zeros_like(tau))

    def reduce(v: torch.Tensor) -> torch.Tensor:
        return segment_sum(v, ray_indices, indptr, num_rays, backend)

    sums = {}
    for name, v in (values or {}).items():
        w = weights if v.dim() == 1 else weights[:, None]
        sums[name] = reduce(w * v)
    depth_in = optical_depth0 if optical_depth0 is not None else tau.new_zeros(num_rays)
    return Composite(
        weights=weights,
        weights_sum=reduce(weights),
        depth=reduce(weights * ts),
        optical_depth=depth_in + reduce(tau).detach(),
        sums=sums,
    )


def composite_background(
    rgb: torch.Tensor, weights_sum: torch.Tensor, bg: torch.Tensor | float | None
) -> torch.Tensor:
    """Image = rgb + (1 - weights_sum) * bg.

    rgb: [..., 3] premultiplied head colour; weights_sum: [...]; bg: broadcastable to rgb
    ([..., 3], [3] or a scalar), None for no background (black).
    """
    if bg is None:
        return rgb
    bg = torch.as_tensor(bg, dtype=rgb.dtype, device=rgb.device)
    return rgb + (1.0 - weights_sum)[..., None] * bg
