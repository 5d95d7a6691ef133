"""ID-AKT in its fine-tune form (LokiTalk sec. 3.3, "Training Strategies").

When fine-tuning on one identity, the ID-Encoder runs once on the first frame and is then
discarded: the hyper-network outputs become ordinary weights and the identity features and
canonical-offset code become learnable codes, all updated with the rest of the model. The
canonical offset field and a bare backbone's F_id input columns stay shared
(identity-independent) and keep training too.
"""

from __future__ import annotations

import torch
from torch import nn

from .parts import (
    EMBEDDING_GROUP,
    CanonicalOffsetField,
    IdentityOutputs,
    check_hyper_layers,
    check_id_inputs,
    id_input_columns,
    identity_param_groups,
)

__all__ = ["EMBEDDING_GROUP", "FrozenIdentity"]

_CODES = ("dynamic", "appearance", "geometry", "offset_code")


class FrozenIdentity(nn.Module):
    """One identity's ID-AKT outputs as parameters, with a copy of the shared offset field.

    Parameters: ``dynamic`` [1, Dd], ``appearance`` [1, Da], ``geometry`` [1, Dg],
    ``offset_code`` [1, Do], ``hyper.<name>`` [out, in] (a ParameterDict: the hyper-networks'
    outputs baked into regular weights), ``offset_field.*`` and ``id_inputs.<name>``
    [width, Dd] (a bare backbone's F_id input columns; none with RSDF). Built zero-filled from
    plain kwargs (the layout of ``FrozenIdentity(**f.config())``, to load a state dict into),
    or from an encoder pass with
    :meth:`from_outputs` / :meth:`IDAKT.freeze <lokitalk_plugins.idakt.module.IDAKT.freeze>`.

    Same call interface as IDAKT: forward(reference=None) -> IdentityOutputs (the reference is
    ignored) and canonical_offset(x [N, 3], offset_code [1 or N, Do]) -> [N, 3].
    """

    pretraining = False  # the encoder is gone (IDAKT: True)

    def __init__(
        self,
        *,
        hyper_layers: dict[str, tuple[int, int]],
        dynamic_dim: int = 16,
        appearance_dim: int,
        geometry_dim: int,
        offset_dim: int = 16,
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
        self.hyper_layers = check_hyper_layers(hyper_layers)
        for name, d in dims.items():
            setattr(self, name, nn.Parameter(torch.zeros(1, d)))
        self.hyper = nn.ParameterDict(
            {n: nn.Parameter(torch.zeros(o, i)) for n, (i, o) in self.hyper_layers.items()}
        )
        self.offset_field = CanonicalOffsetField(
            offset_dim, offset_freqs, offset_hidden, offset_layers, bound
        )

    @classmethod
    def from_outputs(
        cls, outputs: IdentityOutputs, offset_field: CanonicalOffsetField, id_inputs=None
    ) -> FrozenIdentity:
        """Copy one identity's outputs (B = 1, hyper weights [out, in]), the shared field and
        the F_id input columns (name -> [width, Dd], or None) into a new FrozenIdentity on
        their device and dtype (nothing is shared with them)."""
        if outputs.dynamic.shape[0] != 1:
            raise ValueError(f"expected one identity (B = 1), got B = {outputs.dynamic.shape[0]}")
        hyper_layers = {}
        for n, w in outputs.hyper.items():
            if w.dim() != 2:
                raise ValueError(f"hyper weight {n!r} must be [out, in], got {tuple(w.shape)}")
            hyper_layers[n] = (w.shape[1], w.shape[0])
        f = offset_field.config()
        frozen = cls(
            hyper_layers=hyper_layers,
            dynamic_dim=outputs.dynamic.shape[1],
            appearance_dim=outputs.appearance.shape[1],
            geometry_dim=outputs.geometry.shape[1],
            offset_dim=f["offset_dim"],
            offset_freqs=f["freqs"],
            offset_hidden=f["hidden"],
            offset_layers=f["num_layers"],
            bound=f["bound"],
            id_inputs={n: int(c.shape[0]) for n, c in dict(id_inputs or {}).items()},
        )
        frozen.to(device=outputs.dynamic.device, dtype=outputs.dynamic.dtype)
        with torch.no_grad():
            for name in _CODES:
                getattr(frozen, name).copy_(getattr(outputs, name))
            for n, w in outputs.hyper.items():
                frozen.hyper[n].copy_(w)
            frozen.offset_field.load_state_dict(offset_field.state_dict())
            for n, c in dict(id_inputs or {}).items():
                frozen.id_inputs[n].copy_(c)
        return frozen

    def forward(self, reference: torch.Tensor | None = None) -> IdentityOutputs:
        """The stored identity: reference is accepted and ignored (the encoder is gone)."""
        return IdentityOutputs(
            dynamic=self.dynamic,
            hyper=dict(self.hyper.items()),
            appearance=self.appearance,
            geometry=self.geometry,
            offset_code=self.offset_code,
        )

    def canonical_offset(self, x: torch.Tensor, offset_code: torch.Tensor) -> torch.Tensor:
        """Δx_id: x [N, 3], offset_code [1 or N, Do] -> [N, 3] (0 outside the box)."""
        return self.offset_field(x, offset_code)

    def embedding_names(self) -> list[str]:
        """Names (relative to this module) of the parameters of the "id_embeddings" group:
        the four codes and every ``hyper.<name>``; ``offset_field.*`` and ``id_inputs.*`` (shared
        weights) are not in it."""
        return list(_CODES) + [f"hyper.{n}" for n in self.hyper]

    def embedding_parameters(self) -> list[nn.Parameter]:
        """The parameters named by :meth:`embedding_names`, in that order."""
        params = dict(self.named_parameters())
        return [params[n] for n in self.embedding_names()]

    def param_groups(self, stage: str) -> dict[str, list[nn.Parameter]]:
        """Fine-tuning: the codes and hyper weights in "id_embeddings", the shared offset
        field and F_id input columns in "idakt" (none in the torso stage)."""
        return identity_param_groups(self, stage)

    def config(self) -> dict:
        """JSON-able constructor kwargs: ``FrozenIdentity(**f.config())`` has the same layout."""
        f = self.offset_field
        return dict(
            hyper_layers={n: [i, o] for n, (i, o) in self.hyper_layers.items()},
            dynamic_dim=self.dynamic.shape[1],
            appearance_dim=self.appearance.shape[1],
            geometry_dim=self.geometry.shape[1],
            offset_dim=self.offset_code.shape[1],
            offset_freqs=f.freqs,
            offset_hidden=f.hidden,
            offset_layers=f.num_layers,
            bound=f.bound,
            id_inputs={n: int(c.shape[0]) for n, c in self.id_inputs.items()},
        )
