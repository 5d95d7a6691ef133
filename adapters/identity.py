"""ID-Aware Knowledge Transfer inside a wrapped backbone (LokiTalk sec. 3.3).

:class:`IdentityPlug` is the part of :class:`~.wrap.WrappedModel` that applies ``.idakt``:

- pre-training: ``idakt`` is an :class:`~lokitalk_plugins.idakt.IDAKT`; every step binds a
  reference frame of the identity being trained (:meth:`bind_reference`), whose encoder pass
  (with gradients) gives the step's identity outputs;
- fine-tuning: ``idakt`` is a :class:`~lokitalk_plugins.idakt.FrozenIdentity` (the outputs as
  learnable parameters, no encoder). When built from a pre-trained bundle its values come from
  the encoder on the first training frame, once (:meth:`init_identity`, called by the training
  system's ``prepare``); a buffer ``identity_ready`` records that it happened, so a checkpoint
  reloads without the encoder running again.

The identity outputs act at four places: F_id and the hyper weights in RSDF's deformation MLPs
(:meth:`~.wrap.WrappedModel.deform`), or, on a bare backbone, in the backbone's own dynamic MLPs
(the adapter's ``dynamic_mlps``: F_id through zero-initialised input columns, the hyper weight
added to the trained last layer; :mod:`.identity_dynamic`, :meth:`identity_nets`); the canonical
offset x_c = x' + Δx_id(x') and the geometry
feature added to the point encoding (:meth:`identity_encoding`, before the density decoder); the
appearance feature added to the colour decoder's code. All are exactly 0 at initialisation.
"""

from __future__ import annotations

import torch
from torch import nn

from .identity_dynamic import conditioned_mlp, dynamic_input_widths, dynamic_last_layers

__all__ = ["IdentityPlug", "reference_image"]


def reference_image(image: torch.Tensor) -> torch.Tensor:
    """A frame [H, W, 3] (or [1, 3, H, W]) in [0, 1] -> the encoder's input [1, 3, H, W]."""
    if image.dim() == 3 and image.shape[-1] == 3:
        return image.permute(2, 0, 1).unsqueeze(0).float()
    if image.dim() == 4 and image.shape[:2] == (1, 3):
        return image.float()
    raise ValueError(f"reference: expected [H, W, 3] or [1, 3, H, W], got {tuple(image.shape)}")


class IdentityPlug:
    """Mixin of WrappedModel: needs ``self.adapter``, ``self.rsdf``, ``self.backbone``."""

    def attach_identity(self, idakt: nn.Module | None) -> None:
        """Register ``idakt`` (IDAKT, FrozenIdentity or None) after checking its sizes."""
        self.add_module("idakt", idakt)
        self._bound = None
        self._pending_encoder: list = []  # fine-tune: the encoder until init_identity ran
        if idakt is None:
            return
        sizes = self.identity_sizes()
        cfg = idakt.config()
        for key in ("appearance_dim", "geometry_dim"):
            if int(cfg[key]) != sizes[key]:
                raise ValueError(f"idakt.{key}={cfg[key]} but the backbone needs {sizes[key]}")
        layers = self._field_layers()
        where = "the deformation field" if self.rsdf is not None else "the backbone's dynamic MLPs"
        for name, dims in cfg["hyper_layers"].items():
            if tuple(layers.get(name, ())) != tuple(dims):
                raise ValueError(
                    f"idakt replaces the last layer {name!r} {tuple(dims)}, but {where} "
                    f"have {layers or 'none'}"
                )
        given = {n: int(w) for n, w in dict(cfg.get("id_inputs") or {}).items()}
        if self.rsdf is None:  # F_id input columns and last layers of the same MLPs
            want = {n: w for n, w in self._dynamic_inputs().items() if n in cfg["hyper_layers"]}
        else:
            want = {}
        if given != want:
            raise ValueError(
                f"idakt feeds F_id to {given or 'no MLP'} (name: width), but {where} with its "
                f"hyper layers take it at {want or 'none'}"
            )
        id_dim = int(self.rsdf.id_dim) if self.rsdf is not None else 0
        if id_dim and id_dim != int(cfg["dynamic_dim"]):
            raise ValueError(f"rsdf.id_dim={id_dim} but idakt.dynamic_dim={cfg['dynamic_dim']}")

    def identity_sizes(self, dynamic: bool = True) -> dict:
        """The IDAKT sizes this wrap needs: appearance_dim (colour code), geometry_dim (point
        encoding), hyper_layers and id_inputs (RSDF's last layers and none; on a bare backbone
        the last layers and first-layer widths of its dynamic MLPs, none with
        ``dynamic=False``: the static half only) and dynamic_dim (rsdf.id_dim, or 16)."""
        probe = torch.zeros(1, 3, dtype=next(self.backbone.parameters()).dtype)
        with torch.no_grad():
            geometry = int(self.adapter.encode_points(probe).shape[-1])
        appearance = int(self.adapter.individual_code(None).shape[-1])
        id_dim = int(self.rsdf.id_dim) if self.rsdf is not None else 0
        bare = self.rsdf is None and dynamic
        return dict(appearance_dim=appearance, geometry_dim=geometry,
                    hyper_layers=self._field_layers() if dynamic else {},
                    id_inputs=self._dynamic_inputs() if bare else {},
                    dynamic_dim=id_dim or 16)  # fmt: skip

    def _field_layers(self) -> dict:
        """The last layers ID-AKT may condition: the deformation field's, or without one the
        backbone's dynamic MLPs' (the adapter's ``dynamic_mlps``)."""
        if self.rsdf is not None:
            return dict(self.rsdf.hyper_layers)
        return dynamic_last_layers(self.adapter.model, self.adapter.dynamic_mlps)

    def _dynamic_inputs(self) -> dict:
        """Widths of the first layers of the backbone's dynamic MLPs (F_id's input columns)."""
        return dynamic_input_widths(self.adapter.model, self.adapter.dynamic_mlps)

    def identity_nets(self, ident) -> dict:
        """The dynamic half on a bare backbone: ``{"nets": name -> conditioned MLP}`` to pass
        to the adapter's density / sigma, or {} (no identity, RSDF present, or the static half
        only)."""
        if ident is None or self.rsdf is not None or not len(self.idakt.id_inputs):
            return {}
        model, cols = self.adapter.model, self.idakt.id_inputs
        nets = {n: conditioned_mlp(getattr(model, n), ident.dynamic, cols[n], ident.hyper[n])
                for n in cols}  # fmt: skip
        return {"nets": nets}

    @property
    def pretrains_identity(self) -> bool:
        """True when ``.idakt`` is the pre-training form (it holds the ID-Encoder)."""
        return self.idakt is not None and bool(self.idakt.pretraining)

    @property
    def pending_identity(self) -> bool:
        """True while a fine-tune's identity still waits for the first training frame."""
        return bool(self._pending_encoder) and not bool(self.identity_ready)

    # ------------------------------------------------------------------ outputs
    def bind_reference(self, image: torch.Tensor) -> None:
        """Pre-training: run the ID-Encoder on one reference frame ([H, W, 3] or [1, 3, H, W],
        with gradients); its outputs condition every call until the next bind."""
        if not self.pretrains_identity:
            raise ValueError("bind_reference needs an IDAKT with its encoder (pre-training)")
        self._bound = self.idakt(reference_image(image).to(next(self.idakt.parameters())))

    def identity_outputs(self, required: bool = True):
        """The IdentityOutputs in use (None without ID-AKT). An IDAKT with no bound reference
        raises (or gives None with required=False)."""
        if self.idakt is None:
            return None
        if self.pretrains_identity:
            if self._bound is None and required:
                raise RuntimeError(
                    "ID-AKT pre-training form: call model.bind_reference(frame.image) first"
                )
            return self._bound
        return self.idakt()

    def identity_encoding(self, x: torch.Tensor, ident) -> torch.Tensor:
        """x [N, 3] canonical -> backbone encoding at x + Δx_id(x), plus the geometry feature."""
        xc = x + self.id_offset(x, ident).to(x.dtype)
        return self.adapter.encode_points(xc) + ident.geometry.to(x.dtype)

    # ------------------------------------------------------------------ fine-tuning
    def set_pending_encoder(self, encoder: nn.Module) -> None:
        """Keep a pre-trained IDAKT (not registered: it is not saved) to initialise the
        FrozenIdentity from the first training frame in :meth:`init_identity`."""
        self._pending_encoder = [encoder]
        self.register_buffer("identity_ready", torch.tensor(False))

    @torch.no_grad()
    def init_identity(self, dataset) -> bool:
        """Once per fine-tune: the pending encoder on ``dataset[0].image`` fills the frozen
        identity's values; the encoder is then dropped. True when it ran."""
        ready = getattr(self, "identity_ready", None)
        if not self._pending_encoder or ready is None or bool(ready):
            return False
        encoder = self._pending_encoder[0]
        ref = reference_image(dataset[0].image).to(next(encoder.parameters()))
        frozen = encoder.freeze(ref)
        self.idakt.load_state_dict(frozen.state_dict())
        self.identity_ready.fill_(True)
        self._pending_encoder = []
        return True

    def id_embedding_names(self) -> list[str]:
        """Names (in this model) of the "id_embeddings" learning-rate group (fine-tuning)."""
        if self.idakt is None:
            return []
        return [f"idakt.{n}" for n in self.idakt.embedding_names()]
