"""The Backbone contract: what a plug-in needs from a NeRF talking-head backbone.

A backbone exposes its canonical radiance field and its per-frame conditioning:

- ``encode_points(x [N, 3] in [-bound, bound]) -> enc_x [N, C]``
- ``density(enc_x [N, C], enc_a [1 or N, A], eye [1 or N, 1]) -> dict`` with ``sigma`` [N],
  ``geo_feat`` [N, G] and the backbone's per-point maps (its ``ray_extras``)
- ``color(geo_feat [N, G], d [N, 3] unit view directions, code [1, I]) -> rgb [N, 3]``
- ``encode_audio(windows [B, 8, K, T]) -> F_a [B, A]``
- ``individual_code(index | None, torso=False) -> [1, I]`` (code 0 when index is None)

:class:`Backbone` is that contract as a typing Protocol (our rebuilt networks satisfy it
directly). :class:`BackboneAdapter` implements it for any model object that has a backbone's
*original* submodule names, so the same adapter fits our rebuilds and the original codebases'
models: an adapter calls only those submodules (with the originals' call signatures, e.g.
``encoder(x, bound=...)``) and documented constants, never a helper method of the network.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Protocol, runtime_checkable

import torch

from lokitalk_plugins.signals.audio import encode_audio

from .supply import TrainingSupply

__all__ = ["Backbone", "BackboneAdapter"]


@runtime_checkable
class Backbone(Protocol):
    """The canonical radiance field and per-frame conditioning of a talking-head backbone."""

    bound: float
    audio_dim: int

    def encode_points(self, x: torch.Tensor) -> torch.Tensor: ...

    def density(
        self, enc_x: torch.Tensor, enc_a: torch.Tensor, eye: torch.Tensor
    ) -> dict[str, torch.Tensor]: ...

    def color(
        self, geo_feat: torch.Tensor, d: torch.Tensor, code: torch.Tensor
    ) -> torch.Tensor: ...

    def encode_audio(self, windows: torch.Tensor) -> torch.Tensor: ...

    def individual_code(self, index: int | None, torso: bool = False) -> torch.Tensor: ...


class BackboneAdapter(TrainingSupply, ABC):
    """The :class:`Backbone` contract mapped onto one backbone's real submodule names.

    model: the backbone object (our rebuild or the original codebase's model); it must have
    every attribute in :attr:`required` (ValueError otherwise). The adapter is a plain object
    holding a reference to the model (it owns no weights, so wrapping never duplicates
    parameters). Subclasses set ``name``, ``required`` (attribute names the model must have),
    ``ray_extras`` (per-point maps :meth:`density` returns besides sigma and geo_feat) and
    implement :meth:`encode_points`, :meth:`density` and :meth:`color`.

    What the training pipeline needs beyond the field (occupancy grid, torso, parameter
    groups, loss terms) comes from :class:`~.supply.TrainingSupply`, which supplies what an
    original model lacks.

    Shared by both originals: ``audio_net`` and (when att > 0) ``audio_att_net`` for F_a,
    ``individual_codes`` [M, I] (and ``individual_codes_torso``) for the per-frame codes (absent
    with ``--ind_dim 0``), ``embedding`` with ``emb`` (``--emb``), ``exp_eye`` (``-O``: the eye
    value is a density input), ``bound`` and ``audio_dim``.
    """

    name: ClassVar[str] = ""
    required: ClassVar[tuple[str, ...]] = ()
    ray_extras: ClassVar[tuple[str, ...]] = ()
    # the MLPs that model the backbone's dynamics, which ID-AKT's dynamic half conditions on a
    # bare backbone (see identity_dynamic.py); an adapter naming them takes ``nets`` in
    # density and sigma (callables standing in for those MLPs by name)
    dynamic_mlps: ClassVar[tuple[str, ...]] = ()

    def __init__(self, model):
        missing = self.missing(model)
        if missing:
            raise ValueError(
                f"{type(self).__name__} needs a model with {list(self.required)}; "
                f"{type(model).__name__} lacks {missing}"
            )
        self.model = model

    @classmethod
    def missing(cls, model) -> list[str]:
        """The required attribute names ``model`` lacks (empty when it fits)."""
        return [n for n in cls.required if getattr(model, n, None) is None]

    @classmethod
    def matches(cls, model) -> bool:
        """True when ``model`` has every submodule this adapter maps onto."""
        return bool(cls.required) and not cls.missing(model)

    # --- constants of the model -----------------------------------------------------------
    @property
    def bound(self) -> float:
        """Half-size of the box the canonical points live in (``model.bound``)."""
        return float(getattr(self.model, "bound", 1.0))

    @property
    def audio_dim(self) -> int:
        """A, the size of F_a (``model.audio_dim``)."""
        return int(self.model.audio_dim)

    # --- per-frame conditioning -----------------------------------------------------------
    def encode_audio(self, windows: torch.Tensor) -> torch.Tensor:
        """windows [B, 8, K, T] -> F_a [B, A]: ``audio_net`` on every window, then
        ``audio_att_net`` across them (the centre window when the model has none)."""
        m = self.model
        emb = m.embedding if getattr(m, "emb", False) else None  # the originals' --emb
        return encode_audio(m.audio_net, getattr(m, "audio_att_net", None), windows, emb)

    def individual_code(self, index: int | None, torso: bool = False) -> torch.Tensor:
        """The per-frame code [1, I] from ``individual_codes`` (``individual_codes_torso``
        with torso=True); code 0 when ``index`` is None (test time); [1, 0] without codes."""
        name = "individual_codes_torso" if torso else "individual_codes"
        codes = getattr(self.model, name, None)
        if codes is None:  # --ind_dim 0 (--ind_dim_torso 0): no codes, [1, 0]
            return self.model.audio_net.encoder_fc1[0].weight.new_zeros(1, 0)
        return codes[0 if index is None else int(index)].unsqueeze(0)

    # --- the canonical field ----------------------------------------------------------------
    @abstractmethod
    def encode_points(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 3] in [-bound, bound] -> enc_x [N, C]."""

    @abstractmethod
    def density(
        self, enc_x: torch.Tensor, enc_a: torch.Tensor, eye: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """enc_x [N, C], enc_a [1 or N, A], eye [1 or N, 1] -> dict(sigma [N], geo_feat [N, G],
        and every name of :attr:`ray_extras` [N])."""

    @abstractmethod
    def color(self, geo_feat: torch.Tensor, d: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """geo_feat [N, G], d [N, 3] unit directions, code [1, I] -> rgb [N, 3]."""

    def frame_density(self, enc_x, enc_a, eye, code, **nets) -> dict[str, torch.Tensor]:
        """The density of one frame's field, code [1, I] its code: :meth:`density` for a
        backbone whose code enters the colour only (RAD-NeRF, ER-NeRF); an adapter whose
        backbone's density reads the code (the DH-NeRF's C_id, C_ex) overrides it. ``nets``:
        ID-AKT's stand-ins for the adapter's ``dynamic_mlps``, passed on to density."""
        return self.density(enc_x, enc_a, eye, **nets)

    def sigma(self, enc_x: torch.Tensor, enc_a: torch.Tensor, eye: torch.Tensor, **nets):
        """The density alone, sigma [N] (an adapter with a cheaper path overrides it; it
        must equal ``density(...)["sigma"]``); ``nets`` passed on to density."""
        return self.density(enc_x, enc_a, eye, **nets)["sigma"]

    def grid_density(self, x, enc_a, eye, pose=None, deformed: bool = True) -> torch.Tensor:
        """Occupancy refreshes: x [N, 3], enc_a [1 or N, A], eye [1 or N, 1] -> sigma [N]
        (no deformation here: pose and deformed are unused)."""
        return self.sigma(self.encode_points(x), enc_a, eye)

    def static_sigma(self, enc_x: torch.Tensor, enc_a: torch.Tensor, eye: torch.Tensor):
        """The density under :meth:`static_condition` (enc_a, eye: the frame's, which the
        condition discards) for occupancy refreshes: :meth:`sigma` there, unless an adapter
        has a cheaper form (ER-NeRF's skips the condition's zero inputs and geo_feat)."""
        return self.sigma(enc_x, *self.static_condition(enc_a, eye))

    def lattice_encoder(self, axes: torch.Tensor, dtype: torch.dtype | None = None):
        """The lattice form of :meth:`encode_points` for occupancy refreshes: axes [3, r] (the
        grid lines' coordinates) -> a function ijk [K, 3] (int64 line indices) -> enc_x [K, C]
        equal to ``encode_points`` at (axes[0, i], axes[1, j], axes[2, k]) (cast to ``dtype``
        when given), or None (the default) for an encoding a lattice cannot share."""
        return None

    def static_condition(self, enc_a: torch.Tensor, eye: torch.Tensor):
        """The condition under which the field is one static canonical space (LokiTalk eq. 5):
        enc_a [1 or N, A], eye [1 or N, 1] -> zeros of the same shapes, so the audio and eye
        inputs of the density vanish (an adapter whose field takes None bypasses the path)."""
        return torch.zeros_like(enc_a), torch.zeros_like(eye)

    def field(self, x, d, enc_a, eye, code) -> dict[str, torch.Tensor]:
        """The backbone's head forward: x [N, 3], d [N, 3], enc_a [1, A], eye [1, 1],
        code [1, I] -> dict(sigma [N], geo_feat, color [N, 3], the per-point maps)."""
        out = self.frame_density(self.encode_points(x), enc_a, eye, code)
        out["color"] = self.color(out["geo_feat"], d, code)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.model).__name__})"
