"""The volume renderer: rays -> occupancy-skipping samples -> field -> composite -> image.

A field is any callable ``field(xyzs [S, 3], dirs [S, 3]) -> dict(sigma=[S], color=[S, 3],
**extras)``; per-frame conditioning (audio, eye, codes) is bound by the caller (closure or
``functools.partial``). Training marches every ray at once, keeping at most ``max_samples``
occupied samples a ray (jittered with ``perturb``). Inference marches ``inference_steps``
segments of the still-alive rays per round, composites them on top of what the ray already
crossed, and drops a ray once its transmittance falls below ``stop_transmittance`` (1e-4), it
reaches its far distance or (``cap_inference``, the default) it has used its ``max_samples``
occupied samples. The cap at inference is the originals' (their ``max_steps``, 16, bounds the
inference march as well as the training one) and keeps what is rendered what was trained: a
field is fitted on the first ``max_samples`` occupied samples of each ray, and the density
behind them, which no training ray reached, would otherwise show through wherever the grid
holds more occupied cells in front of the surface than the cap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from .buckets import call_padded, padding_wanted
from .composite import composite, composite_background
from .rays import near_far_from_aabb
from .sampling import DEFAULT_STEP, PackedSamples, march_rays

__all__ = ["CUT_SHORT_ALPHA", "Field", "RenderResult", "VolumeRenderer"]

# a ray cut by the cap with its accumulated alpha below this counts as cut short
CUT_SHORT_ALPHA = 0.95

Field = Callable[[torch.Tensor, torch.Tensor], dict]


@dataclass
class RenderResult:
    """Per-ray (or per-pixel, [H, W, ...]) render outputs.

    rgb: [R, 3] image (head composited over bg; the bare premultiplied head when bg is None);
    depth: [R] sum of w t; weights_sum: [R] accumulated alpha; extras: name -> [R] or [R, C]
    weighted sums of the requested per-sample field outputs; weights: packed [S] and samples:
    :class:`PackedSamples` (training only, for losses that need them).
    """

    rgb: torch.Tensor
    depth: torch.Tensor
    weights_sum: torch.Tensor
    extras: dict[str, torch.Tensor] = field(default_factory=dict)
    weights: torch.Tensor | None = None
    samples: PackedSamples | None = None

    def cut_short(self, opaque: float = CUT_SHORT_ALPHA) -> torch.Tensor | None:
        """[R] bool: the rays whose march the cap of occupied samples cut while their
        accumulated alpha stayed below ``opaque`` (the field was trained on samples in front of
        where those rays would have turned opaque); None without a capped training march."""
        if self.samples is None or self.samples.cut is None:
            return None
        return self.samples.cut & (self.weights_sum.detach() < opaque)


def _sigma(out: dict) -> torch.Tensor:
    return out["sigma"].reshape(-1)


class VolumeRenderer:
    """Renders rays through a field with an occupancy grid (a plain object: owns no weights).

    grid: an :class:`~lokitalk_plugins.render.grid.OccupancyGrid` (or anything with
    ``query`` and, when aabb is None, ``aabb_train``/``aabb_infer``); field: default field;
    aabb: [6] box overriding the grid's; step: marching step (2 sqrt(3) / 128 for a 128^3 grid);
    min_near: 0.05; max_samples: occupied samples per ray in training (16); cap_inference:
    the same cap at inference (True, the originals'; False marches every ray to its far
    distance); stop_transmittance: 1e-4; inference_steps: segments per inference round;
    backend: segment-sum backend; pad_samples: "auto" (the field is called on the samples
    padded to a bucket size under CPU bfloat16 autocast, or when the field says it runs
    bfloat16 products inside by ``field.runs_bfloat16 = True``; see :mod:`.buckets`), "on",
    "off".
    """

    def __init__(
        self,
        grid,
        field: Field | None = None,
        aabb=None,
        step: float = DEFAULT_STEP,
        min_near: float = 0.05,
        max_samples: int = 16,
        stop_transmittance: float = 1e-4,
        inference_steps: int = 32,
        backend: str = "auto",
        cap_inference: bool = True,
        pad_samples: str = "auto",
    ):
        self.grid, self.field, self.aabb = grid, field, aabb
        self.step, self.min_near = float(step), float(min_near)
        self.max_samples, self.stop_transmittance = max_samples, float(stop_transmittance)
        self.inference_steps, self.backend = int(inference_steps), backend
        self.cap_inference = bool(cap_inference)
        padding_wanted(pad_samples)  # checks the name
        self.pad_samples = pad_samples

    def _evaluate(self, field, xyzs: torch.Tensor, dirs: torch.Tensor) -> dict:
        """field(xyzs, dirs), through :func:`.buckets.call_padded` when padding is wanted."""
        inside = getattr(field, "runs_bfloat16", False)
        if padding_wanted(self.pad_samples, xyzs.device, inside):
            return call_padded(field, xyzs, dirs)
        return field(xyzs, dirs)

    def _near_far(self, rays_o, rays_d, training: bool):
        aabb = self.aabb
        if aabb is None:
            aabb = self.grid.aabb_train if training else self.grid.aabb_infer
        return near_far_from_aabb(rays_o, rays_d, aabb, self.min_near)

    def _field(self, field):
        field = field if field is not None else self.field
        if field is None:
            raise ValueError("no field: pass field= here or to VolumeRenderer(...)")
        return field

    def render_rays(
        self,
        rays_o: torch.Tensor,
        rays_d: torch.Tensor,
        bg=None,
        training: bool = True,
        max_samples: int | None = None,
        perturb: bool = True,
        extras: Sequence[str] = (),
        field: Field | None = None,
    ) -> RenderResult:
        """rays_o, rays_d: [R, 3] (unit directions); bg: [R, 3], [3], scalar or None;
        training: capped, jittered marching with gradients (else early-stopped rounds);
        max_samples: training cap (None: the renderer's); perturb: jitter (training only);
        extras: names of per-sample field outputs to weight-sum per ray.
        """
        field = self._field(field)
        near, far = self._near_far(rays_o, rays_d, training)
        if not training:
            return self._render_inference(field, rays_o, rays_d, near, far, bg, extras)
        cap = self.max_samples if max_samples is None else max_samples
        s = march_rays(self.grid, rays_o, rays_d, near, far, self.step, cap, perturb)
        out = self._evaluate(field, s.xyzs, s.dirs)
        values = {"color": out["color"]} | {k: _require(out, k) for k in extras}
        comp = composite(
            _sigma(out), s.deltas, s.ts, s.ray_indices, s.num_rays, values, backend=self.backend
        )
        return RenderResult(
            rgb=composite_background(comp.sums.pop("color"), comp.weights_sum, bg),
            depth=comp.depth,
            weights_sum=comp.weights_sum,
            extras=comp.sums,
            weights=comp.weights,
            samples=s,
        )

    def _render_inference(self, field, rays_o, rays_d, near, far, bg, extras) -> RenderResult:
        R = rays_o.shape[0]
        optical = rays_o.new_zeros(R)
        sums: dict[str, torch.Tensor] = {}
        alive = torch.arange(R, device=rays_o.device)
        cap = self.max_samples if self.cap_inference else None
        used = torch.zeros(R, dtype=torch.long, device=rays_o.device)
        k0 = 0
        while alive.numel():
            o, d, n, f = rays_o[alive], rays_d[alive], near[alive], far[alive]
            budget = None if cap is None else cap - used[alive]
            s = march_rays(self.grid, o, d, n, f, self.step, budget, False, k0,
                           self.inference_steps)  # fmt: skip
            if s.num_samples:
                out = self._evaluate(field, s.xyzs, s.dirs)
                values = {"color": out["color"]} | {k: _require(out, k) for k in extras}
                comp = composite(
                    _sigma(out), s.deltas, s.ts, s.ray_indices, s.num_rays, values,
                    backend=self.backend, optical_depth0=optical[alive],
                    stop_transmittance=self.stop_transmittance,
                )  # fmt: skip
                per_ray = dict(comp.sums, _depth=comp.depth, _alpha=comp.weights_sum)
                for name, v in per_ray.items():
                    acc = sums.setdefault(name, v.new_zeros((R,) + tuple(v.shape[1:])))
                    acc.index_add_(0, alive, v)
                optical[alive] = comp.optical_depth
                used[alive] += s.counts()
            k0 += self.inference_steps
            done = (n + k0 * self.step >= f) | (
                torch.exp(-optical[alive]) < self.stop_transmittance
            )
            if cap is not None:
                done |= used[alive] >= cap
            alive = alive[~done]
        zeros = rays_o.new_zeros(R)
        rgb = sums.pop("color", rays_o.new_zeros(R, 3))
        wsum, depth = sums.pop("_alpha", zeros), sums.pop("_depth", zeros)
        ext = {k: sums.get(k, zeros) for k in extras}
        return RenderResult(composite_background(rgb, wsum, bg), depth, wsum, ext)

    @torch.no_grad()
    def render_image(
        self,
        field: Field | None,
        c2w: torch.Tensor,
        intrinsics,
        H: int,
        W: int,
        bg=None,
        chunk: int = 4096,
        extras: Sequence[str] = (),
        progress: bool = True,
    ) -> RenderResult:
        """Render a full H x W image in inference mode, ``chunk`` rays at a time, no gradient.

        c2w: [4, 4]; intrinsics: (fx, fy, cx, cy); bg: [H, W, 3], [3], scalar or None.
        Returns a RenderResult with rgb [H, W, 3], depth and weights_sum [H, W], extras
        [H, W] or [H, W, C].
        """
        from tqdm.auto import tqdm

        from .rays import get_rays

        field = self._field(field)
        bg_flat = bg
        if isinstance(bg, torch.Tensor) and bg.dim() == 3:
            bg_flat = bg.reshape(H * W, -1)
        parts = []
        starts = range(0, H * W, chunk)
        for start in tqdm(starts, desc="render", leave=False, disable=not progress):
            index = torch.arange(start, min(start + chunk, H * W), device=c2w.device)
            o, d = get_rays(c2w, intrinsics, H, W, index)
            b = bg_flat[index] if isinstance(bg_flat, torch.Tensor) and bg_flat.dim() == 2 else bg
            parts.append(self.render_rays(o, d, b, training=False, extras=extras, field=field))

        def cat(ts):
            t = torch.cat(ts)
            return t.reshape(H, W, *t.shape[1:])

        return RenderResult(
            rgb=cat([p.rgb for p in parts]),
            depth=cat([p.depth for p in parts]),
            weights_sum=cat([p.weights_sum for p in parts]),
            extras={k: cat([p.extras[k] for p in parts]) for k in extras},
        )


def _require(out: dict, name: str) -> torch.Tensor:
    if name not in out:
        raise KeyError(f"extra {name!r} requested but the field returned only {sorted(out)}")
    return out[name]
