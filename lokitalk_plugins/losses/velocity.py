"""The Disentangling Head NeRF's animation velocity loss (eq. 7).

    L_v = ‖(I^j − I^{j−1}) − (I_GT^j − I_GT^{j−1})‖₂                      (eq. 7)

on two consecutive frames j−1, j of one clip, rendered at the SAME pixels
(``lokitalk_plugins.data.consecutive.sample_consecutive_rays``). The paper weighs it
λ_v = 10 in its total loss (eq. 2); ``velocity_loss.weight`` binds it from gin
(``configs/velocity.gin``).

The paper's norm is over the image; here it is taken per pixel and averaged over the R
pixels drawn, so the value does not grow with the number of rays: with
e_r = (p_r − q_r) − (g_r − h_r) ∈ R^3 (p, q: rendered colours of frames j and j−1 at pixel r;
g, h: the ground truth there), L_v = mean_r ‖e_r‖₂. ``squared=True`` gives
mean_r ‖e_r‖₂², the squared form VOCA uses. A frame rendered exactly like its ground truth
up to a constant offset shared by both frames has L_v = 0: the loss sees only the change.
"""

from __future__ import annotations

import torch

__all__ = ["LAMBDA_V", "velocity_loss"]

LAMBDA_V = 10.0


def velocity_loss(
    pred: torch.Tensor,
    pred_prev: torch.Tensor,
    target: torch.Tensor,
    target_prev: torch.Tensor,
    weight: float = LAMBDA_V,
    squared: bool = False,
    eps: float = 1e-12,
) -> torch.Tensor:
    """λ_v L_v (eq. 7) of frame j against frame j−1 at the same pixels -> scalar.

    pred, pred_prev: [..., C] rendered colours of frames j and j−1 (e.g. [R, 3] rays, or
    [H, W, 3] images); target, target_prev: the same shapes, their ground truth. Every
    leading index is one pixel; C (3 for RGB) is the vector whose norm is taken.
    weight: λ_v (10 in the paper); squared: mean of squared norms instead of norms; eps keeps
    the gradient of the norm finite where the error is exactly zero (the norm is
    sqrt(sum e² + eps)). Raises ValueError when the four shapes differ.
    """
    shapes = {tuple(t.shape) for t in (pred, pred_prev, target, target_prev)}
    if len(shapes) != 1:
        raise ValueError(
            "velocity_loss needs pred, pred_prev, target and target_prev of one shape "
            f"(the same pixels of two frames), got {[list(s) for s in sorted(shapes)]}"
        )
    err = (pred - pred_prev) - (target - target_prev)
    sq = err.pow(2).sum(dim=-1)
    per_pixel = sq if squared else torch.sqrt(sq + eps)
    return weight * per_pixel.mean()
