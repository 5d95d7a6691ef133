"""The backbone registry: built-ins, duplicates refused, lookup by name and by model, and
third-party adapters from the ``lokitalk_plugins.backbones`` entry-point group."""

from __future__ import annotations

import sys
import types
from importlib.metadata import EntryPoint

import pytest
import torch
from adapter_helpers import make_backbone
from torch import nn

from lokitalk_plugins.adapters import (
    BackboneAdapter,
    DHNeRFAdapter,
    ERNeRFAdapter,
    RADNeRFAdapter,
    registry,
)


class ToyAdapter(BackboneAdapter):
    """A third-party backbone: a constant-density field named ``toy_field``."""

    name = "toy_nerf"
    required = ("toy_field", "audio_net", "individual_codes")
    ray_extras = ()

    def encode_points(self, x):
        return self.model.toy_field(x)

    def density(self, enc_x, enc_a, eye):
        return {"sigma": enc_x[:, 0].exp(), "geo_feat": enc_x}

    def color(self, geo_feat, d, code):
        return torch.sigmoid(geo_feat[:, :3])


class ToyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.toy_field = nn.Linear(3, 4)
        self.audio_net = nn.Identity()
        self.individual_codes = nn.Parameter(torch.zeros(2, 4))
        self.bound, self.audio_dim = 1.0, 4


@pytest.fixture
def fresh(monkeypatch):
    """The registry as at import (built-ins only, entry points not read yet; whatever other
    test modules registered is left out), restored after."""
    builtins = {n: registry._REGISTRY[n] for n in ("rad_nerf", "er_nerf", "dhnerf")}
    monkeypatch.setattr(registry, "_REGISTRY", builtins)
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    plugin = types.ModuleType("toy_backbone_plugin")
    plugin.ToyAdapter = ToyAdapter
    monkeypatch.setitem(sys.modules, "toy_backbone_plugin", plugin)
    calls = []

    def install(*eps):
        def fake_entry_points(group=None):
            calls.append(group)
            return [ep for ep in eps if ep.group == group]

        monkeypatch.setattr(registry, "entry_points", fake_entry_points)
        return calls

    return install


def toy_entry_point(name="toy_nerf", value="toy_backbone_plugin:ToyAdapter"):
    return EntryPoint(name=name, value=value, group=registry.ENTRY_POINT_GROUP)


def test_builtins_by_name_and_by_model(fresh):
    fresh()
    assert registry.get_adapter("rad_nerf") is RADNeRFAdapter
    assert registry.get_adapter("er_nerf") is ERNeRFAdapter
    assert registry.get_adapter(make_backbone("er_nerf")) is ERNeRFAdapter
    assert registry.get_adapter(make_backbone("rad_nerf")) is RADNeRFAdapter
    assert registry.get_adapter("dhnerf") is DHNeRFAdapter
    assert registry.available_backbones() == ["dhnerf", "er_nerf", "rad_nerf"]
    with pytest.raises(KeyError, match="unknown backbone 'gdrf'"):
        registry.get_adapter("gdrf")
    with pytest.raises(ValueError, match="no registered backbone adapter fits Linear"):
        registry.get_adapter(nn.Linear(2, 2))


def test_a_duplicate_name_is_refused(fresh):
    fresh()
    with pytest.raises(ValueError, match="'er_nerf' is already registered"):
        registry.register_backbone("er_nerf", ToyAdapter)
    registry.register_backbone("toy_nerf", ToyAdapter)
    with pytest.raises(ValueError, match="already registered"):
        registry.register_backbone("toy_nerf", ToyAdapter)
    with pytest.raises(TypeError, match="BackboneAdapter subclass"):
        registry.register_backbone("other", object)
    assert registry.get_adapter(ToyModel()) is ToyAdapter


def test_two_equally_specific_adapters_are_ambiguous(fresh):
    fresh()
    twin = type("TwinAdapter", (ToyAdapter,), {"name": "twin"})
    registry.register_backbone("toy_nerf", ToyAdapter)
    registry.register_backbone("twin", twin)
    with pytest.raises(ValueError, match="several adapters equally"):
        registry.get_adapter(ToyModel())
    assert registry.adapt(ToyModel(), "twin").__class__ is twin


def test_entry_point_is_loaded_lazily_once(fresh):
    calls = fresh(toy_entry_point())
    assert registry.get_adapter("er_nerf") is ERNeRFAdapter
    assert calls == []  # a built-in name does not read the entry points
    assert registry.get_adapter("toy_nerf") is ToyAdapter
    assert calls == [registry.ENTRY_POINT_GROUP]
    model = ToyModel()
    adapter = registry.adapt(model)
    assert isinstance(adapter, ToyAdapter) and adapter.model is model
    out = adapter.field(torch.zeros(5, 3), torch.zeros(5, 3), None, None, None)
    assert out["color"].shape == (5, 3)
    assert registry.available_backbones() == ["dhnerf", "er_nerf", "rad_nerf", "toy_nerf"]
    assert calls == [registry.ENTRY_POINT_GROUP]  # read once


def test_model_detection_reads_the_entry_points(fresh):
    calls = fresh(toy_entry_point())
    assert registry.get_adapter(ToyModel()) is ToyAdapter
    assert calls == [registry.ENTRY_POINT_GROUP]


def test_an_entry_point_cannot_take_a_builtin_name(fresh):
    fresh(toy_entry_point(name="rad_nerf"))
    with pytest.raises(ValueError, match="'rad_nerf' is already registered"):
        registry.available_backbones()


def test_a_broken_entry_point_names_itself(fresh):
    fresh(toy_entry_point(value="toy_backbone_plugin:Missing"))
    with pytest.raises(ImportError, match="entry point 'toy_nerf'.*failed to load"):
        registry.get_adapter("toy_nerf")
