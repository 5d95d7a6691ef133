"""Weights move between wrapped and bare backbones: a wrapped system's checkpoint loads into a
bare backbone, and an original-style checkpoint loads into a wrapped model's backbone."""

from __future__ import annotations

import torch

from lokitalk_plugins.adapters import wrap
from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
from lokitalk_plugins.baselines.system import TalkingHeadSystem
from lokitalk_plugins.rsdf import RSDF
from lokitalk_plugins.train.weights import load_model_weights


def _backbone():
    return ERNeRF(audio_in_dim=32, ind_num=8, grid_size=32, encoder_backend="torch")


def test_wrapped_checkpoint_into_bare_backbone_and_back():
    torch.manual_seed(0)
    system = TalkingHeadSystem(wrap(_backbone(), rsdf=RSDF(audio_dim=32)))
    with torch.no_grad():
        for p in system.parameters():
            p.normal_()
    bare = _backbone()
    info = load_model_weights(bare, {"model": system.state_dict()}, strict=True, use_ema=False)
    assert info["prefix"] == "model.backbone."
    for name, value in bare.state_dict().items():
        assert torch.equal(value, system.model.backbone.state_dict()[name]), name
    # an original ngp.pth layout ({"model": backbone state_dict}) into a wrapped backbone
    wrapped = wrap(_backbone(), rsdf=RSDF(audio_dim=32))
    info = load_model_weights(wrapped.backbone, {"model": bare.state_dict()}, strict=True)
    assert info["prefix"] == ""
    assert torch.equal(wrapped.backbone.sigma_net.net[0].weight, bare.sigma_net.net[0].weight)
