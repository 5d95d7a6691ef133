"""Losses both backbones use: per-ray colour error and the entropy of the accumulated alpha."""

from __future__ import annotations

import torch

__all__ = ["ray_mse", "alpha_entropy", "masked_mean"]


def ray_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-ray squared colour error, mean over channels.

    pred, target: [R, 3] in [0, 1] -> [R]. L = (1/3) sum_c (pred_c - target_c)^2.
    """
    return ((pred - target) ** 2).mean(dim=-1)


def alpha_entropy(weights_sum: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Binary entropy of the accumulated alpha of each ray, pushing it to 0 or 1.

    weights_sum: [R] in [0, 1] -> [R]. H(a) = -a log a - (1 - a) log(1 - a), with a clamped to
    [eps, 1 - eps]; H(0.5) = log 2, H(0) = H(1) = 0 (up to eps).
    """
    a = weights_sum.clamp(eps, 1.0 - eps)
    return -(a * torch.log(a) + (1.0 - a) * torch.log(1.0 - a))


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` [R] over rays where ``mask`` [R] is True (0 when none is)."""
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)
