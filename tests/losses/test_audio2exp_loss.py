"""GDRF's audio-to-expression loss (eqs. 3-5): analytic values, weights, batch mean, errors."""

import gin
import pytest
import torch

import lokitalk_plugins.registration  # noqa: F401  (registers train_audio2exp)
from lokitalk_plugins.losses import (
    LAMBDA_EXP_SMOOTH,
    LAMBDA_POSE,
    LAMBDA_POSE_SMOOTH,
    audio2exp_loss,
)
from lokitalk_plugins.train.config import parse_config_files


def _window():
    """One window of T = 2 frames, E = 2 expression coefficients, 6 pose values."""
    exp_pred = torch.tensor([[[0.0, 0.0], [3.0, 4.0]]])
    exp = torch.tensor([[[1.0, 2.0], [3.0, 3.0]]])
    pose_pred = torch.stack([torch.zeros(6), torch.ones(6)])[None]
    pose = torch.ones(1, 2, 6)
    return exp_pred, pose_pred, exp, pose


def test_paper_weights():
    assert (LAMBDA_POSE, LAMBDA_EXP_SMOOTH, LAMBDA_POSE_SMOOTH) == (0.2, 0.01, 0.001)


def test_hand_computed_terms():
    terms = audio2exp_loss(*_window())
    # ‖β − β̃‖² = 1 + 4 + 0 + 1; ‖P − P̃‖² = 6 x 1 + 0; Δβ̃ = (3, 4) -> 25; ΔP̃ = 6 x 1 -> 6
    assert terms["exp"].item() == pytest.approx(6.0)
    assert terms["pose"].item() == pytest.approx(6.0)
    assert terms["smooth_exp"].item() == pytest.approx(25.0)
    assert terms["smooth_pose"].item() == pytest.approx(6.0)
    assert terms["loss"].item() == pytest.approx(6.0 + 0.2 * 6 + 0.01 * 25 + 0.001 * 6)


def test_weights_and_batch_mean():
    a = _window()
    terms = audio2exp_loss(*a, lambda_pose=1.0, lambda_exp_smooth=0.0, lambda_pose_smooth=2.0)
    assert terms["loss"].item() == pytest.approx(6.0 + 6.0 + 2.0 * 6.0)
    # a second window predicted exactly and constant in time: every term halves
    exact = (a[2] * 0 + 5.0, a[3] * 0 - 1.0)
    batch = [torch.cat([x, y]) for x, y in zip(a, (exact[0], exact[1], exact[0], exact[1]))]
    halves = audio2exp_loss(*batch)
    for key, value in audio2exp_loss(*a).items():
        assert halves[key].item() == pytest.approx(value.item() / 2)


def test_zero_for_exact_constant_prediction_and_gradient():
    exp = torch.full((3, 4, 79), 0.3)
    pose = torch.full((3, 4, 6), -0.1)
    assert audio2exp_loss(exp, pose, exp, pose)["loss"].item() == 0.0
    pred = exp.clone().requires_grad_(True)
    audio2exp_loss(pred, pose, exp + 1.0, pose)["loss"].backward()
    # d/dβ̃ of ‖β − β̃‖² averaged over 3 windows is -2 (β − β̃) / 3 (the constant has no Δ)
    torch.testing.assert_close(pred.grad, torch.full_like(pred, -2.0 / 3))


def test_shape_errors():
    e, p = torch.zeros(2, 4, 79), torch.zeros(2, 4, 6)
    with pytest.raises(ValueError, match="differ in shape"):
        audio2exp_loss(e[:, :3], p, e, p)
    with pytest.raises(ValueError, match=r"β \[B, T, E\] and P \[B, T, 6\]"):
        audio2exp_loss(e, p[:, :3], e, p[:, :3])


def test_gin_files_bind_the_paper_weights():
    parse_config_files(["configs/audio2exp_finetune.gin"])
    try:
        assert gin.query_parameter("train_audio2exp.lambda_pose") == 0.2
        assert gin.query_parameter("train_audio2exp.lambda_exp_smooth") == 0.01
        assert gin.query_parameter("train_audio2exp.lambda_pose_smooth") == 0.001
        assert gin.query_parameter("train_audio2exp.steps") == 500  # the fine-tune override
    finally:
        gin.clear_config()
