"""The DH-NeRF wrapped as a backbone: ``wrap(DHNeRF(...), rsdf=...)`` finds its adapter, meets
the TalkingHeadModel protocol, renders exactly as the bare model at initialisation (its own
audio path, or the static canonical condition) and trains with RSDF, its codes initialised by
the wrap's "prepare" and its own loss terms beside LokiTalk's."""

from __future__ import annotations

import pytest
import torch
from dhnerf_helpers import DIMS, extractor_bindings, make_model, short_run

from lokitalk_plugins.adapters import DHNeRFAdapter, wrap
from lokitalk_plugins.baselines.dhnerf import CodeExtractor
from lokitalk_plugins.data import TalkingHeadFolder
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.pipeline import TalkingHeadModel, TalkingHeadSystem, preflight
from lokitalk_plugins.rsdf import RSDF

GRID = dict(num_levels=4, level_dim=2, base_resolution=8, desired_resolution=32,
            log2_hashmap_size=10, backend="torch")  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = write_identity(tmp_path_factory.mktemp("studio") / "id", seconds=0.8, size=32)
    return TalkingHeadFolder(folder, background="bc", preload=True, progress=False)


def wrapped(data, static_canonical=True, **kw):
    bare = make_model(data, CodeExtractor(**DIMS, size=16, width=8), **kw)
    torch.manual_seed(1)
    rsdf = RSDF(audio_dim=bare.audio_dim, hidden=32, grid=GRID)
    return bare, wrap(bare, rsdf=rsdf, static_canonical=static_canonical)


@pytest.mark.parametrize("static", [False, True])
def test_wrapped_renders_exactly_as_the_bare_model_at_init(data, static):
    bare, model = wrapped(data, static)
    preflight(model)
    assert isinstance(model, TalkingHeadModel) and isinstance(model.adapter, DHNeRFAdapter)
    assert model.grid is bare.grid and model.audio_dim == 32 and not model.torso
    g = torch.Generator().manual_seed(2)
    x = torch.rand(64, 3, generator=g) * 1.2 - 0.6
    d = torch.nn.functional.normalize(torch.randn(64, 3, generator=g), dim=-1)
    enc_a = model.encode_audio(data[3].audio[None].float())
    eye, pose = torch.rand(1, 1, generator=g), torch.randn(1, 6, generator=g) * 0.1
    # the static canonical condition: no F_lip into D_θ (and, at test time, the mean C_ex)
    seen = None if static else enc_a
    with torch.no_grad():
        for code in (model.individual_code(3), model.individual_code(None)):
            out, own = model(x, d, enc_a, eye, code, pose=pose), bare(x, d, seen, eye, code)
            for key in ("sigma", "color", "geo_feat"):
                torch.testing.assert_close(out[key], own[key], rtol=0, atol=0)
            assert out["dx_face_norm"].abs().max() == 0  # RSDF's maps ride along, all 0
    a = TalkingHeadSystem(bare, num_rays=64).render_frame(data[5])["rgb"]
    b = TalkingHeadSystem(model, num_rays=64).render_frame(data[5])["rgb"]
    assert torch.equal(a, b)  # at init D_θ reads neither F_lip nor C_ex (both from zero)
    # the static condition leaves F_lip out of D_θ and reads the mean C_ex where the bare
    # model reads E(F_lip): once D_θ reads C_ex (its weights at PyTorch's init) the frame
    # differs, by design; with its own audio path the wrap stays exact
    bare, model = wrapped(data, static, ex_init="default")
    a = TalkingHeadSystem(bare, num_rays=64).render_frame(data[5])["rgb"]
    b = TalkingHeadSystem(model, num_rays=64).render_frame(data[5])["rgb"]
    assert torch.equal(a, b) == (not static)


def test_wrapped_with_rsdf_trains_and_lowers_the_loss(data):
    bare, model = wrapped(data)
    system = TalkingHeadSystem(model, num_rays=256, lr_mlp=2e-3)
    system.prepare(data)  # the wrap passes the DH-NeRF's "prepare" on: codes from the extractor
    assert int(bare.coded_frames) == len(data)
    system.set_stage("head")
    trained = {id(p) for g in system.parameter_groups() for p in g["params"]}
    assert id(bare.codes_ex) in trained and id(model.rsdf.encoder.embeddings) in trained
    assert not trained & {id(p) for p in bare.extractor.parameters()}

    def held_out():
        with torch.no_grad():
            out = system.training_step(data[3], 0, 1, torch.Generator().manual_seed(7))
        return out.logs

    before = held_out()
    losses = short_run(system, data, 40)
    after = held_out()
    assert {"dhnerf_dis", "dhnerf_ex_audio", "lokitalk_delta", "lokitalk_att"} <= set(after)
    assert after["loss"] < 0.8 * before["loss"], (before["loss"], after["loss"])
    assert sum(losses[-5:]) < sum(losses[:5])


@pytest.mark.slow
def test_dhnerf_odr_gin_trains_and_reloads_the_wrapped_model(data, tmp_path):
    import gin

    import lokitalk_plugins.registration  # noqa: F401  (the gin names)
    from lokitalk_plugins.adapters import WrappedModel
    from lokitalk_plugins.commands.workspace import load_system, write_run
    from lokitalk_plugins.train.run import train_from_config

    files = ["configs/dhnerf_odr.gin"]
    short = ["head/Trainer.steps = 3", "Trainer.val_every = 3", "DHNeRF.grid_size = 32",
             "DHNeRF.ind_num = 32", "TalkingHeadSystem.num_rays = 128",
             *extractor_bindings(tmp_path / "extractor.pt")]  # fmt: skip
    ws = tmp_path / "ws"
    write_run(ws, data.root, files, short, "aud.npy")
    try:
        out = train_from_config(files, short, data=data.root, workspace=ws, progress=False)
        assert out["stages"]["head"]["final_loss"] is not None
        system, _, _ = load_system(ws)
    finally:
        gin.clear_config()
    model = system.model
    assert isinstance(model, WrappedModel) and model.adapter.name == "dhnerf"
    assert int(model.backbone.coded_frames) == len(data) and model.rsdf.audio_dim == 32
    assert system.render_frame(data[0])["rgb"].shape == (32, 32, 3)


class _Condition(torch.nn.Module):
    """A frozen audio condition of 32 channels: a fixed linear map of the windows' mean."""

    latent_dim = 32

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(1, 32)

    def feature(self, windows):
        return torch.tanh(self.proj(windows.mean(dim=(1, 2, 3)).unsqueeze(-1)))


def test_with_an_audio_condition_e_is_fitted_to_the_feature_the_field_reads(data):
    """wrap(DH-NeRF, audio_condition=...) without a static canonical space: D_θ reads the
    condition's feature as F_lip, so E's fit (dhnerf_ex_audio) must take that feature too."""
    from lokitalk_plugins.baselines.dhnerf import field as dh_field
    from lokitalk_plugins.pipeline import TrainBatch

    torch.manual_seed(0)
    bare, cond = make_model(data), _Condition()
    model = wrap(bare, audio_condition=cond)
    frame = data[4]
    windows = frame.audio.unsqueeze(0).float()
    seen = model.encode_audio(windows)  # what the field reads
    assert not torch.allclose(seen, dh_field.encode_audio(bare, windows))
    terms = model.loss_terms(None, TrainBatch(rays=None, frame=frame), 0.5)
    target = bare.codes_ex[frame.index].detach().unsqueeze(0)
    fit = torch.nn.functional.mse_loss(bare.expression_net(seen), target)
    torch.testing.assert_close(terms["dhnerf_ex_audio"], bare.lambda_expression * fit)
    # the bare model (and a wrap without a condition) fits E to its own audio encoding
    own = bare.expression_net(dh_field.encode_audio(bare, windows))
    expect = bare.lambda_expression * torch.nn.functional.mse_loss(own, target)
    for m in (bare, wrap(bare)):
        got = m.loss_terms(None, TrainBatch(rays=None, frame=frame), 0.5)["dhnerf_ex_audio"]
        torch.testing.assert_close(got, expect)
    assert not torch.allclose(expect, terms["dhnerf_ex_audio"])
