"""The originals' audio encoders and the shared MLP / trunc_exp blocks."""

from __future__ import annotations

import pytest
import torch

from lokitalk_plugins.layers import MLP, trunc_exp
from lokitalk_plugins.signals.audio import AudioAttNet, AudioNet, encode_audio


def test_mlp_names_shapes_and_no_bias():
    mlp = MLP(5, 3, 8, 3)
    assert list(mlp.state_dict()) == ["net.0.weight", "net.1.weight", "net.2.weight"]
    assert mlp(torch.randn(7, 5)).shape == (7, 3)
    # bias-free and ReLU between layers: a zero input gives zero, a scaled input scales
    x = torch.randn(4, 5)
    assert torch.equal(mlp(torch.zeros(4, 5)), torch.zeros(4, 3))
    assert torch.allclose(mlp(2 * x), 2 * mlp(x), atol=1e-6)
    with pytest.raises(ValueError):
        MLP(5, 3, 8, 0)


def test_trunc_exp_value_and_clamped_gradient():
    x = torch.tensor([-20.0, -15.0, 0.0, 1.0, 20.0], dtype=torch.float64, requires_grad=True)
    y = trunc_exp(x)
    assert torch.allclose(y, torch.exp(x.detach()))
    y.sum().backward()
    # the gradient is exp of the input clamped to [-15, 15], on both sides
    expected = torch.exp(torch.tensor([-15.0, -15.0, 0.0, 1.0, 15.0], dtype=torch.float64))
    assert torch.allclose(x.grad, expected)


@pytest.mark.parametrize(("k", "t"), [(29, 16), (1024, 2), (32, 16)])
def test_audio_net_shapes(k, t):
    net = AudioNet(k, 64)
    assert net(torch.randn(3, k, t)).shape == (3, 64)
    with pytest.raises(ValueError, match="expects 29"):
        AudioNet(29, 64)(torch.randn(3, 44, 16))


def test_attention_weights_sum_to_one_and_pick_windows():
    torch.manual_seed(0)
    att = AudioAttNet(16)
    x = torch.randn(2, 8, 16)
    w = att.weights(x)
    assert w.shape == (2, 8) and torch.allclose(w.sum(1), torch.ones(2))
    out = att(x)
    assert torch.allclose(out, (w.unsqueeze(-1) * x).sum(1))


def test_encode_audio_without_attention_takes_the_centre_window():
    torch.manual_seed(0)
    net = AudioNet(32, 16)
    windows = torch.randn(2, 8, 32, 16)
    out = encode_audio(net, None, windows)
    assert torch.allclose(out, net(windows[:, 4]))
    with_att = encode_audio(net, AudioAttNet(16), windows)
    assert with_att.shape == (2, 16)
