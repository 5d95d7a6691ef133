"""Acceptance: a backbone written outside the package with the original RAD-NeRF's
constructor, forward and torso signatures and return types (original_rad_nerf.py: its
forward_torso takes enc_a and returns a tuple) renders through wrap() exactly like its own
forward and torso, and pre-trains ID-AKT (`lokitalk pretrain`) and fine-tunes head and torso
from that bundle (`lokitalk train --import original_rad_nerf`) with RSDF and ID-AKT from a gin
file, without any package file edited."""

from __future__ import annotations

import pytest
import torch
from cli_acceptance import pretrain_and_finetune, saved_backbone
from original_rad_nerf import NeRFNetwork, original_rad_nerf

from lokitalk_plugins.adapters import wrap
from lokitalk_plugins.cli import main
from lokitalk_plugins.pipeline import TalkingHeadModel, preflight

GIN = """
import original_rad_nerf
include 'lokitalk_plugins/configs/base.gin'

TalkingHeadSystem.model = @wrap()
wrap.backbone = @OriginalRADNeRF()
wrap.rsdf = @RSDF()
OriginalRADNeRF.asr_model = 'logmel'    # not DeepSpeech/Esperanto: K = 32, the studio's
OriginalRADNeRF.ind_num = 64
OriginalRADNeRF.torso = True
RSDF.audio_dim = 64                     # RAD-NeRF's F_a has 64 channels
RSDF.id_dim = 16
RSDF.hidden = 16
RSDF.grid = {'num_levels': 4, 'log2_hashmap_size': 10, 'desired_resolution': 32, 'backend': 'torch'}
TalkingHeadFolder.eye_source = 'landmarks'
TalkingHeadSystem.num_rays = 128
TalkingHeadSystem.grid_fraction = 0.25
Trainer.lr = {'grid': 5e-3, 'mlp': 5e-4, 'audio_att': 5e-4, 'id_embeddings': 5e-4}
torso/Trainer.lr = {'grid': 5e-3, 'mlp': 5e-4}
Trainer.log_every = 1
Trainer.val_every = 0
Trainer.ckpt_every = 0
head/Trainer.steps = 3
torso/Trainer.steps = 3
"""


def test_wrapped_original_renders_like_its_own_forward_and_torso():
    torch.manual_seed(0)
    orig = original_rad_nerf(asr_model="logmel", ind_num=8, torso=True)
    model = wrap(orig)  # detected: the registered adapter that fits it best
    preflight(model)
    assert model.adapter.name == "rad_nerf_original"
    assert isinstance(model, TalkingHeadModel) and model.torso_condition == "pose"
    assert model.audio_dim == 64 and model.audio_in_dim == 32
    assert model.grid.resolution == 32 and "occupancy.density_grid" in model.state_dict()
    assert not any("density" in k for k in orig.state_dict())  # the grid stays out of it
    g = torch.Generator().manual_seed(1)
    x = torch.rand(64, 3, generator=g) * 1.6 - 0.8
    d = torch.nn.functional.normalize(torch.randn(64, 3, generator=g), dim=-1)
    enc_a, eye = torch.randn(1, 64, generator=g), torch.rand(1, 1, generator=g)
    code = orig.individual_codes[:1]
    with torch.no_grad():
        sigma, color, ambient = orig(x, d, enc_a, code, eye)
        out = model(x, d, enc_a, eye, code)
        torch.testing.assert_close(out["sigma"], sigma)
        torch.testing.assert_close(out["color"], color)
        torch.testing.assert_close(out["ambient"], ambient)
        torch.testing.assert_close(orig.density(x, enc_a, eye)["sigma"], sigma)
        pose = torch.tensor([[0.1, -0.2, 0.05, 0.0, 0.1, 3.0]])
        px, tcode = torch.rand(16, 2, generator=g) * 2 - 1, orig.individual_codes_torso[:1]
        alpha, rgb, dx = orig.forward_torso(px, pose, enc_a, tcode)
        ours = model.forward_torso(px, pose, c=tcode)
        torch.testing.assert_close(ours["alpha"], alpha)
        torch.testing.assert_close(ours["color"], rgb)
        torch.testing.assert_close(ours["deform"], dx)
    torso = model.param_groups("torso")
    assert {id(p) for p in torso["grid"]} == {id(p) for p in orig.torso_encoder.parameters()}
    head = model.param_groups("head")
    assert {id(p) for p in head["audio_att"]} == {id(p) for p in orig.audio_att_net.parameters()}
    grids = {id(p) for m in (orig.encoder, orig.encoder_ambient) for p in m.parameters()}
    assert {id(p) for p in head["grid"]} == grids


@pytest.mark.slow
def test_original_pretrains_and_finetunes_with_the_cli(tmp_path):
    ws = pretrain_and_finetune(tmp_path, GIN, "original_rad_nerf", "rad_nerf_original")
    assert main(["eval", "--workspace", str(ws), "--quiet", "--max-frames", "1",
                 "--import", "original_rad_nerf"]) == 0  # fmt: skip
    head = (ws / "logs" / "head.csv").read_text().splitlines()[0]
    assert "ambient" in head and "lokitalk_delta" in head  # supplied and plug-in terms
    backbone, state = saved_backbone(ws)
    fresh = original_rad_nerf(asr_model="logmel", ind_num=64, torso=True)
    fresh.load_state_dict(backbone, strict=True)  # still the original's own layout
    assert any(k.startswith("model.occupancy.") for k in state)
    assert isinstance(fresh, NeRFNetwork)
