"""The backbones train and render through TalkingHeadSystem on a tiny studio folder."""

from __future__ import annotations

import pytest
import torch

from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
from lokitalk_plugins.baselines.rad_nerf.network import RADNeRF
from lokitalk_plugins.baselines.system import TalkingHeadSystem
from lokitalk_plugins.data import TalkingHeadFolder
from lokitalk_plugins.data.studio import write_identity


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_identity(tmp_path_factory.mktemp("studio") / "id000", seconds=1.0, size=32)


def _system(cls, data, torso=False):
    torch.manual_seed(0)
    model = cls(audio_in_dim=data.audio_features.shape[1], ind_num=len(data), torso=torso,
                grid_size=32)  # fmt: skip
    system = TalkingHeadSystem(model, num_rays=512, lr_grid=1e-2, lr_mlp=1e-3)
    system.prepare(data)
    return system


def _train(system, data, steps, stage="head"):
    system.set_stage(stage)
    groups = system.parameter_groups()
    opt = torch.optim.Adam([{"params": g["params"], "lr": g["lr"]} for g in groups])
    g = torch.Generator().manual_seed(0)
    losses = []
    for step in range(1, steps + 1):
        out = system.training_step(data[step % len(data)], step, steps, g)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        system.after_step(step, g)
        losses.append(out.loss.item())
    return losses


@pytest.mark.parametrize("cls", [RADNeRF, ERNeRF])
def test_a_short_head_run_lowers_the_loss_and_renders(cls, folder):
    data = TalkingHeadFolder(folder, preload=True, progress=False)
    system = _system(cls, data)
    losses = _train(system, data, 40)
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < 0.6 * first
    out = system.render_frame(data[0])
    assert out["rgb"].shape == (32, 32, 3) and out["depth"].shape == (32, 32)
    assert 0 <= out["rgb"].min() and out["rgb"].max() <= 1
    # the occupancy grid was refreshed from the field (every 16 steps)
    assert system.model.grid.mean_density > 0


def test_parameter_groups_follow_the_stage(folder):
    data = TalkingHeadFolder(folder, progress=False)
    system = _system(RADNeRF, data, torso=True)
    system.set_stage("head")
    names = {g["name"]: g for g in system.parameter_groups()}
    assert set(names) == {"grid", "mlp", "audio_att"}
    head_params = sum(p.numel() for g in names.values() for p in g["params"])
    assert head_params == sum(
        p.numel() for n, p in system.model.named_parameters()
        if not n.startswith(("torso_", "individual_codes_torso"))
    )  # fmt: skip
    system.set_stage("torso")
    torso = {id(p) for g in system.parameter_groups() for p in g["params"]}
    assert id(system.model.torso_net.net[0].weight) in torso
    assert id(system.model.sigma_net.net[0].weight) not in torso
    assert not system.model.sigma_net.net[0].weight.requires_grad


@pytest.mark.parametrize("cls", [RADNeRF, ERNeRF])
def test_torso_stage_trains_only_the_torso(cls, folder):
    data = TalkingHeadFolder(folder, background="bc", preload=True, progress=False)
    system = _system(cls, data, torso=True)
    head_before = system.model.sigma_net.net[0].weight.detach().clone()
    losses = _train(system, data, 20, stage="torso")
    assert losses[-1] < losses[0]
    assert torch.equal(system.model.sigma_net.net[0].weight, head_before)
    assert system.render_frame(data[0])["rgb"].shape == (32, 32, 3)


def test_lips_stage_uses_the_lips_crop(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # no LPIPS backbone weights here
    monkeypatch.delenv("LOKITALK_LPIPS_BACKBONE", raising=False)
    data = TalkingHeadFolder(folder, preload=True, progress=False)
    system = _system(ERNeRF, data)
    system.set_stage("lips")
    g = torch.Generator().manual_seed(0)
    with pytest.warns(UserWarning, match="LPIPS backbone weights are absent"):
        out = system.training_step(data[0], 1, 10, g)
    assert torch.isfinite(out.loss)
    with pytest.raises(ValueError, match="stage must be one of"):
        system.set_stage("hair")


def test_er_nerf_lips_stage_alternates_crop_and_patches(folder):
    data = TalkingHeadFolder(folder, preload=True, progress=False)
    torch.manual_seed(0)
    model = ERNeRF(audio_in_dim=data.audio_features.shape[1], ind_num=len(data), grid_size=32)
    system = TalkingHeadSystem(model, lips_patches=4, lips_patch_size=8, lips_patch_weight=0.1)
    system.set_stage("lips")
    g = torch.Generator().manual_seed(0)
    patches, w_odd, _ = system._rays(data[0], 1, 10, g)
    crop, w_even, _ = system._rays(data[0], 2, 10, g)
    assert patches.shape == (4, 8, 8) and w_odd == 0.1
    assert crop.rect is not None and w_even == system.lips_weight


def test_eye_noise_stays_within_its_half_width(folder):
    data = TalkingHeadFolder(folder, progress=False)
    torch.manual_seed(0)
    model = ERNeRF(audio_in_dim=data.audio_features.shape[1], ind_num=len(data), grid_size=32)
    system = TalkingHeadSystem(model, eye_noise=0.05)
    g = torch.Generator().manual_seed(0)
    frame = data[0]
    eyes = [system._conditioning(frame, True, g)[1].item() for _ in range(50)]
    base = frame.eye.item()
    assert max(abs(e - base) for e in eyes) <= 0.05 + 1e-6
    assert len({round(e, 6) for e in eyes}) > 40  # noise drawn each time
    assert system._conditioning(frame, False, g)[1].item() == base  # none at test time
