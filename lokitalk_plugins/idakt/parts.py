"""What both forms of ID-AKT share: the identity outputs, the shared canonical offset field,
the hyper-layer check and the parameter groups (the pre-training form, :mod:`.module`, and the
fine-tune form, :mod:`.frozen`, both import this module, not each other)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lokitalk_plugins.encoding import FrequencyEncoder
from lokitalk_plugins.layers import MLP, linear_act

__all__ = [
    "EMBEDDING_GROUP",
    "HEAD_NAMES",
    "CanonicalOffsetField",
    "IdentityOutputs",
    "check_hyper_layers",
    "check_id_inputs",
    "id_input_columns",
    "identity_param_groups",
]

# name of the learning-rate group of a fine-tuned identity's codes and weights
EMBEDDING_GROUP = "id_embeddings"

HEAD_NAMES = ("dynamic", "appearance", "geometry", "offset_code")


@dataclass
class IdentityOutputs:
    """What ID-AKT gives the wrapped backbone for one identity (B = 1 in the wrap).

    dynamic: [B, Dd]; hyper: name -> [out, in] ([B, out, in] when B > 1); appearance: [B, Da];
    geometry: [B, Dg]; offset_code: [B, Do].
    """

    dynamic: torch.Tensor
    hyper: dict[str, torch.Tensor]
    appearance: torch.Tensor
    geometry: torch.Tensor
    offset_code: torch.Tensor


def check_hyper_layers(hyper_layers: dict) -> dict[str, tuple[int, int]]:
    """Validate ``name -> (in_features, out_features)`` and return it with int tuples."""
    out = {}
    for name, dims in dict(hyper_layers).items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"hyper layer name must be a Python identifier, got {name!r}")
        if len(dims) != 2 or min(int(d) for d in dims) < 1:
            raise ValueError(f"hyper layer {name!r}: expected (in, out) >= 1, got {dims!r}")
        out[name] = (int(dims[0]), int(dims[1]))
    return out


def check_id_inputs(id_inputs: dict | None) -> dict[str, int]:
    """Validate ``name -> width`` (the first-layer output size of each MLP F_id joins)."""
    out = {}
    for name, width in dict(id_inputs or {}).items():
        if not isinstance(name, str) or not name.isidentifier() or int(width) < 1:
            raise ValueError(
                f"id input {name!r}: expected an identifier -> width >= 1, got {width!r}"
            )
        out[name] = int(width)
    return out


def id_input_columns(id_inputs: dict[str, int], dynamic_dim: int) -> nn.ParameterDict:
    """The F_id input columns of a bare backbone's dynamic MLPs: name -> [width, dynamic_dim],
    zero at initialisation (so F_id changes nothing until they move); identity-independent
    weights, shared like the offset field (both forms of ID-AKT hold them)."""
    return nn.ParameterDict(
        {n: nn.Parameter(torch.zeros(w, dynamic_dim)) for n, w in id_inputs.items()}
    )


class CanonicalOffsetField(nn.Module):
    """The shared field of ID-aware canonical offsets: Δx_id(x) = MLP([PE(x / bound), code]).

    offset_dim: Do, size of the identity's code; freqs: frequencies of the encoding PE
    (2**0 .. 2**(freqs-1), input included); hidden, num_layers: the bias-free MLP, whose last
    layer starts at zero; bound: half-size of the box of the canonical points.

    forward(x [N, 3], offset_code [1 or N, Do]) -> [N, 3]: exactly 0 at init and for points
    outside [-bound, bound]^3.
    """

    def __init__(
        self,
        offset_dim: int = 16,
        freqs: int = 4,
        hidden: int = 32,
        num_layers: int = 3,
        bound: float = 1.0,
    ):
        super().__init__()
        if offset_dim < 1 or freqs < 0 or hidden < 1 or num_layers < 1 or bound <= 0:
            raise ValueError("offset_dim, hidden, num_layers >= 1, freqs >= 0 and bound > 0")
        self.offset_dim, self.freqs, self.hidden = offset_dim, freqs, hidden
        self.num_layers, self.bound = num_layers, float(bound)
        self.encoding = FrequencyEncoder(3, max_freq_log2=max(freqs - 1, 0), n_freqs=freqs)
        self.mlp = MLP(self.encoding.output_dim + offset_dim, 3, hidden, num_layers)
        with torch.no_grad():
            self.mlp.net[-1].weight.zero_()

    def config(self) -> dict:
        return dict(
            offset_dim=self.offset_dim,
            freqs=self.freqs,
            hidden=self.hidden,
            num_layers=self.num_layers,
            bound=self.bound,
        )

    def forward(self, x: torch.Tensor, offset_code: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != 3:
            raise ValueError(f"x: expected [N, 3], got {tuple(x.shape)}")
        n = x.shape[0]
        if offset_code.dim() != 2 or offset_code.shape[0] not in (1, n):
            raise ValueError(f"offset_code: expected [1 or {n}, Do], got {offset_code.shape}")
        if offset_code.shape[1] != self.offset_dim:
            raise ValueError(f"offset_code has {offset_code.shape[1]} != {self.offset_dim}")
        pe = self.encoding(x / self.bound)
        if offset_code.shape[0] == 1 and not torch.is_grad_enabled() and self.num_layers >= 2:
            # inference with one identity: the code's share of the first layer is one [1, H]
            # row, the product's bias (no [N, Do] copy, no concatenation); each layer and its
            # ReLU one fused call (layers.linear_act); the same values up to float rounding (a
            # test holds it to the concatenated form)
            w, last = self.mlp.net[0].weight, len(self.mlp.net) - 1
            row = F.linear(offset_code.to(pe.dtype), w[:, pe.shape[1] :])
            z = linear_act(pe, w[:, : pe.shape[1]], row.reshape(-1), "relu")
            for i, layer in enumerate(self.mlp.net[1:], 1):
                z = linear_act(z, layer.weight, None, None if i == last else "relu")
            dx = z
        else:
            code = offset_code.to(x.dtype).expand(n, -1)
            dx = self.mlp(torch.cat([pe, code], dim=-1))
        inside = (x.abs() <= self.bound).all(dim=-1, keepdim=True)
        return torch.where(inside, dx, torch.zeros_like(dx))


def identity_param_groups(module: nn.Module, stage: str) -> dict[str, list[nn.Parameter]]:
    """What an ID-AKT module trains in ``stage``: its ``embedding_parameters()`` in the
    "id_embeddings" group, every other parameter in "idakt"; nothing in the torso stage."""
    if stage == "torso":
        return {}
    emb = list(module.embedding_parameters())
    ids = {id(p) for p in emb}
    return {EMBEDDING_GROUP: emb, "idakt": [p for p in module.parameters() if id(p) not in ids]}
