"""ID-Aware Knowledge Transfer, pre-training form (LokiTalk sec. 3.3).

One reference frame of a person goes through the ID-Encoder; heads read from its feature f:

- ``dynamic`` F_id [B, dynamic_dim]: concatenated with the driving signals at the input of the
  MLPs that model the dynamics (dynamic, ID-specific motion): RSDF's deformation MLPs, or on a
  bare backbone its own dynamic MLPs (ER-NeRF's region attention, RAD-NeRF's ambient net;
  ``adapters/identity_dynamic.py``), where F_id enters through the zero-initialised input
  columns ``id_inputs[name]`` [width, dynamic_dim] of their first layer;
- ``hyper[name]`` [out, in]: the last layer of the named MLP (a hyper-network per layer,
  :class:`~lokitalk_plugins.idakt.hyper.HyperLinear`): it replaces RSDF's (zero-initialised)
  last layers, and is added to a bare backbone's trained last layer (base + delta);
- ``appearance`` [B, appearance_dim] for the backbone's colour decoder, ``geometry``
  [B, geometry_dim] added to the point encoding fed to its density decoder;
- ``offset_code`` [B, offset_dim]: the code of the ID-aware canonical offset
  Δx_id(x) = offset_field(PE(x), offset_code), laid over the canonical space that every
  identity shares (the field is shared, only its code is per identity).

Identity at initialisation: every hyper weight, ``appearance``, ``geometry`` and
``offset_code`` is exactly 0 (zero-initialised output layers) and the offset field's last layer
is zero, so Δx_id = 0. The ``dynamic`` head keeps PyTorch's default (non-zero) initialisation on
purpose: F_id only feeds MLPs whose last layer starts at zero (RSDF's, or a zero hyper weight)
or, on a bare backbone, enters through zero input columns (``id_inputs``, and the hyper delta
starts at zero), so it changes nothing at init, and a non-zero F_id carries identity
information from the first step instead of waiting for those last layers to move.
"""

from __future__ import annotations

import torch
from torch import nn

from .encoder import IDEncoder
from .frozen import FrozenIdentity
from .hyper import HyperLinear
from .parts import (
    HEAD_NAMES,
    CanonicalOffsetField,
    IdentityOutputs,
    check_hyper_layers,
    check_id_inputs,
    id_input_columns,
    identity_param_groups,
)

__all__ = ["HEAD_NAMES", "IDAKT", "CanonicalOffsetField", "IdentityOutputs", "check_hyper_layers"]


class IDAKT(nn.Module):
    """ID-Aware Knowledge Transfer in its pre-training form (encoder + heads + shared field).

    hyper_layers: name -> (in_features, out_features) of each MLP last layer to replace
    (e.g. ``{"face": (64, 3), "torso": (64, 3)}``); dynamic_dim, appearance_dim (the colour
    decoder's code, e.g. 4 for ER-NeRF's individual code), geometry_dim (the point encoding C
    fed to the density decoder), offset_dim: sizes of the features; feature_dim: the encoder's
    output; encoder: further :class:`IDEncoder` kwargs; offset_freqs, offset_hidden,
    offset_layers, bound: the :class:`CanonicalOffsetField`; id_inputs: name -> width of the
    bare backbone's dynamic MLPs that F_id joins (their F_id input columns; {} with RSDF).

    forward(reference [B, 3, H, W] in [0, 1]) -> :class:`IdentityOutputs` (the wrap uses B = 1;
    with B > 1 each hyper weight is [B, out, in]). During pre-training every parameter
    (encoder, heads, hyper-networks, offset field) is trained together with the base model in
    one group, so :meth:`embedding_names` is empty; :meth:`freeze` gives the fine-tune form.
    """

    pretraining = True  # holds the ID-Encoder (FrozenIdentity: False)

    def __init__(
        self,
        *,
        hyper_layers: dict[str, tuple[int, int]],
        dynamic_dim: int = 16,
        appearance_dim: int,
        geometry_dim: int,
        offset_dim: int = 16,
        feature_dim: int = 128,
        encoder: dict | None = None,
        offset_freqs: int = 4,
        offset_hidden: int = 32,
        offset_layers: int = 3,
        bound: float = 1.0,
        id_inputs: dict[str, int] | None = None,
    ):
        super().__init__()
        dims = dict(dynamic=dynamic_dim, appearance=appearance_dim, geometry=geometry_dim)
        dims["offset_code"] = offset_dim
        if min(dims.values()) < 1:
            raise ValueError(f"feature sizes must be >= 1, got {dims}")
        self.id_inputs = id_input_columns(check_id_inputs(id_inputs), dynamic_dim)
        encoder = dict(encoder or {})
        if encoder.pop("feature_dim", feature_dim) != feature_dim:
            raise ValueError("encoder['feature_dim'] differs from feature_dim")
        self.hyper_layers = check_hyper_layers(hyper_layers)
        self.dims, self.feature_dim = dims, feature_dim
        self.encoder = IDEncoder(feature_dim=feature_dim, **encoder)
        self.heads = nn.ModuleDict({k: nn.Linear(feature_dim, d) for k, d in dims.items()})
        with torch.no_grad():
            for k in ("appearance", "geometry", "offset_code"):
                self.heads[k].weight.zero_()
                self.heads[k].bias.zero_()
        self.hyper = nn.ModuleDict(
            {n: HyperLinear(feature_dim, i, o) for n, (i, o) in self.hyper_layers.items()}
        )
        self.offset_field = CanonicalOffsetField(
            offset_dim, offset_freqs, offset_hidden, offset_layers, bound
        )

    def forward(self, reference: torch.Tensor) -> IdentityOutputs:
        f = self.encoder(reference)
        hyper = {n: h(f) for n, h in self.hyper.items()}
        if f.shape[0] == 1:
            hyper = {n: w[0] for n, w in hyper.items()}
        return IdentityOutputs(hyper=hyper, **{k: head(f) for k, head in self.heads.items()})

    def canonical_offset(self, x: torch.Tensor, offset_code: torch.Tensor) -> torch.Tensor:
        """Δx_id: x [N, 3], offset_code [1 or N, Do] -> [N, 3] (0 outside the box)."""
        return self.offset_field(x, offset_code)

    def freeze(self, reference: torch.Tensor):
        """Fine-tune form for one identity: run the encoder once on ``reference`` [1, 3, H, W]
        (no gradient) and return a :class:`~lokitalk_plugins.idakt.frozen.FrozenIdentity`
        holding the outputs as parameters and a copy of the shared offset field. The encoder
        and the heads are not carried over."""
        if reference.dim() != 4 or reference.shape[0] != 1:
            raise ValueError(f"freeze takes one reference [1, 3, H, W], got {reference.shape}")
        with torch.no_grad():
            outputs = self(reference)
        return FrozenIdentity.from_outputs(outputs, self.offset_field, self.id_inputs)

    def embedding_names(self) -> list[str]:
        """Parameters of the "id_embeddings" learning-rate group: none in pre-training."""
        return []

    def embedding_parameters(self) -> list[nn.Parameter]:
        """The parameters named by :meth:`embedding_names`: none in pre-training."""
        return []

    def param_groups(self, stage: str) -> dict[str, list[nn.Parameter]]:
        """Pre-training: every parameter in the "idakt" group (none in the torso stage)."""
        return identity_param_groups(self, stage)

    def config(self) -> dict:
        """JSON-able constructor kwargs: ``IDAKT(**m.config())`` rebuilds the same layout."""
        enc = self.encoder.config()
        enc.pop("feature_dim")
        f = self.offset_field
        return dict(
            hyper_layers={n: [i, o] for n, (i, o) in self.hyper_layers.items()},
            dynamic_dim=self.dims["dynamic"],
            appearance_dim=self.dims["appearance"],
            geometry_dim=self.dims["geometry"],
            offset_dim=self.dims["offset_code"],
            feature_dim=self.feature_dim,
            encoder=enc,
            offset_freqs=f.freqs,
            offset_hidden=f.hidden,
            offset_layers=f.num_layers,
            bound=f.bound,
            id_inputs={n: int(c.shape[0]) for n, c in self.id_inputs.items()},
        )
