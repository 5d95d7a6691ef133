"""Velocity loss (DH-NeRF eq. 7): hand values, invariances, gradients, gin weight, errors."""

from __future__ import annotations

import gin
import pytest
import torch

from lokitalk_plugins.losses import LAMBDA_V, velocity_loss
from lokitalk_plugins.train.config import parse_config_files


def test_hand_values():
    # two pixels; frame j-1 is all zeros, the ground truth does not move
    zero = torch.zeros(2, 3)
    pred = torch.tensor([[0.3, 0.4, 0.0], [0.0, 0.0, 0.0]])
    # per-pixel errors: |(0.3, 0.4, 0)| = 0.5 and 0 -> mean 0.25, times λ_v 10
    assert LAMBDA_V == 10.0
    assert velocity_loss(pred, zero, zero, zero).item() == pytest.approx(2.5, abs=1e-5)
    assert velocity_loss(pred, zero, zero, zero, weight=1.0).item() == pytest.approx(0.25, abs=1e-6)
    # squared form: (0.25 + 0) / 2
    sq = velocity_loss(pred, zero, zero, zero, weight=1.0, squared=True)
    assert sq.item() == pytest.approx(0.125, abs=1e-7)


def test_only_the_change_counts():
    g = torch.Generator().manual_seed(0)
    gt_prev, gt = torch.rand(50, 3, generator=g), torch.rand(50, 3, generator=g)
    offset = torch.rand(50, 3, generator=g)
    # a render off by the same offset in both frames moves exactly like the ground truth
    loss = velocity_loss(gt + offset, gt_prev + offset, gt, gt_prev, weight=1.0, squared=True)
    assert loss.item() == pytest.approx(0.0, abs=1e-12)
    # a render that freezes frame j-1 misses the whole ground-truth motion
    frozen = velocity_loss(gt_prev, gt_prev, gt, gt_prev, weight=1.0, squared=True)
    assert frozen.item() == pytest.approx((gt - gt_prev).pow(2).sum(-1).mean().item(), rel=1e-6)


def test_images_and_gradient_are_finite_at_zero():
    pred = torch.zeros(4, 5, 3, requires_grad=True)
    prev = torch.zeros(4, 5, 3)
    loss = velocity_loss(pred, prev, prev, prev)
    loss.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().max() == 0
    # the gradient of the norm form pushes the error down along its unit direction
    pred = torch.tensor([[3.0, 4.0, 0.0]], requires_grad=True)
    velocity_loss(
        pred, torch.zeros(1, 3), torch.zeros(1, 3), torch.zeros(1, 3), weight=1.0
    ).backward()
    torch.testing.assert_close(pred.grad, torch.tensor([[0.6, 0.8, 0.0]]))


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="one shape"):
        velocity_loss(torch.zeros(4, 3), torch.zeros(5, 3), torch.zeros(4, 3), torch.zeros(4, 3))


def test_weight_from_gin():
    from lokitalk_plugins.registration import CONFIGURABLES

    fn = CONFIGURABLES["velocity_loss"]
    pred, zero = torch.tensor([[0.3, 0.4, 0.0]]), torch.zeros(1, 3)
    try:
        parse_config_files(["configs/velocity.gin"])
        assert gin.query_parameter("velocity_loss.weight") == 10.0
        assert fn(pred, zero, zero, zero).item() == pytest.approx(2.5, abs=1e-6)  # squared
        parse_config_files(["configs/velocity.gin"], ["velocity_loss.squared = False"])
        assert fn(pred, zero, zero, zero).item() == pytest.approx(5.0, abs=1e-5)
    finally:
        gin.clear_config()
