"""RSDF: identity at initialisation, learning from zero, shapes, the face -> torso cascade."""

from __future__ import annotations

import pytest
import torch
from rsdf_helpers import SMALL_GRID, A, points, randomise_grids, randomise_last_layers, signals

from lokitalk_plugins.rsdf import MAP_NAMES, RSDF, JointDeformation


def make(torso: bool = True, **kw) -> RSDF:
    torch.manual_seed(0)
    return RSDF(audio_dim=A, hidden=32, torso=torso, grid=SMALL_GRID, **kw)


@pytest.mark.parametrize("torso", [True, False])
def test_identity_at_init(torso):
    m, x = make(torso), points()
    F_a, F_e, F_h = signals()
    out = m(x, F_a, F_e, F_h if torso else None)
    assert torch.equal(out.x_canonical, x)
    assert not out.dx_face.any() and not out.dx_torso.any()
    assert not out.maps["dx_face_norm"].any() and not out.maps["dx_torso_norm"].any()
    assert tuple(out.maps) == m.map_names
    assert ("att_torso" in out.maps) == torso


def test_default_sizes_identity_and_maps():
    torch.manual_seed(0)
    m = RSDF()  # CPU-sized defaults, backend 'auto'
    x = points()
    out = m(x, torch.randn(1, 32), torch.rand(1, 1), torch.randn(1, 6))
    assert torch.equal(out.x_canonical, x)
    assert m.map_names == MAP_NAMES
    for name in MAP_NAMES:
        assert out.maps[name].shape == (64,)


def test_learns_from_zero_init():
    m, x = make(), points()
    F_a, F_e, F_h = signals()
    target = torch.randn(64, 3, generator=torch.Generator().manual_seed(5)) * 0.1
    loss = ((m(x, F_a, F_e, F_h).x_canonical - x - target) ** 2).sum()
    loss.backward()
    assert m.face.net.net[-1].weight.grad.abs().sum() > 0
    assert m.torso_field.net.net[-1].weight.grad.abs().sum() > 0
    torch.optim.SGD(m.parameters(), lr=0.1).step()
    out = m(x, F_a, F_e, F_h)
    assert out.dx_face.abs().sum() > 0 and out.dx_torso.abs().sum() > 0
    assert not torch.equal(out.x_canonical, x)


def test_gradient_reaches_grid_attention_and_every_layer():
    m, x = make(), points()
    randomise_last_layers(m)
    F_a, F_e, F_h = signals()
    out = m(x, F_a, F_e, F_h)
    (out.x_canonical.square().sum() + sum(v.sum() for v in out.maps.values())).backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_attention_loss_trains_the_grid_at_init():
    m, x = make(), points()
    F_a, F_e, F_h = signals()
    out = m(x, F_a, F_e, F_h)
    (out.maps["att_lip"] + out.maps["att_torso"]).sum().backward()
    assert m.encoder.embeddings.grad.abs().sum() > 0
    assert m.face.attention.query.net[0].weight.grad.abs().sum() > 0


def test_batched_and_per_point_signals_agree():
    m, x = make(), points()
    randomise_last_layers(m)
    randomise_grids(m)
    F_a, F_e, F_h = signals()
    a = m(x, F_a, F_e, F_h)
    b = m(x, F_a.expand(64, A).clone(), F_e.expand(64, 1).clone(), F_h.expand(64, 6).clone())
    assert torch.allclose(a.x_canonical, b.x_canonical, atol=1e-6)
    for name in m.map_names:
        assert torch.allclose(a.maps[name], b.maps[name], atol=1e-6)
    # genuinely per-point signals give per-point results
    per_point = torch.randn(64, A, generator=torch.Generator().manual_seed(3))
    c = m(x, per_point, F_e, F_h)
    assert c.x_canonical.shape == (64, 3) and not torch.allclose(c.dx_face, a.dx_face)


@pytest.mark.parametrize(
    "bad", [dict(F_a=torch.zeros(2, A)), dict(F_a=torch.zeros(1, A + 1)), dict(F_h=None)]
)
def test_bad_signal_shapes_raise(bad):
    m, x = make(), points()
    F_a, F_e, F_h = signals()
    kw = dict(F_a=F_a, F_e=F_e, F_h=F_h) | bad
    with pytest.raises(ValueError):
        m(x, **kw)


def test_cascade_torso_field_receives_face_offset():
    m, x = make(), points()
    m.fused = False  # the hook reads the torso MLP's concatenated input: the reference path
    randomise_grids(m)
    F_a, F_e, F_h = signals()
    seen = []
    m.torso_field.net.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach()))
    out0 = m(x, F_a, F_e, F_h)
    assert not seen[0][:, -3:].any()  # face offset is zero at init
    with torch.no_grad():  # only the face field moves
        m.face.net.net[-1].weight.normal_(0, 0.1)
    m.torso_field.net.net[-1].weight.data.normal_(0, 0.1)
    out1 = m(x, F_a, F_e, F_h)
    assert torch.equal(seen[1][:, -3:], out1.dx_face.detach())
    assert out1.dx_face.abs().sum() > 0
    # the torso offset depends on the face offset: zero the face field again and it changes
    with torch.no_grad():
        m.face.net.net[-1].weight.zero_()
    out2 = m(x, F_a, F_e, F_h)
    assert not torch.allclose(out1.dx_torso, out2.dx_torso)
    assert torch.allclose(out1.x_canonical, x + out1.dx_face + out1.dx_torso)
    assert not out0.dx_torso.any()


def test_torso_gradient_reaches_face_field_through_cascade():
    m, x = make(), points()
    randomise_last_layers(m)
    F_a, F_e, F_h = signals()
    m(x, F_a, F_e, F_h).dx_torso.square().sum().backward()
    assert m.face.net.net[-1].weight.grad.abs().sum() > 0


def test_points_outside_the_box_are_not_deformed():
    m = make()
    randomise_last_layers(m)
    x = torch.tensor([[0.1, 0.2, -0.3], [1.5, 0.0, 0.0], [0.0, -1.01, 0.2]])
    out = m(x, *signals())
    assert out.dx_face[0].abs().sum() > 0
    assert torch.equal(out.x_canonical[1:], x[1:])
    for name in m.map_names:
        assert not out.maps[name][1:].any()


def test_unshared_encoders_and_float64():
    m = make(shared_encoding=False).double()
    randomise_last_layers(m)
    F_a, F_e, F_h = (s.double() for s in signals())
    out = m(points().double(), F_a, F_e, F_h)
    assert out.x_canonical.dtype == torch.float64
    out.dx_torso.sum().backward()
    assert m.encoder_torso.embeddings.grad.abs().sum() > 0


def test_joint_deformation_identity_then_learns():
    torch.manual_seed(0)
    m, x = JointDeformation(audio_dim=A, hidden=32, grid=SMALL_GRID), points()
    F_a, F_e, F_h = signals()
    out = m(x, F_a, F_e, F_h)
    assert torch.equal(out.x_canonical, x) and not out.maps["dx_norm"].any()
    assert not out.dx_torso.any() and tuple(out.maps) == m.map_names
    out.x_canonical.sub(x + 0.05).square().sum().backward()
    assert m.net.net[-1].weight.grad.abs().sum() > 0
    torch.optim.SGD(m.parameters(), lr=0.1).step()
    out = m(x, F_a, F_e, F_h)
    assert out.dx_face.abs().sum() > 0
    assert torch.allclose(out.maps["dx_norm"], out.dx_face.norm(dim=-1))
    # per-point signals equal to the batched ones give the same result
    b = m(x, F_a.expand(64, A), F_e.expand(64, 1), F_h.expand(64, 6))
    assert torch.allclose(out.x_canonical, b.x_canonical, atol=1e-6)
