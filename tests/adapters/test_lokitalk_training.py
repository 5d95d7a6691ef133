"""LokiTalk's training options on a wrapped backbone: region colour weights (eq. 6), LPIPS in
the last 20% of the head stage only, and an Audio2Motion VAE as RSDF's F_a (frozen)."""

from __future__ import annotations

import warnings

import pytest
import torch
from adapter_helpers import SMALL_GRID, randomise_offsets

from lokitalk_plugins.adapters import wrap
from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
from lokitalk_plugins.baselines.system import TalkingHeadSystem
from lokitalk_plugins.baselines.system_losses import colour_loss
from lokitalk_plugins.data import TalkingHeadFolder
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.rsdf import RSDF
from lokitalk_plugins.signals.audio2motion import Audio2Motion


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = write_identity(tmp_path_factory.mktemp("studio") / "id", seconds=1.0, size=32)
    return TalkingHeadFolder(folder, background="bc", preload=True, progress=False)


def _er(data):
    torch.manual_seed(0)
    return ERNeRF(audio_in_dim=data.audio_features.shape[1], ind_num=len(data), grid_size=32)


def test_colour_loss_weights_regions_as_eq6():
    pred = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.5, 0.5, 0.5]])
    target = torch.tensor([[0.3, 0.0, 0.0], [1.0, 1.0, 0.4], [0.5, 0.2, 0.5]])
    t, f = True, False
    masks = {"face": torch.tensor([t, t, f]), "torso": torch.tensor([f, f, t]),
             "lips": torch.tensor([t, f, f]), "eyes": torch.tensor([f, t, f])}  # fmt: skip
    e = torch.tensor([0.09 / 3, 0.36 / 3, 0.09 / 3])  # per-ray mean squared error
    plain, mse = colour_loss(pred, target, masks, None)
    assert torch.allclose(mse, e) and torch.allclose(plain, e.mean())
    w = {"face": 1.0, "eyes": 4.0, "lips": 3.0, "torso": 0.5, "background": 1.0}
    weighted, _ = colour_loss(pred, target, masks, w)
    assert torch.allclose(weighted, (3.0 * e[0] + 4.0 * e[1] + 0.5 * e[2]) / 3)


class SquaredPatchError:
    """Stands in for LPIPS (whose weights are absent here): records the patch shape."""

    def __call__(self, pred, target):
        self.shape = tuple(pred.shape)
        return ((pred - target) ** 2).mean()


def test_lpips_joins_only_the_last_20_percent_of_the_head_stage(data):
    system = TalkingHeadSystem(_er(data), num_rays=256, late_lpips_weight=5e-3,
                               late_lpips_patches=2, lips_patch_size=8)  # fmt: skip
    system.prepare(data)
    system.set_stage("head")
    fake = SquaredPatchError()
    system._late_lpips._loss = fake
    gen = torch.Generator().manual_seed(0)
    early = system.training_step(data[0], 79, 100, gen)
    assert "lpips" not in early.logs and not hasattr(fake, "shape")
    late = system.training_step(data[0], 80, 100, gen)
    assert fake.shape == (2, 8, 8, 3)
    assert late.logs["lpips"] > 0
    # 5e-3 x the patch term was added to the loss
    assert late.logs["loss"] > late.logs["lpips"]


def test_late_lpips_without_weights_warns_once_and_keeps_random_rays(data, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("LOKITALK_LPIPS_BACKBONE", raising=False)
    system = TalkingHeadSystem(_er(data), num_rays=128, late_lpips_weight=5e-3)
    system.prepare(data)
    system.set_stage("head")
    gen = torch.Generator().manual_seed(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in (90, 91):
            out = system.training_step(data[0], step, 100, gen)
            assert "lpips" not in out.logs
    assert sum("LPIPS backbone weights are absent" in str(w.message) for w in caught) == 1


def _a2m(data, latent=8, seed=4):
    torch.manual_seed(seed)
    return Audio2Motion(audio_in_dim=data.audio_features.shape[1], latent_dim=latent, hidden=16,
                        audio_dim=16)  # fmt: skip


def test_audio2motion_is_rsdf_f_a_and_stays_frozen(data):
    a2m = _a2m(data)
    model = wrap(_er(data), rsdf=RSDF(audio_dim=8, hidden=16, grid=SMALL_GRID), audio2motion=a2m)
    frame = data[3]
    windows = frame.audio.unsqueeze(0).float()
    enc = model.encode_audio(windows)
    assert enc.shape == (1, model.backbone.audio_dim + 8)
    backbone_fa, plugin_fa = model.split_audio(enc)
    assert torch.equal(backbone_fa, model.backbone.encode_audio(windows))
    assert torch.allclose(plugin_fa, a2m.feature(windows))
    # identity at init: the wrapped field equals the bare backbone's (static canonical space)
    x = (torch.rand(64, 3, generator=torch.Generator().manual_seed(1)) - 0.5) * 1.2
    d = torch.nn.functional.normalize(torch.ones(64, 3), dim=-1)
    eye, code = frame.eye.reshape(1, 1), model.individual_code(0)
    bare = model.backbone(x, d, *model.backbone_condition(backbone_fa, eye), code)
    out = model(x, d, enc, eye, code)
    assert torch.equal(out["sigma"], bare["sigma"]) and torch.equal(out["color"], bare["color"])
    # the offsets follow the VAE's F_a, not the backbone's
    randomise_offsets(model.rsdf, std=0.2)
    w1 = model.deform(x, plugin_fa, eye).dx_face
    with torch.no_grad():
        a2m.prior_net[-1].weight.mul_(-1.0)
    plugin_fa2 = model.split_audio(model.encode_audio(windows))[1]
    assert not torch.allclose(plugin_fa, plugin_fa2)
    assert not torch.allclose(w1, model.deform(x, plugin_fa2, eye).dx_face)
    # training: the VAE is frozen in every stage, the rest trains, the loss is finite
    system = TalkingHeadSystem(model, num_rays=128)
    system.prepare(data)
    system.set_stage("head")
    names = {id(p): n for n, p in model.named_parameters()}
    grouped = [names[id(p)] for g in system.parameter_groups() for p in g["params"]]
    assert grouped and not any(n.startswith("audio2motion.") for n in grouped)
    assert any(n.startswith("rsdf.") for n in grouped)
    out = system.training_step(frame, 1, 10, torch.Generator().manual_seed(0))
    out.loss.backward()
    assert all(p.grad is None for p in a2m.parameters())
    assert model.rsdf.face.net.net[-1].weight.grad.abs().sum() > 0
    system.after_step(16, torch.Generator().manual_seed(0))  # occupancy refresh splits F_a


def test_audio2motion_size_must_match_rsdf(data):
    with pytest.raises(ValueError, match="Audio2Motion latent"):
        wrap(_er(data), rsdf=RSDF(audio_dim=32, grid=SMALL_GRID), audio2motion=_a2m(data))
    with pytest.raises(ValueError, match="needs an rsdf"):
        wrap(_er(data), audio2motion=_a2m(data))


def test_rsdf_pose_norm_is_fitted_on_the_training_frames_at_prepare(data):
    """RSDF.pose_norm: the pipeline's prepare sets the pose scale from the training frames'
    head poses (once: a second prepare keeps it), a training step runs, and a wrapped model
    without the option has no such callback."""
    model = wrap(_er(data), rsdf=RSDF(audio_dim=32, hidden=16, grid=SMALL_GRID, pose_norm=True))
    system = TalkingHeadSystem(model, num_rays=128)
    system.prepare(data)
    torch.testing.assert_close(model.rsdf.pose_center, data.poses_6d.float().mean(0))
    std = data.poses_6d.float().std(0).clamp_min(RSDF.POSE_SCALE_FLOOR)
    torch.testing.assert_close(model.rsdf.pose_scale, std)
    with torch.no_grad():
        model.rsdf.pose_scale.mul_(2.0)
    system.prepare(data)  # a resumed or second stage: the scale it trained with stays
    torch.testing.assert_close(model.rsdf.pose_scale, 2.0 * std)
    system.set_stage("head")
    out = system.training_step(data[2], 1, 10, torch.Generator().manual_seed(0))
    assert torch.isfinite(out.loss)
    plain = wrap(_er(data), rsdf=RSDF(audio_dim=32, hidden=16, grid=SMALL_GRID))
    assert not [c for c in plain.training_callbacks() if c.fn.__name__ == "fit_pose"]
