"""GDRF trains and renders through TalkingHeadSystem on a tiny studio folder; its data errors
are one line naming the file or folder."""

from __future__ import annotations

import pytest
import torch

from lokitalk_plugins.baselines.gdrf import GDRF, GDRFDataError
from lokitalk_plugins.baselines.system import TalkingHeadSystem
from lokitalk_plugins.data import TalkingHeadFolder
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.pipeline import TalkingHeadModel, TrainBatch


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_identity(tmp_path_factory.mktemp("studio") / "id000", seconds=1.0, size=32)


@pytest.fixture(scope="module")
def data(folder):
    return TalkingHeadFolder(folder, preload=True, progress=False)


def _system(data, **kw):
    torch.manual_seed(0)
    model = GDRF(audio_in_dim=data.audio_features.shape[1], **kw)
    system = TalkingHeadSystem(model, num_rays=256, lr_mlp=1e-3)
    system.prepare(data)
    system.set_stage("head")
    return system


def test_shapes_references_and_gradients(data):
    system = _system(data)
    m = system.model
    assert isinstance(m, TalkingHeadModel)
    assert m.ref_images.shape == (4, 3, 32, 32) and m.ref_c2w.shape == (4, 4, 4)
    assert torch.equal(m.ref_images[0], data[0].image.permute(2, 0, 1))
    z = m.encode_audio(data[0].audio[None])
    assert z.shape == (1, 64)
    volumes, flow = m.warped_volumes(z)
    assert volumes.shape == (4, 32, 16, 16) and flow.abs().max() == 0  # H/2; identity at init
    x = torch.rand(50, 3) - 0.5
    d = torch.nn.functional.normalize(torch.randn(50, 3), dim=-1)
    out = m(x, d, z, None, m.individual_code(None))
    assert out["sigma"].shape == (50,) and out["color"].shape == (50, 3)
    assert out["attention"].shape == (50, 4)
    (out["sigma"].mean() + out["color"].mean()).backward()
    for name in ("encoder.net.0.weight", "warp.flow.weight", "mapping.net.0.weight",
                 "aggregate.to_k.weight", "audio2exp.head.weight"):  # fmt: skip
        grad = dict(m.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    frame = data[3]
    terms = m.loss_terms(None, TrainBatch(rays=None, frame=frame), 0.0)
    assert set(terms) == {"lstm"} and terms["lstm"] > 0
    assert m.param_groups("torso") == {}


def _short_run(system, data, steps: int, log: str | None = None) -> list[float]:
    """``steps`` seeded Adam steps of ``system`` over ``data``: the loss of each step, or the
    logged term ``log``."""
    opt = torch.optim.Adam([{"params": g["params"], "lr": g["lr"]}
                            for g in system.parameter_groups()])  # fmt: skip
    g = torch.Generator().manual_seed(0)
    values = []
    for step in range(1, steps + 1):
        out = system.training_step(data[step % len(data)], step, steps, g)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        system.after_step(step, g)
        values.append(out.loss.item() if log is None else out.logs[log])
    return values


def test_a_short_run_lowers_the_loss_and_a_checkpoint_renders_alike(data):
    system = _system(data)
    losses = _short_run(system, data, 40)
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5
    frame = data[1]
    rendered = system.render_frame(frame)["rgb"]
    assert rendered.shape == (32, 32, 3)
    # a fresh model takes the references and the identity from the state_dict alone
    fresh = GDRF(audio_in_dim=data.audio_features.shape[1])
    fresh.load_state_dict(system.model.state_dict())
    again = TalkingHeadSystem(fresh, num_rays=256)
    again.model.grid.load_state_dict(system.model.grid.state_dict())
    assert torch.allclose(again.render_frame(frame)["rgb"], rendered, atol=1e-5)


def test_descriptors_of_table6(data):
    for descriptor, lstm in (("audio", False), ("lstm", True)):
        m = _system(data, descriptor=descriptor).model
        assert m.encode_audio(data[0].audio[None]).shape == (1, 64)
        frame = TrainBatch(rays=None, frame=data[0])
        assert ("lstm" in m.loss_terms(None, frame, 0.0)) is lstm


def test_the_image_space_warp_matches_at_init(data):
    feature = _system(data).model
    image = _system(data, warp_space="image").model
    z = feature.encode_audio(data[0].audio[None])
    assert torch.allclose(image.warped_volumes(z)[0], feature.warped_volumes(z)[0], atol=1e-5)


def test_fewer_frames_than_references(data):
    with pytest.raises(GDRFDataError, match=r"fewer than GDRF's 40 references.*num_references"):
        _system(data, num_references=40)


def test_a_clip_shorter_than_the_lstm_window(data):
    with pytest.raises(GDRFDataError, match=r"fewer than the LSTM window of 64.*GDRF's LSTM"):
        _system(data, seq_len=64)


def test_track_params_without_exp_or_id(tmp_path):
    root = write_identity(tmp_path / "id001", seconds=1.0, size=16)
    data = TalkingHeadFolder(root, progress=False)
    params = torch.load(root / "track_params.pt")
    torch.save({k: v for k, v in params.items() if k != "id"}, root / "track_params.pt")
    with pytest.raises(GDRFDataError, match=r"track_params.pt: has no 'id'.*descriptor = 'lstm'"):
        _system(data)
    assert _system(data, descriptor="lstm").model.ref_images.shape[0] == 4
    torch.save({k: v for k, v in params.items() if k != "exp"}, root / "track_params.pt")
    with pytest.raises(GDRFDataError, match=r"track_params.pt: has no 'exp'") as err:
        _system(data)
    assert "\n" not in str(err.value)


def test_the_gin_file_trains_and_reloads(folder, tmp_path):
    import gin

    import lokitalk_plugins.registration  # noqa: F401  (registers the configurables)
    from lokitalk_plugins.commands.workspace import load_system, write_run
    from lokitalk_plugins.train.run import train_from_config

    files = ["configs/gdrf.gin"]
    short = ["head/Trainer.steps = 3", "Trainer.val_every = 3", "GDRF.audio_in_dim = 32",
             "TalkingHeadSystem.num_rays = 64"]  # fmt: skip
    try:
        write_run(tmp_path, folder, files, short, "aud.npy")
        out = train_from_config(files, short, data=folder, workspace=tmp_path, progress=False)
        assert out["stages"]["head"]["final_loss"] is not None
        system, _, _ = load_system(tmp_path)
        assert isinstance(system.model, GDRF) and system.model.ref_images.shape[0] == 4
        data = TalkingHeadFolder(folder, split="val", progress=False)
        assert system.render_frame(data[0])["rgb"].shape == (32, 32, 3)
    finally:
        gin.clear_config()


def test_the_lstm_starts_from_a_lokitalk_audio2exp_checkpoint(folder, tmp_path):
    from lokitalk_plugins.train.audio2exp import load_audio2exp_model, train_audio2exp

    path = tmp_path / "a2e.pt"
    train_audio2exp([str(folder)], str(path), steps=3, hidden=16, seq_len=8, progress=False)
    model = GDRF(audio_in_dim=32, lstm_hidden=16, seq_len=8, audio2exp_init=str(path))
    saved = load_audio2exp_model(path)
    assert bool(model.lstm_ready)
    assert torch.equal(model.audio2exp.lstm.weight_hh_l0, saved.lstm.weight_hh_l0)
    with pytest.raises(GDRFDataError, match=r"a2e.pt: an Audio2Exp of .*bind GDRF.lstm_hidden"):
        GDRF(audio_in_dim=32, audio2exp_init=str(path))


def test_feature_volumes_at_half_resolution(data):
    """feature_stride 2 (the default): V_i and the flow at H/2 (16 x 16 for 32 px), the same
    weight shapes as at H/4, identity warp at init in either warp space; any other stride is
    one line."""
    quarter, half = _system(data, feature_stride=4).model, _system(data).model
    assert quarter.warped_volumes(quarter.encode_audio(data[0].audio[None]))[0].shape[-1] == 8
    z = half.encode_audio(data[0].audio[None])
    volumes, flow = half.warped_volumes(z)
    assert volumes.shape == (4, 32, 16, 16) and flow.shape == (4, 2, 16, 16)
    assert flow.abs().max() == 0
    shapes = lambda m: {k: v.shape for k, v in m.state_dict().items()}  # noqa: E731
    assert shapes(half) == shapes(quarter) and half.config()["feature_stride"] == 2
    image = _system(data, feature_stride=2, warp_space="image").model
    assert torch.allclose(image.warped_volumes(z)[0], volumes, atol=1e-5)
    x = torch.rand(20, 3) - 0.5
    d = torch.nn.functional.normalize(torch.randn(20, 3), dim=-1)
    out = half(x, d, z, None, half.individual_code(None))
    out["color"].mean().backward()
    assert half.encoder.net[2].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r"GDRF.feature_stride must be one of \(2, 4\), got 3"):
        GDRF(audio_in_dim=8, feature_stride=3)


def test_checkpoints_record_the_feature_stride_and_older_ones_read_as_h4(data):
    """The weights have the same shapes at either stride, so a checkpoint holds
    ``volume_stride``: loading it into a model of the other stride is refused in one line
    naming the option to bind; a file without it (written before it was recorded) is an H/4
    one, through ``load_model_weights`` and ``load_state_dict`` alike."""
    from lokitalk_plugins.baselines.gdrf import GDRFCheckpointError
    from lokitalk_plugins.train import load_model_weights

    half, quarter = _system(data), _system(data, feature_stride=4)
    state = half.state_dict()
    assert int(state["model.volume_stride"]) == 2
    load_model_weights(_system(data), {"model": state}, strict=True)
    with pytest.raises(GDRFCheckpointError, match=r"GDRF.feature_stride = 2 \(here 4\): bind "
                                                  r"GDRF.feature_stride = 2") as err:  # fmt: skip
        load_model_weights(quarter, {"model": state}, strict=True)
    assert "\n" not in str(err.value)
    old = {k: v for k, v in quarter.state_dict().items() if k != "model.volume_stride"}
    load_model_weights(_system(data, feature_stride=4), {"model": old}, strict=True)
    _system(data, feature_stride=4).load_state_dict(old, strict=True)
    with pytest.raises(GDRFCheckpointError, match=r"= 4 \(here 2\)"):
        load_model_weights(_system(data), {"model": old}, strict=True)
    with pytest.raises(GDRFCheckpointError, match=r"= 4 \(here 2\)"):
        _system(data).load_state_dict(old)


def test_the_neck_term_is_the_squared_alpha_on_the_neck_and_torso_rays(data):
    """λ_n L_n = λ_n mean(alpha^2 on the parsing's neck and torso rays, 0 elsewhere) beside the
    LSTM's term; no term at λ_n 0; a negative λ_n is one line; with both terms on, both are
    there; a short run with it lowers the alpha on the neck and torso rays."""
    from types import SimpleNamespace

    from lokitalk_plugins.baselines.gdrf.network import neck_loss

    alpha = torch.tensor([1.0, 0.25, 0.0, 0.5], requires_grad=True)
    torso = torch.tensor([False, True, True, True])
    assert neck_loss(alpha, torso).item() == pytest.approx((0 + 0.0625 + 0 + 0.25) / 4)
    neck_loss(alpha, torso).backward()
    assert alpha.grad.tolist() == pytest.approx([0.0, 2 * 0.25 / 4, 0.0, 2 * 0.5 / 4])
    frame = data[3]
    rays = SimpleNamespace(masks=SimpleNamespace(face=~torso, torso=torso))
    res = SimpleNamespace(weights_sum=alpha.detach())
    system = _system(data, lambda_neck=0.5)
    terms = system.model.loss_terms(res, TrainBatch(rays=rays, frame=frame), 0.0)
    assert set(terms) == {"neck", "lstm"}
    assert terms["neck"].item() == pytest.approx(0.5 * 0.3125 / 4)
    both = _system(data, lambda_neck=0.5, lambda_silhouette=0.1).model
    assert set(both.loss_terms(res, TrainBatch(rays=rays, frame=frame), 0.0)) == {
        "neck", "silhouette", "lstm"}  # fmt: skip
    with pytest.raises(ValueError, match=r"GDRF.lambda_neck must be >= 0, got -1"):
        GDRF(audio_in_dim=8, lambda_neck=-1)
    necks = _short_run(system, data, 30, "neck")
    assert sum(necks[-5:]) / 5 < sum(necks[:5]) / 5


def test_the_silhouette_term_is_the_squared_alpha_error_against_the_head_mask(data):
    """λ_s L_s = λ_s mean((alpha - head)^2) beside the LSTM's term; off (no term) at λ_s 0;
    its gradient reaches the density; a negative λ_s is one line; a short run with it lowers
    the loss and the alpha error on the head mask."""
    from types import SimpleNamespace

    from lokitalk_plugins.baselines.gdrf.network import silhouette_loss

    alpha = torch.tensor([1.0, 0.25, 0.0, 0.5])
    head = torch.tensor([True, False, True, True])
    assert silhouette_loss(alpha, head).item() == pytest.approx((0 + 0.0625 + 1 + 0.25) / 4)
    frame = data[3]
    rays = SimpleNamespace(masks=SimpleNamespace(face=head))
    res = SimpleNamespace(weights_sum=alpha)
    system = _system(data, lambda_silhouette=0.5)
    terms = system.model.loss_terms(res, TrainBatch(rays=rays, frame=frame), 0.0)
    assert set(terms) == {"silhouette", "lstm"}
    assert terms["silhouette"].item() == pytest.approx(0.5 * 1.3125 / 4)
    plain = _system(data).model.loss_terms(res, TrainBatch(rays=rays, frame=frame), 0.0)
    assert set(plain) == {"lstm"}
    with pytest.raises(ValueError, match=r"GDRF.lambda_silhouette must be >= 0, got -1"):
        GDRF(audio_in_dim=8, lambda_silhouette=-1)
    # trained with the term: it is logged, its gradient reaches f_θ, the loss goes down
    opt = torch.optim.Adam([{"params": g["params"], "lr": g["lr"]}
                            for g in system.parameter_groups()])  # fmt: skip
    g = torch.Generator().manual_seed(0)
    losses, sils = [], []
    for step in range(1, 41):
        out = system.training_step(data[step % len(data)], step, 40, g)
        opt.zero_grad()
        out.loss.backward()
        if step == 1:
            assert system.model.sigma_net.net[0].weight.grad.abs().sum() > 0
        opt.step()
        system.after_step(step, g)
        losses.append(out.loss.item())
        sils.append(out.logs["silhouette"])
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5
    assert sum(sils[-5:]) / 5 < sum(sils[:5]) / 5
