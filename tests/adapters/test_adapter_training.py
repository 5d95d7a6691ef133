"""A wrapped backbone is a drop-in for TalkingHeadSystem: it trains on a tiny studio folder
(the deformation learns), renders a frame exactly as the bare backbone at initialisation,
gets the frame's head pose, and keeps the stages' parameter split."""

from __future__ import annotations

import pytest
import torch
from adapter_helpers import SMALL_GRID

from lokitalk_plugins.adapters import WrappedModel, wrap
from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
from lokitalk_plugins.baselines.rad_nerf.network import RADNeRF
from lokitalk_plugins.baselines.system import TalkingHeadSystem
from lokitalk_plugins.data import TalkingHeadFolder
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.rsdf import RSDF


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = write_identity(tmp_path_factory.mktemp("studio") / "id", seconds=1.0, size=32)
    return TalkingHeadFolder(folder, preload=True, progress=False)


def _backbone(cls, data, torso=False):
    torch.manual_seed(0)
    return cls(audio_in_dim=data.audio_features.shape[1], ind_num=len(data), torso=torso,
               grid_size=32)  # fmt: skip


def _wrapped(cls, data, torso=False):
    model = _backbone(cls, data, torso)
    torch.manual_seed(1)
    rsdf = RSDF(audio_dim=model.audio_dim, hidden=32, grid=SMALL_GRID)
    # the backbone's own audio path, so the wrapped system renders as the bare one at init
    return wrap(model, rsdf=rsdf, static_canonical=False)


def _system(model, data):
    system = TalkingHeadSystem(model, num_rays=512, lr_grid=1e-2, lr_mlp=1e-3)
    system.prepare(data)
    return system


def test_wrapped_er_nerf_trains_and_learns_a_deformation(data):
    w = _wrapped(ERNeRF, data)
    system = _system(w, data)
    system.set_stage("head")
    groups = {g["name"]: g for g in system.parameter_groups()}
    grid_ids = {id(p) for p in groups["grid"]["params"]}
    assert id(w.rsdf.encoder.embeddings) in grid_ids
    assert id(w.backbone.encoder_xy.embeddings) in grid_ids
    opt = torch.optim.Adam([{"params": g["params"], "lr": g["lr"]} for g in groups.values()])
    gen = torch.Generator().manual_seed(0)
    steps, losses, logs = 40, [], None
    for step in range(1, steps + 1):
        out = system.training_step(data[step % len(data)], step, steps, gen)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        system.after_step(step, gen)
        losses.append(out.loss.item())
        logs = out.logs
    assert sum(losses[-5:]) / 5 < 0.6 * sum(losses[:5]) / 5
    # the regularisers included LokiTalk's terms next to ER-NeRF's own
    assert {"lokitalk_delta", "lokitalk_att", "ambient_aud", "uncertainty"} <= set(logs)
    assert logs["lokitalk_att"] > 0
    # the deformation learned: non-zero offsets in the head box
    frame = data[0]
    with torch.no_grad():
        enc_a = w.encode_audio(frame.audio.unsqueeze(0).float())
        x = (torch.rand(512, 3, generator=gen) * 2 - 1) * torch.tensor([0.8, 0.4, 0.8])
        warp = w.deform(x, enc_a, frame.eye.reshape(1, 1).float(), frame.pose.reshape(1, 6))
    assert warp.dx_face.norm(dim=-1).mean() > 1e-3 and warp.dx_torso.norm(dim=-1).mean() > 1e-3
    out = system.render_frame(frame)
    assert out["rgb"].shape == (32, 32, 3) and torch.isfinite(out["rgb"]).all()
    assert w.grid.mean_density > 0


@pytest.mark.parametrize("cls", [RADNeRF, ERNeRF])
def test_a_wrapped_system_renders_a_frame_exactly_as_the_bare_one_at_init(cls, data):
    bare = _system(_backbone(cls, data), data)
    wrapped = _system(_wrapped(cls, data), data)
    frame = data[1]
    a, b = bare.render_frame(frame), wrapped.render_frame(frame)
    for key in ("rgb", "depth", "alpha"):
        assert torch.equal(a[key], b[key]), key
    gen_a, gen_b = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    torch.manual_seed(5)
    la = bare.training_step(frame, 1, 10, gen_a)
    torch.manual_seed(5)
    lb = wrapped.training_step(frame, 1, 10, gen_b)
    assert la.logs["psnr"] == lb.logs["psnr"]


class PoseSpy(WrappedModel):
    def forward(self, x, d, enc_a, eye, code, pose=None):
        self.seen_pose = pose
        return super().forward(x, d, enc_a, eye, code, pose=pose)


def test_the_system_passes_the_frame_pose(data):
    model = _backbone(ERNeRF, data)
    spy = PoseSpy(model, RSDF(audio_dim=model.audio_dim, hidden=16, grid=SMALL_GRID))
    system = _system(spy, data)
    frame = data[2]
    field = system.field(frame, training=False)
    field(torch.zeros(4, 3), torch.tensor([[0.0, 0.0, 1.0]]).expand(4, 3))
    assert torch.equal(spy.seen_pose, frame.pose.reshape(1, 6).float())


def test_stages_split_the_wrapped_parameters(data):
    w = _wrapped(RADNeRF, data, torso=True)
    system = _system(w, data)
    system.set_stage("torso")
    trained = {n for n, p in w.named_parameters() if p.requires_grad}
    assert trained and all(n.startswith(("backbone.torso_", "backbone.individual_codes_torso"))
                           for n in trained)  # fmt: skip
    assert "backbone.torso_net.net.0.weight" in trained
    system.set_stage("head")
    trained = {n for n, p in w.named_parameters() if p.requires_grad}
    assert "rsdf.face.net.net.0.weight" in trained and "backbone.sigma_net.net.0.weight" in trained
    assert not any(n.startswith("backbone.torso_") for n in trained)
    groups = {g["name"]: g for g in system.parameter_groups()}
    assert id(w.backbone.audio_att_net.attentionNet[0].weight) in {
        id(p) for p in groups["audio_att"]["params"]
    }
