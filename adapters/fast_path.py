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

colour and density equal the reference path's exactly without ID-AKT, and up to the lattice's
interpolation error with it (see ``tests/adapters/test_fast_path.py``).
"""

from __future__ import annotations

import torch

from lokitalk_plugins.idakt.baked import BakedOffset

__all__ = ["FastPathPlug"]


class FastPathPlug:
    """Mixin of :class:`~.wrap.WrappedModel`: :meth:`inference_fast_path` and what forward asks."""

    def inference_fast_path(self, enabled: bool = True, bake_resolution: int = 128) -> None:
        """Switch the fast path on (baking Δx_id of a fine-tuned identity at ``bake_resolution``
        vertices per axis) or off."""
        baked = None
        if enabled and self.idakt is not None and not self.pretrains_identity:
            ident = self.identity_outputs()
            baked = BakedOffset(self.idakt.offset_field, ident.offset_code, bake_resolution)
        # kept out of the module tree: the checkpoint's state_dict stays the reference one
        self.__dict__["_fast_path"] = bool(enabled)
        self.__dict__["_baked_offset"] = baked

    @property
    def fast_path_active(self) -> bool:
        """True in eval mode with the fast path switched on."""
        return bool(self.__dict__.get("_fast_path", False)) and not self.training

    def id_offset(self, x: torch.Tensor, ident) -> torch.Tensor:
        """Δx_id at x [N, 3]: the baked lattice on the fast path, else the offset MLP."""
        baked = self.__dict__.get("_baked_offset")
        if baked is not None and self.fast_path_active:
            return baked(x)
        return self.idakt.canonical_offset(x, ident.offset_code)
