"""Hyper-networks of ID-AKT (LokiTalk sec. 3.3): an identity feature -> the weight of the last
(bias-free) layer of a deformation MLP, replacing that layer for this identity.

The generated weight is ``W(f) = A f + b`` reshaped to [out, in]: ``b`` is a weight shared by
every identity (the common knowledge), ``A f`` the identity-specific part. Both start at zero,
so the generated weight is exactly 0 at initialisation, like RSDF's zero-initialised last
layers: the offsets they produce are then exactly zero, while the gradient still reaches
``A`` and ``b`` (it is the outer product of the output gradient and the layer's input).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["HyperLinear", "apply_weight"]


class HyperLinear(nn.Module):
    """Identity feature -> weight of a bias-free linear layer ``in_features -> out_features``.

    feature_dim: size of the identity feature; in_features, out_features: the generated layer
    (for an RSDF offset MLP's last layer: in = the MLP's hidden width, out = 3).

    forward(feature: [B, feature_dim]) -> weight [B, out_features, in_features]; exactly 0 at
    initialisation (the output layer's weight and bias are zero).
    """

    def __init__(self, feature_dim: int, in_features: int, out_features: int):
        super().__init__()
        if min(feature_dim, in_features, out_features) < 1:
            raise ValueError(
                "feature_dim, in_features, out_features must be >= 1, got "
                f"{feature_dim}, {in_features}, {out_features}"
            )
        self.feature_dim = feature_dim
        self.in_features, self.out_features = in_features, out_features
        self.out = nn.Linear(feature_dim, out_features * in_features)
        with torch.no_grad():
            self.out.weight.zero_()
            self.out.bias.zero_()

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        if feature.dim() != 2 or feature.shape[1] != self.feature_dim:
            raise ValueError(f"expected [B, {self.feature_dim}], got {tuple(feature.shape)}")
        w = self.out(feature)
        return w.view(feature.shape[0], self.out_features, self.in_features)

    def extra_repr(self) -> str:
        return (
            f"feature_dim={self.feature_dim}, in_features={self.in_features}, "
            f"out_features={self.out_features}"
        )


def apply_weight(h: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """A bias-free linear layer with a given weight: h [N, in], weight [out, in] -> [N, out]
    (``h @ weight.T``). Leading dimensions of ``h`` are kept: [..., in] -> [..., out]."""
    if weight.dim() != 2:
        raise ValueError(f"weight must be [out, in], got {tuple(weight.shape)}")
    if h.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"h has {h.shape[-1]} features but weight {tuple(weight.shape)} expects "
            f"{weight.shape[1]}"
        )
    return F.linear(h, weight)
