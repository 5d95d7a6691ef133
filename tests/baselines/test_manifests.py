"""The rebuilt backbones have the originals' state_dict keys and shapes, and load their
checkpoints with strict=True."""

from __future__ import annotations

import pytest
import torch

from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
from lokitalk_plugins.baselines.manifest import (
    OCCUPANCY_KEYS,
    compare_with_manifest,
    load_manifest,
)
from lokitalk_plugins.baselines.rad_nerf.network import RADNeRF

CASES = [
    (RADNeRF, False, "rad_nerf_k29"),
    (RADNeRF, True, "rad_nerf_k29_torso"),
    (ERNeRF, False, "er_nerf_k29"),
    (ERNeRF, True, "er_nerf_k29_torso"),
]


def _trainable_head_params(model) -> int:
    skip = ("individual_codes", "torso_", "anchor_points")
    return sum(p.numel() for n, p in model.named_parameters() if not n.startswith(skip))


@pytest.mark.parametrize(("cls", "torso", "name"), CASES)
def test_state_dict_matches_the_original(cls, torso, name):
    model = cls(audio_in_dim=29, torso=torso)
    manifest = load_manifest(name)
    assert compare_with_manifest(model.state_dict(), manifest) == []
    if not torso:
        expected = manifest["trainable_parameters_excluding_individual_and_torso"]
        assert _trainable_head_params(model) == expected


@pytest.mark.parametrize(("cls", "torso", "name"), CASES)
def test_an_original_checkpoint_loads_strictly(cls, torso, name):
    g = torch.Generator().manual_seed(0)
    manifest = load_manifest(name)["state_dict"]
    model = cls(audio_in_dim=29, torso=torso)
    ref = model.state_dict()
    ckpt = {}
    for key, shape in manifest.items():
        t = torch.rand(shape, generator=g) if ref[key].is_floating_point() else ref[key].clone()
        ckpt[key] = t.to(ref[key].dtype)
    fresh = cls(audio_in_dim=29, torso=torso)
    fresh.load_state_dict(ckpt, strict=True)
    for key in manifest:
        assert torch.equal(fresh.state_dict()[key], ckpt[key]), key
    # without the occupancy buffers, strict loading of the parameters still works
    params_only = {k: v for k, v in ckpt.items() if k not in OCCUPANCY_KEYS}
    missing, unexpected = fresh.load_state_dict(params_only, strict=False)
    # the grid's buffers live in the model's ``grid`` submodule, shown at the top level
    assert {k.removeprefix("grid.") for k in missing} <= OCCUPANCY_KEYS and not unexpected


@pytest.mark.parametrize(("cls", "k"), [(RADNeRF, 44), (RADNeRF, 1024), (ERNeRF, 1024)])
def test_other_audio_dims_change_only_the_first_conv(cls, k):
    base = cls(audio_in_dim=29).state_dict()
    other = cls(audio_in_dim=k).state_dict()
    changed = [n for n in base if base[n].shape != other[n].shape]
    assert changed == ["audio_net.encoder_conv.0.weight"]
    assert other["audio_net.encoder_conv.0.weight"].shape[1] == k


def test_hubert_er_nerf_parameter_count():
    # 547,989 with DeepSpeech (the manifest); HuBERT widens the first conv 29 -> 1024 inputs
    model = ERNeRF(audio_in_dim=1024)
    assert _trainable_head_params(model) == 547989 + 32 * 3 * (1024 - 29)
