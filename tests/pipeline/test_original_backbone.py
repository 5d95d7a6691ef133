"""Acceptance: a backbone written outside the package with the original ER-NeRF's
constructor, forward and torso signatures and return types (original_er_nerf.py) renders
through wrap() exactly like its own forward, and pre-trains ID-AKT (`lokitalk pretrain`) and
fine-tunes head and torso from that bundle (`lokitalk train`) with RSDF and ID-AKT, from a gin
file, without any package file edited: the adapter supplies its occupancy grid (outside the
backbone's state_dict), torso condition and output dict, regularisers and parameter groups."""

from __future__ import annotations

import pytest
import torch
from cli_acceptance import pretrain_and_finetune, saved_backbone
from original_er_nerf import NeRFNetwork, original_er_nerf

from lokitalk_plugins.adapters import wrap
from lokitalk_plugins.cli import main
from lokitalk_plugins.pipeline import TalkingHeadModel, preflight

GIN = """
import original_er_nerf
include 'lokitalk_plugins/configs/base.gin'

TalkingHeadSystem.model = @wrap()
wrap.backbone = @OriginalERNeRF()
wrap.rsdf = @RSDF()
OriginalERNeRF.asr_model = 'logmel'     # not DeepSpeech/wav2vec/HuBERT: K = 32, the studio's
OriginalERNeRF.ind_num = 64
OriginalERNeRF.torso = True
RSDF.audio_dim = 32
RSDF.id_dim = 16
RSDF.hidden = 16
RSDF.grid = {'num_levels': 4, 'log2_hashmap_size': 10, 'desired_resolution': 32, 'backend': 'torch'}
TalkingHeadFolder.eye_source = 'landmarks'
TalkingHeadSystem.num_rays = 128
TalkingHeadSystem.grid_fraction = 0.25
Trainer.optimizer = 'adamw'
Trainer.betas = (0.0, 0.99)
Trainer.lr = {'grid': 1e-2, 'mlp': 1e-3, 'audio_att': 1e-3, 'id_embeddings': 1e-3}
torso/Trainer.lr = {'grid': 1e-2, 'mlp': 1e-3}
Trainer.log_every = 1
Trainer.val_every = 0
Trainer.ckpt_every = 0
head/Trainer.steps = 3
torso/Trainer.steps = 3
"""


def _model(torso=True):
    torch.manual_seed(0)
    return original_er_nerf(asr_model="logmel", ind_num=8, torso=torso)


def test_wrapped_original_renders_like_its_own_forward_and_torso():
    orig = _model()
    model = wrap(orig)  # detected: the registered adapter that fits it best
    preflight(model)
    assert model.adapter.name == "er_nerf_original"
    assert isinstance(model, TalkingHeadModel) and model.torso_condition == "c2w"
    assert model.grid.resolution == 32 and "occupancy.density_grid" in model.state_dict()
    assert not any("density" in k for k in orig.state_dict())  # the grid stays out of it
    g = torch.Generator().manual_seed(1)
    x = torch.rand(64, 3, generator=g) * 1.6 - 0.8
    d = torch.nn.functional.normalize(torch.randn(64, 3, generator=g), dim=-1)
    enc_a, eye = torch.randn(1, 32, generator=g), torch.rand(1, 1, generator=g)
    code = orig.individual_codes[:1]
    with torch.no_grad():
        sigma, color, aud, eye_att, unc = orig(x, d, enc_a, code, eye)
        out = model(x, d, enc_a, eye, code)
        torch.testing.assert_close(out["sigma"], sigma)
        torch.testing.assert_close(out["color"], color)
        torch.testing.assert_close(out["ambient_aud"], aud[:, 0])
        torch.testing.assert_close(out["uncertainty"], unc[:, 0, 0])
        c2w = torch.eye(4)
        c2w[:3, 3] = torch.tensor([0.1, -0.2, 3.0])
        px, tcode = torch.rand(16, 2, generator=g) * 2 - 1, orig.individual_codes_torso[:1]
        alpha, rgb, dx = orig.forward_torso(px, c2w[None], tcode)
        ours = model.forward_torso(px, c2w[None], c=tcode)
        torch.testing.assert_close(ours["alpha"], alpha)
        torch.testing.assert_close(ours["color"], rgb)
        torch.testing.assert_close(ours["deform"], dx)
    groups = model.param_groups("torso")
    assert {id(p) for p in groups["grid"]} == {id(p) for p in orig.torso_encoder.parameters()}
    assert groups["mlp"] and "audio_att" not in groups or not groups["audio_att"]


@pytest.mark.slow
def test_original_pretrains_and_finetunes_with_the_cli(tmp_path):
    ws = pretrain_and_finetune(tmp_path, GIN, "original_er_nerf", "er_nerf_original")
    # the workspace's config imports the user's module: eval runs it only when told to
    assert main(["eval", "--workspace", str(ws), "--quiet", "--max-frames", "1"]) == 2
    assert main(["eval", "--workspace", str(ws), "--quiet", "--max-frames", "1",
                 "--import", "original_er_nerf"]) == 0  # fmt: skip
    head = (ws / "logs" / "head.csv").read_text().splitlines()[0]
    assert "uncertainty" in head and "lokitalk_delta" in head  # supplied and plug-in terms
    backbone, state = saved_backbone(ws)
    fresh = original_er_nerf(asr_model="logmel", ind_num=64, torso=True)
    fresh.load_state_dict(backbone, strict=True)  # still the original's own layout
    assert any(k.startswith("model.occupancy.") for k in state)
    assert isinstance(fresh, NeRFNetwork)
