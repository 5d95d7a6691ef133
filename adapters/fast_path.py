"""The inference fast path of a wrapped model: no per-point maps, and the fine-tuned
identity's canonical offset baked into a lattice (no per-sample offset MLP).

``model.eval(); model.inference_fast_path()`` switches it on, ``inference_fast_path(False)``
off; it acts only in eval mode (training always takes the reference path). With it on:

- the deformation field is asked for no maps (``att_*``, ``dx_*_norm``, ``dx_norm``): a
  renderer asking for them as extras gets a KeyError naming the map, so the heat maps and the
  losses must run with the fast path off;
- with a fine-tuned ID-AKT identity (:class:`~lokitalk_plugins.idakt.FrozenIdentity`), Δx_id
  is read from a :class:`~lokitalk_plugins.idakt.baked.BakedOffset` lattice baked when the
  path is switched on (bake again after changing the identity, the device or the dtype).

- ``precision``: the plug-ins' arithmetic. ``"float32"`` (the default) keeps the reference's
  values; ``"bfloat16"`` runs the deformation field and the Δx_id MLP under CPU bfloat16
  autocast (the products on the CPU's bfloat16 matrix units; the backbone stays float32, and
  x' = x + Δx is added in float32); ``"auto"`` is bfloat16 on a CPU with the instructions
  (:func:`~lokitalk_plugins.train.runtime.cpu_bf16_support`), float32 elsewhere. In bfloat16
  the offsets are off by a few percent of their size, under 1e-3 of the box's half-size (a
  small fraction of a pixel; a test bounds it).
- ``bake_resolution=0``: Δx_id from its MLP (the identity's code folded into the first layer)
  instead of the lattice. The lattice is read by the fused grid kernel where it builds; on
  this project's CPU it is then the faster of the two in float32 and level with the MLP with
  bfloat16 plug-ins (``benchmarks/render_overhead.py``).

- ``frame_bake`` (an int, 0 off): the whole point map of a frame (RSDF's offsets and Δx_id)
  on a lattice over the grid's cube, each occupancy cell cut into ``frame_bake``^3 lattice
  cells, evaluated once a frame at the vertices of the cells the frame's samples fall in and
  read trilinearly (:mod:`.frame_bake`; an approximation whose cost
  ``benchmarks/frame_bake.py`` measures).

colour and density equal the reference path's exactly without ID-AKT in float32, and up to the
lattice's interpolation error with it (see ``tests/adapters/test_fast_path.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses

import torch

from lokitalk_plugins.idakt.baked import BakedOffset
from lokitalk_plugins.train.runtime import cpu_bf16_support

from .frame_bake import FrameBake, check_subdivisions

__all__ = ["FAST_PATH_PRECISIONS", "FastPathPlug", "float32_inputs", "plugin_dtype"]

FAST_PATH_PRECISIONS = ("float32", "bfloat16", "auto")


def plugin_dtype(precision: str, device: torch.device, cpuinfo="/proc/cpuinfo"):
    """The fast path's plug-in autocast dtype for ``precision`` on ``device``: None (float32)
    or torch.bfloat16. ``"bfloat16"`` is refused off a CPU without the instructions and off
    the CPU (one line naming the option)."""
    if precision not in FAST_PATH_PRECISIONS:
        raise ValueError(f"inference_fast_path(precision={precision!r}): expected one of "
                         f"{list(FAST_PATH_PRECISIONS)}")  # fmt: skip
    if precision == "float32":
        return None
    support = cpu_bf16_support(cpuinfo) if device.type == "cpu" else None
    if precision == "auto":
        return torch.bfloat16 if support else None
    if support is None:
        raise ValueError(
            "inference_fast_path(precision='bfloat16'): needs a CPU with bfloat16 "
            f"instructions ({device.type} here"
            + (", no avx512_bf16 / amx_bf16 in /proc/cpuinfo" if device.type == "cpu" else "")
            + "); use precision='auto' or 'float32'"
        )
    return torch.bfloat16


def float32_inputs(f_a, eye, pose, ident):
    """The plug-ins' inputs in float32 (``plugins_float32`` under an autocast): F_a, F_e, F_h
    (None stays None) and ID-AKT's outputs (None stays None)."""
    pose = None if pose is None else pose.float()
    if ident is not None:
        ident = dataclasses.replace(
            ident, dynamic=ident.dynamic.float(), offset_code=ident.offset_code.float(),
            hyper={k: v.float() for k, v in ident.hyper.items()},
        )  # fmt: skip
    return f_a.float(), eye.float(), pose, ident


class FastPathPlug:
    """Mixin of :class:`~.wrap.WrappedModel`: :meth:`inference_fast_path` and what forward asks."""

    def inference_fast_path(self, enabled: bool = True, bake_resolution: int = 128,
                            precision: str = "float32", frame_bake: int = 0) -> None:  # fmt: skip
        """Switch the fast path on (baking Δx_id of a fine-tuned identity at ``bake_resolution``
        vertices per axis, 0: no lattice, the MLP; ``precision``: the plug-ins' arithmetic;
        ``frame_bake``: the per-frame bake of the point map, 0 off; see the module doc) or
        off."""
        baked, dtype, frames = None, None, None
        if enabled:
            device = next(self.parameters()).device
            dtype = plugin_dtype(precision, device)
            if check_subdivisions(frame_bake):
                if self.rsdf is None and (self.idakt is None or self.pretrains_identity):
                    raise ValueError("inference_fast_path(frame_bake=...): the model has no "
                                     "point map to bake (no deformation field and no "
                                     "fine-tuned identity); leave frame_bake at 0")  # fmt: skip
                frames = FrameBake(frame_bake)
            if bake_resolution and self.idakt is not None and not self.pretrains_identity:
                ident = self.identity_outputs()
                baked = BakedOffset(self.idakt.offset_field, ident.offset_code, bake_resolution)
        # kept out of the module tree: the checkpoint's state_dict stays the reference one
        self.__dict__["_fast_path"] = bool(enabled)
        self.__dict__["_baked_offset"] = baked
        self.__dict__["_fast_dtype"] = dtype
        self.__dict__["_frame_bake"] = frames

    @property
    def frame_bake(self) -> FrameBake | None:
        """The per-frame bake in use now (on the fast path with ``frame_bake``), else None."""
        return self.__dict__.get("_frame_bake") if self.fast_path_active else None

    def train(self, mode: bool = True):
        """nn.Module.train; a per-frame bake is dropped (the weights or grid may change)."""
        frames = self.__dict__.get("_frame_bake")
        if frames is not None:
            frames.clear()
        return super().train(mode)

    def point_map(self, x: torch.Tensor, f_a, eye, pose=None, ident=None) -> torch.Tensor:
        """x [N, 3] observation points -> the points the backbone reads for these signals:
        x + RSDF's offsets, then + Δx_id from its MLP (no maps, no lattice), in the plug-ins'
        precision. What :class:`~.frame_bake.FrameBake` bakes."""
        with self.plugin_autocast():
            warp = self.deform(x, f_a, eye, pose, ident, maps=False)
            xc = x if warp is None else warp.x_canonical.to(x.dtype)
            if ident is not None:
                xc = xc + self.idakt.canonical_offset(xc, ident.offset_code).to(x.dtype)
        return xc

    @property
    def fast_path_precision(self) -> str:
        """The plug-ins' arithmetic now: "bfloat16" on the fast path in bfloat16, else "float32"."""
        on = self.fast_path_active and self.__dict__.get("_fast_dtype") is not None
        return "bfloat16" if on else "float32"

    @property
    def plugins_float32_now(self) -> bool:
        """True where the plug-ins step out of an autocast that is on now: the model's
        ``plugins_float32`` under a training autocast (off the fast path)."""
        if not getattr(self, "plugins_float32", False) or self.fast_path_active:
            return False
        return torch.is_autocast_enabled("cpu") or torch.is_autocast_enabled("cuda")

    def plugin_autocast(self) -> contextlib.AbstractContextManager:
        """The autocast the plug-ins run under: CPU bfloat16 on the fast path with
        ``precision`` bfloat16 (or "auto" on a CPU that has it); none (float32) under a
        training autocast with ``plugins_float32``; else the caller's."""
        if self.fast_path_precision == "bfloat16":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        if self.plugins_float32_now:
            cuda = torch.is_autocast_enabled("cuda")
            return torch.autocast("cuda" if cuda else "cpu", enabled=False)
        return contextlib.nullcontext()

    @property
    def fast_path_active(self) -> bool:
        """True in eval mode with the fast path switched on."""
        return bool(self.__dict__.get("_fast_path", False)) and not self.training

    def id_offset(self, x: torch.Tensor, ident) -> torch.Tensor:
        """Δx_id at x [N, 3]: the baked lattice on the fast path, else the offset MLP."""
        baked = self.__dict__.get("_baked_offset")
        if baked is not None and self.fast_path_active:
            return baked(x)
        code = ident.offset_code.float() if self.plugins_float32_now else ident.offset_code
        with self.plugin_autocast():
            return self.idakt.canonical_offset(x, code).to(x.dtype)
