"""Signal-region cross-attention: a score in [0, 1] per point and driving signal.

For a point with encoding ``h = PE(x)`` [P] and driving signals ``F_k`` [D_k] (k = lip, eye,
torso), each signal has its own query head on the point and key projection of the signal:

    q_k(x) = Q(h)_k                       Q: bias-free 2-layer MLP, P -> K * d (one head per k)
    key_k  = W_k F_k + b_k                per-signal linear key, [d]
    s_k(x) = sigmoid(<q_k(x), key_k> / sqrt(d))   in [0, 1]

The score multiplies the signal (its value) before it enters the deformation MLP:
``F_k -> s_k(x) F_k``. A sigmoid rather than a softmax over signals: the signals act on
overlapping regions independently (a point of the lower lip can follow audio and pose), and
the torso field has a single signal, for which a softmax would be constantly 1. The key bias
``b_k`` lets a region be learned even where the signal value is near zero (closed mouth).
The scores only scale inputs of MLPs whose last layer starts at zero, so they never break the
identity at initialisation.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lokitalk_plugins.layers import MLP

__all__ = ["SignalAttention", "expand_signal"]


def expand_signal(f: torch.Tensor, n: int, dim: int, name: str) -> torch.Tensor:
    """A per-frame [1, dim] or per-point [n, dim] signal -> [n, dim] (a view when expanded)."""
    if f.dim() != 2 or f.shape[-1] != dim or f.shape[0] not in (1, n):
        raise ValueError(f"{name}: expected [1, {dim}] or [{n}, {dim}], got {tuple(f.shape)}")
    return f.expand(n, dim)


class SignalAttention(nn.Module):
    """Per-point sigmoid cross-attention scores between a point and each driving signal.

    point_dim: P, size of the point encoding; signal_dims: name -> D_k (insertion order is
    the score order); att_dim: d, query/key size; hidden: width of the query MLP.

    forward(h: [N, P], signals: name -> [N, D_k]) -> scores name -> [N] in [0, 1].
    """

    def __init__(self, point_dim: int, signal_dims: dict[str, int], att_dim: int = 16,
                 hidden: int = 32):  # fmt: skip
        super().__init__()
        if not signal_dims:
            raise ValueError("signal_dims must name at least one signal")
        self.names = tuple(signal_dims)
        self.signal_dims = dict(signal_dims)
        self.att_dim = att_dim
        self.query = MLP(point_dim, len(self.names) * att_dim, hidden, 2)
        self.keys = nn.ModuleDict({k: nn.Linear(d, att_dim) for k, d in signal_dims.items()})

    def forward(self, h: torch.Tensor, signals: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """h: [N, P]; signals: name -> [N, D_k] (or [1, D_k]) -> name -> [N] in [0, 1]."""
        n = h.shape[0]
        q = self.query(h).reshape(n, len(self.names), self.att_dim)
        scale = 1.0 / math.sqrt(self.att_dim)
        scores = {}
        for i, name in enumerate(self.names):
            key = self.keys[name](signals[name])  # [N or 1, d]
            scores[name] = torch.sigmoid((q[:, i] * key).sum(-1) * scale)
        return scores
