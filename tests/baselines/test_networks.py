"""Forward shapes, value ranges and gradients of the rebuilt backbones."""

from __future__ import annotations

import pytest
import torch

from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
from lokitalk_plugins.baselines.rad_nerf.network import RADNeRF


def _inputs(model, n=64, k=32, t=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 3, generator=g) * 2 - 1) * torch.tensor([1.0, 0.5, 1.0])
    d = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=-1)
    windows = torch.randn(1, 8, k, t, generator=g)
    return x, d, windows


@pytest.mark.parametrize("cls", [RADNeRF, ERNeRF])
@pytest.mark.parametrize("t", [16, 2])
def test_head_forward_shapes_ranges_and_gradients(cls, t):
    torch.manual_seed(0)
    k = 32 if t == 16 else 1024
    model = cls(audio_in_dim=k, ind_num=8, encoder_backend="torch")
    x, d, windows = _inputs(model, k=k, t=t)
    enc_a = model.encode_audio(windows)
    assert enc_a.shape == (1, model.audio_dim)
    out = model(x, d, enc_a, torch.full((1, 1), 0.3), model.individual_code(2))
    assert out["sigma"].shape == (64,) and out["color"].shape == (64, 3)
    assert (out["sigma"] > 0).all()
    assert out["color"].min() >= -0.001 and out["color"].max() <= 1.001
    (out["sigma"].sum() + out["color"].sum()).backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert grads["audio_net.encoder_conv.0.weight"].abs().sum() > 0
    assert grads["sigma_net.net.0.weight"].abs().sum() > 0
    assert grads["color_net.net.0.weight"].abs().sum() > 0
    # only the code of frame 2 is used
    codes = grads["individual_codes"]
    assert codes[2].abs().sum() > 0 and codes[[0, 1, 3]].abs().sum() == 0


def test_er_nerf_region_maps():
    torch.manual_seed(0)
    model = ERNeRF(audio_in_dim=32, ind_num=4, encoder_backend="torch")
    x, d, windows = _inputs(model)
    out = model(x, d, model.encode_audio(windows), torch.ones(1, 1), model.individual_code(None))
    for name in ("ambient_aud", "ambient_eye", "uncertainty"):
        assert out[name].shape == (64,)
    assert (out["ambient_eye"] > 0).all() and (out["ambient_eye"] < 1).all()
    assert (out["uncertainty"] >= 0).all()


def test_rad_nerf_ambient_coordinate_in_unit_square():
    torch.manual_seed(0)
    model = RADNeRF(audio_in_dim=32, ind_num=4, encoder_backend="torch")
    x, d, windows = _inputs(model)
    out = model(x, d, model.encode_audio(windows), torch.ones(1, 1), model.individual_code(0))
    assert out["ambient"].shape == (64, 2) and out["ambient"].abs().max() < 1


@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_rad_nerf_without_audio_encodes_the_ambient_point_once_with_the_same_gradient(backend):
    """No audio (a wrapped RAD-NeRF's static canonical space): the ambient coordinate is 0 at
    every point and its grid is encoded once; the density is bit for bit the per-point
    encoding's and every gradient equal to float rounding."""
    from lokitalk_plugins.baselines.rad_nerf import field

    torch.manual_seed(0)
    model = RADNeRF(audio_in_dim=32, ind_num=4, encoder_backend=backend)
    with torch.no_grad():
        model.encoder_ambient.embeddings.normal_(0, 0.5)  # far from the 1e-4 start
    x, _, _ = _inputs(model, n=300)
    eye, w = torch.full((1, 1), 0.3), torch.randn(300, 65)

    def grads(h):
        model.zero_grad()
        (h * w).sum().backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    out = field.density(model, model.encode_points(x), None, eye)
    h, _ = field._trunk(model, model.encode_points(x), None, eye)
    once = grads(h)
    enc_x = model.encode_points(x)  # the per-point form, as before
    ambient = enc_x.new_zeros(300, 2)
    parts = [enc_x, model.encoder_ambient(ambient, bound=field.AMBIENT_BOUND), eye.expand(300, -1)]
    ref = model.sigma_net(torch.cat(parts, -1))
    assert torch.equal(h, ref) and torch.equal(out["sigma"], field.trunc_exp(ref[:, 0]))
    assert torch.equal(out["ambient"], ambient) and not out["ambient_abs"].any()
    each = grads(ref)
    assert set(once) == set(each) and once["encoder_ambient.embeddings"].abs().sum() > 0
    for name in each:
        torch.testing.assert_close(once[name], each[name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [RADNeRF, ERNeRF])
def test_torso_forward(cls):
    torch.manual_seed(0)
    model = cls(audio_in_dim=32, ind_num=4, torso=True, encoder_backend="torch")
    px = torch.rand(50, 2) * 2 - 1
    code = model.individual_code(1, torso=True)
    if cls is RADNeRF:
        out = model.forward_torso(px, torch.zeros(1, 6), None, code)
    else:
        c2w = torch.eye(4)
        c2w[2, 3] = -3.0  # the camera 3 units behind the anchors
        out = model.forward_torso(px, c2w[None], code)
    assert out["alpha"].shape == (50, 1) and out["color"].shape == (50, 3)
    assert out["deform"].shape == (50, 2)
    out["alpha"].sum().backward()
    assert model.torso_net.net[0].weight.grad.abs().sum() > 0
