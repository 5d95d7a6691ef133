"""GDRF's loss of the audio-to-expression LSTM (sec. 3.1, eqs. 3-5).

    L_β,P = ‖β − β̃‖² + λ1 ‖P − P̃‖²                                          (eq. 3)
    L_c   = λ2 Σ_{t=1}^{T-1} (β̃_{t+1} − β̃_t)² + λ3 Σ_{t=1}^{T-1} (P̃_{t+1} − P̃_t)²   (eq. 4)
    L_l   = L_β,P + L_c                                                     (eq. 5)

β: 3DMM expression [T, E] (E = 79 in ``track_params.pt``), P: head pose [T, 6] (euler then
translation), over a window of T frames. The paper's weights: λ1 = 0.2, λ2 = 0.01,
λ3 = 0.001. Squared norms sum over the frames of the window and the coefficients; the loss
of a batch of windows is the mean over the windows.
"""

from __future__ import annotations

import torch

__all__ = [
    "LAMBDA_POSE",
    "LAMBDA_EXP_SMOOTH",
    "LAMBDA_POSE_SMOOTH",
    "audio2exp_loss",
]

LAMBDA_POSE = 0.2  # λ1
LAMBDA_EXP_SMOOTH = 0.01  # λ2
LAMBDA_POSE_SMOOTH = 0.001  # λ3


def _sq_sum(x: torch.Tensor) -> torch.Tensor:
    """[B, T, D] -> [B]: the squared entries summed over frames and coefficients."""
    return x.pow(2).flatten(1).sum(dim=1)


def audio2exp_loss(
    exp_pred: torch.Tensor,
    pose_pred: torch.Tensor,
    exp: torch.Tensor,
    pose: torch.Tensor,
    lambda_pose: float = LAMBDA_POSE,
    lambda_exp_smooth: float = LAMBDA_EXP_SMOOTH,
    lambda_pose_smooth: float = LAMBDA_POSE_SMOOTH,
) -> dict[str, torch.Tensor]:
    """L_l of eq. 5 for a batch of windows; returns scalars {"loss", "exp", "pose",
    "smooth_exp", "smooth_pose"}, each term unweighted except "loss".

    exp_pred, exp: β̃ and β [B, T, E]; pose_pred, pose: P̃ and P [B, T, 6].
    exp = mean_b Σ_t ‖β_t − β̃_t‖², pose = mean_b Σ_t ‖P_t − P̃_t‖² (eq. 3's norms);
    smooth_exp = mean_b Σ_{t<T} ‖β̃_{t+1} − β̃_t‖², smooth_pose the same of P̃ (eq. 4);
    loss = exp + λ1 pose + λ2 smooth_exp + λ3 smooth_pose.
    """
    if exp_pred.shape != exp.shape or pose_pred.shape != pose.shape:
        raise ValueError(
            f"predictions and targets differ in shape: β̃ {list(exp_pred.shape)} vs β "
            f"{list(exp.shape)}, P̃ {list(pose_pred.shape)} vs P {list(pose.shape)}"
        )
    if exp.ndim != 3 or pose.ndim != 3 or exp.shape[:2] != pose.shape[:2]:
        raise ValueError(
            f"expected β [B, T, E] and P [B, T, 6] over the same windows, got "
            f"{list(exp.shape)} and {list(pose.shape)}"
        )
    terms = {
        "exp": _sq_sum(exp - exp_pred).mean(),
        "pose": _sq_sum(pose - pose_pred).mean(),
        "smooth_exp": _sq_sum(exp_pred.diff(dim=1)).mean(),
        "smooth_pose": _sq_sum(pose_pred.diff(dim=1)).mean(),
    }
    terms["loss"] = (
        terms["exp"]
        + lambda_pose * terms["pose"]
        + lambda_exp_smooth * terms["smooth_exp"]
        + lambda_pose_smooth * terms["smooth_pose"]
    )
    return terms
