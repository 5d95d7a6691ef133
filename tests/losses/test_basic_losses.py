"""Hand-computed values of the basic losses."""

from __future__ import annotations

import math

import torch

from lokitalk_plugins.losses import alpha_entropy, masked_mean, ray_mse


def test_ray_mse_hand_values():
    pred = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.5, 0.0]])
    target = torch.tensor([[0.3, 0.0, 0.0], [1.0, 0.5, 0.0]])
    assert torch.allclose(ray_mse(pred, target), torch.tensor([0.09 / 3, 0.0]))


def test_alpha_entropy_hand_values_and_gradient_direction():
    a = torch.tensor([0.5, 0.0, 1.0, 0.25], requires_grad=True)
    h = alpha_entropy(a)
    expected = [math.log(2), 0.0, 0.0, -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))]
    assert torch.allclose(h, torch.tensor(expected), atol=2e-4)
    h[3].backward()
    # minimising entropy pushes 0.25 towards 0: the gradient is positive
    assert a.grad[3] > 0 and math.isclose(a.grad[3].item(), math.log(0.75 / 0.25), rel_tol=1e-4)


def test_masked_mean():
    v = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert masked_mean(v, torch.tensor([True, False, True, False])).item() == 2.0
    assert masked_mean(v, torch.zeros(4, dtype=torch.bool)).item() == 0.0
