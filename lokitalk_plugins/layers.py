"""Small building blocks shared by backbones and plug-ins: the originals' bias-free MLP and
the truncated exponential density activation."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MLP", "trunc_exp"]


class MLP(nn.Module):
    """``num_layers`` bias-free linear layers with ReLU between them (none after the last).

    Parameter names ``net.{i}.weight`` match the originals, so their checkpoints load.
    x: [..., dim_in] -> [..., dim_out]. Where no gradient flows (occupancy refreshes,
    inference) the ReLUs run in place on the fresh layer outputs (same values without a new
    tensor per layer; ``torch.relu`` is the reference twin, a test holds them equal).
    """

    def __init__(self, dim_in: int, dim_out: int, dim_hidden: int, num_layers: int):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.dim_in, self.dim_out = dim_in, dim_out
        self.dim_hidden, self.num_layers = dim_hidden, num_layers
        dims = [dim_in] + [dim_hidden] * (num_layers - 1) + [dim_out]
        self.net = nn.ModuleList(
            nn.Linear(dims[i], dims[i + 1], bias=False) for i in range(num_layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.net):
            x = layer(x)
            if i != self.num_layers - 1:
                x = torch.relu(x) if x.requires_grad else x.relu_()
        return x


class _TruncExp(torch.autograd.Function):
    """exp(x) whose gradient uses exp(clamp(x, -15, 15)), so a large pre-activation cannot
    produce an infinite gradient (the originals' density activation: the gradient is
    exp(15) above 15 and exp(-15) below -15)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.exp(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * torch.exp(x.clamp(-15, 15))


def trunc_exp(x: torch.Tensor) -> torch.Tensor:
    """exp with its gradient clamped to [exp(-15), exp(15)]: x [...] -> [...]."""
    return _TruncExp.apply(x)
