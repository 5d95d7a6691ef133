"""The Backbone contract: both adapters conform and compute exactly the network's forward,
also on an "original-like" model object that only has the original submodule names."""

from __future__ import annotations

import pytest
import torch
from adapter_helpers import BACKBONES, conditioning, make_backbone, points
from torch import nn

from lokitalk_plugins.adapters import (
    Backbone,
    BackboneAdapter,
    ERNeRFAdapter,
    RADNeRFAdapter,
    adapt,
)

ADAPTERS = {"rad_nerf": RADNeRFAdapter, "er_nerf": ERNeRFAdapter}


def original_like(model: nn.Module, adapter_cls) -> nn.Module:
    """A bare nn.Module holding only the submodules/parameters the adapter names (the same
    objects as ``model``), plus ``bound`` and ``audio_dim``: no helper methods at all."""
    shell = nn.Module()
    for name in adapter_cls.required + ("audio_att_net",):
        setattr(shell, name, getattr(model, name))
    shell.bound, shell.audio_dim = model.bound, model.audio_dim
    return shell


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_adapter_and_network_conform_to_the_contract(name):
    model = make_backbone(name)
    adapter = adapt(model)
    assert type(adapter) is ADAPTERS[name] and adapter.model is model
    assert isinstance(adapter, Backbone) and isinstance(model, Backbone)
    assert isinstance(adapter, BackboneAdapter)
    assert adapter.bound == 1.0 and adapter.audio_dim == model.audio_dim
    assert adapter.ray_extras == tuple(model.ray_extras)
    x, d = points(64)
    windows, enc_a, eye, code, _ = conditioning(model)
    enc_x = adapter.encode_points(x)
    out = adapter.density(enc_x, enc_a, eye)
    assert out["sigma"].shape == (64,) and (out["sigma"] > 0).all()
    assert out["geo_feat"].shape == (64, 64)
    for extra in adapter.ray_extras:
        assert out[extra].shape == (64,)
    rgb = adapter.color(out["geo_feat"], d, code)
    assert rgb.shape == (64, 3)
    assert adapter.encode_audio(windows).shape == (1, model.audio_dim)
    assert adapter.individual_code(None).shape == (1, model.ind_dim)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_adapter_output_equals_the_network_forward_exactly(name):
    model = make_backbone(name)
    adapter = adapt(model)
    x, d = points()
    windows, enc_a, eye, code, _ = conditioning(model)
    want = model(x, d, enc_a, eye, code)
    got = adapter.field(x, d, enc_a, eye, code)
    assert list(got) == list(want)
    for key in want:
        assert torch.equal(got[key], want[key]), key
    assert torch.equal(adapter.encode_audio(windows), model.encode_audio(windows))
    for index in (None, 0, 3):
        assert torch.equal(adapter.individual_code(index), model.individual_code(index))
    # and the output really depends on the inputs (the comparison is not vacuous)
    moved = adapter.field(x + 0.05, d, enc_a, eye, code)
    assert not torch.equal(moved["sigma"], want["sigma"])


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_adapter_fits_a_model_with_only_the_original_submodule_names(name):
    model = make_backbone(name, torso=True)
    shell = original_like(model, ADAPTERS[name])
    assert not hasattr(shell, "encode_points") and not hasattr(shell, "density")
    adapter = adapt(shell)  # detected from the submodule names
    assert type(adapter) is ADAPTERS[name]
    x, d = points(128)
    windows, enc_a, eye, code, _ = conditioning(model)
    want, got = model(x, d, enc_a, eye, code), adapter.field(x, d, enc_a, eye, code)
    for key in want:
        assert torch.equal(got[key], want[key]), key
    assert torch.equal(adapter.encode_audio(windows), model.encode_audio(windows))
    shell.individual_codes_torso = model.individual_codes_torso
    assert torch.equal(adapter.individual_code(2, torso=True), model.individual_code(2, True))


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_gradients_reach_the_backbone_through_the_adapter(name):
    model = make_backbone(name)
    adapter = adapt(model)
    x, d = points(64)
    _, enc_a, eye, code, _ = conditioning(model)
    out = adapter.field(x, d, enc_a, eye, code)
    (out["sigma"].mean() + out["color"].mean()).backward()
    assert model.sigma_net.net[0].weight.grad.abs().sum() > 0
    assert model.color_net.net[0].weight.grad.abs().sum() > 0
    grids = [p for n, p in model.named_parameters() if n.endswith("embeddings")]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in grids)


def test_an_adapter_refuses_a_model_without_its_submodules():
    model = make_backbone("rad_nerf")
    with pytest.raises(ValueError, match="lacks"):
        ERNeRFAdapter(model)
    assert RADNeRFAdapter.matches(model) and not ERNeRFAdapter.matches(model)
    assert ERNeRFAdapter.missing(model)[:3] == ["encoder_xy", "encoder_yz", "encoder_xz"]
