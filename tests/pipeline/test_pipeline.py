"""The training pipeline knows a model only through TalkingHeadModel: preflight names every
gap at once, the source holds no probing, and the trained loss on a batch is eq. 12 of its
terms with the weights the gin config binds."""

from __future__ import annotations

import math
import re
from pathlib import Path

import gin
import pytest
import torch

import lokitalk_plugins.pipeline as pipeline
import lokitalk_plugins.pipeline.system as system_module
import lokitalk_plugins.registration  # noqa: F401  (the gin names)
from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
from lokitalk_plugins.data import TalkingHeadFolder
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.losses import (
    alpha_entropy,
    attention_masks,
    attention_regularization,
    region_regularization,
    region_weight_map,
)
from lokitalk_plugins.pipeline import (
    MODEL_MEMBERS,
    ModelContractError,
    TalkingHeadSystem,
    TrainingCallback,
    preflight,
)
from lokitalk_plugins.pipeline.configured import configured_system
from lokitalk_plugins.train import parse_config_files


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = write_identity(tmp_path_factory.mktemp("studio") / "id", seconds=1.0, size=32)
    return TalkingHeadFolder(folder, background="bc", preload=True, progress=False)


def test_preflight_lists_every_gap_in_one_error():
    class HalfModel(torch.nn.Module):
        torso_condition = "w2c"

        def forward(self, x):
            return x

    with pytest.raises(ModelContractError) as err:
        preflight(HalfModel())
    msg = str(err.value)
    missing = [m for m in MODEL_MEMBERS if m not in ("forward", "torso_condition")]
    for name in missing:
        assert f"no {name!r}" in msg
    assert "torso_condition='w2c'" in msg and "wrap" in msg
    with pytest.raises(ModelContractError, match="no 'param_groups'"):
        TalkingHeadSystem(HalfModel())


def test_the_pipeline_source_probes_nothing():
    forbidden = [r"\bhasattr\(", r"\bgetattr\(", r"inspect\.signature", r"\.startswith\(",
                 r"_PREFIXES", r"[\"']idakt\.", r"\bimport inspect\b"]  # fmt: skip
    root = Path(pipeline.__file__).parent
    found = []
    for path in sorted(root.glob("*.py")):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            found += [f"{path.name}:{i}: {line.strip()}" for p in forbidden if re.search(p, line)]
    assert not found, "\n".join(found)
    assert len(list(root.glob("*.py"))) >= 5  # the glob saw the package


class Recorder:
    """Wraps a function and keeps its last result."""

    def __init__(self, fn):
        self.fn, self.last = fn, None

    def __call__(self, *a, **k):
        self.last = self.fn(*a, **k)
        return self.last


def test_trained_loss_is_eq12_of_its_terms_with_gin_weights(data, monkeypatch):
    k = data.audio_features.shape[1]
    parse_config_files([], [
        "TalkingHeadSystem.model = @wrap()", "wrap.backbone = @ERNeRF()", "wrap.rsdf = @RSDF()",
        f"ERNeRF.audio_in_dim = {k}", f"ERNeRF.ind_num = {len(data)}", "ERNeRF.grid_size = 32",
        "TalkingHeadSystem.num_rays = 128", "TalkingHeadSystem.entropy_weight = 0.01",
        "TalkingHeadSystem.region_weights = {'face': 1.0, 'eyes': 3.0, 'lips': 2.0, "
        "'torso': 1.0, 'background': 0.5}",
        "wrap.lambda_delta = 0.5", "wrap.lambda_att = 0.25",
    ])  # fmt: skip
    try:
        torch.manual_seed(0)
        system = configured_system()
    finally:
        gin.clear_config()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # a trained-like deformation: offsets and attention non-zero
        for p in system.model.rsdf.parameters():
            if p.dim() == 2 and not p.any():
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    system.prepare(data)
    system.set_stage("head")
    rays = Recorder(system_module.sample_random_rays)
    monkeypatch.setattr(system_module, "sample_random_rays", rays)
    render = Recorder(system.renderer.render_rays)
    monkeypatch.setattr(system.renderer, "render_rays", render)
    out = system.training_step(data[0], 50, 100, torch.Generator().manual_seed(2))
    res, batch = render.last, rays.last
    m, ex = batch.masks, res.extras
    err = ((res.rgb - batch.rgb) ** 2).mean(-1)
    weights = region_weight_map(m, face=1.0, eyes=3.0, lips=2.0, torso=1.0, background=0.5)
    colour = (weights * err).mean()
    alpha = alpha_entropy(res.weights_sum).mean()
    delta = region_regularization(ex["dx_face_norm"], ex["dx_torso_norm"], m.face, m.torso)
    scores = {n: ex[n] for n in ("att_lip", "att_eye", "att_torso")}
    att = attention_regularization(scores, attention_masks(m))
    er = system.model.backbone.regularisers(res, batch, data[0], 0.5)
    assert delta > 0 and att > 0 and set(er) == {"ambient_aud", "eye_aud", "uncertainty"}
    want = colour + 0.01 * alpha + 0.5 * delta + 0.25 * att + sum(er.values())
    assert math.isclose(float(out.loss.detach()), float(want.detach()), rel_tol=1e-5)
    assert math.isclose(out.logs["lokitalk_delta"], float(0.5 * delta.detach()), rel_tol=1e-5)
    assert math.isclose(out.logs["lokitalk_att"], float(0.25 * att.detach()), rel_tol=1e-5)
    # the step logs the share of its rays the cap of occupied samples cut short
    cut = res.cut_short()
    assert cut.shape == res.weights_sum.shape
    assert math.isclose(out.logs["cut_short"], float(cut.float().mean()), abs_tol=1e-9)


def test_stage_groups_and_callbacks_come_from_the_model(data):
    class CountingERNeRF(ERNeRF):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.prepared, self.steps = [], []

        def training_callbacks(self):
            return [TrainingCallback("prepare", self.prepared.append),
                    TrainingCallback("step", self.steps.append, every=3)]  # fmt: skip

        def param_groups(self, stage):  # train only the colour MLP
            return {"mlp": list(self.color_net.parameters())}

    torch.manual_seed(0)
    k = data.audio_features.shape[1]
    model = CountingERNeRF(audio_in_dim=k, ind_num=len(data), grid_size=32)
    system = TalkingHeadSystem(model, num_rays=64)
    system.prepare(data)
    system.set_stage("head")
    assert model.prepared == [data]
    trained = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trained and all(n.startswith("color_net.") for n in trained)
    assert [g["name"] for g in system.parameter_groups()] == ["mlp"]
    for step in range(7):
        system.after_step(step, torch.Generator().manual_seed(step))
    assert model.steps == [0, 3, 6]
    with pytest.raises(ValueError, match="every must be >= 1"):
        TrainingCallback("step", print, every=0)
    model.param_groups = lambda stage: {"heads": list(model.color_net.parameters())}
    with pytest.raises(ValueError, match=r"groups \['heads'\]"):
        system.parameter_groups()


def test_old_paths_and_the_gin_name_still_reach_the_pipeline():
    from lokitalk_plugins.adapters.regularisers import lokitalk_regularisers as old_terms
    from lokitalk_plugins.baselines.pretrain_system import MultiIdentitySystem as OldMulti
    from lokitalk_plugins.baselines.system import TalkingHeadSystem as Old
    from lokitalk_plugins.baselines.system_losses import colour_loss as old_colour
    from lokitalk_plugins.losses import lokitalk_regularisers

    assert Old is TalkingHeadSystem and OldMulti is pipeline.MultiIdentitySystem
    assert old_colour is pipeline.colour_loss and old_terms is lokitalk_regularisers
    parse_config_files(["configs/base.gin"], [])
    try:
        ref = gin.query_parameter("train.system")
        assert ref.configurable.wrapped is TalkingHeadSystem  # base.gin binds the core class
    finally:
        gin.clear_config()


def test_learnt_camera_offsets_train_in_their_own_group_through_the_wrap():
    from lokitalk_plugins.adapters import wrap
    from lokitalk_plugins.baselines.rad_nerf.network import RADNeRF

    torch.manual_seed(0)
    model = wrap(RADNeRF(audio_in_dim=16, ind_num=4, grid_size=32, train_camera=True))
    with torch.no_grad():
        model.backbone.camera_dT[2] = torch.tensor([0.1, 0.2, 0.3])
    system = TalkingHeadSystem(model)
    system.set_stage("head")
    groups = {g["name"]: g for g in system.parameter_groups()}
    assert groups["camera"]["lr"] == 1e-5 and len(groups["camera"]["params"]) == 2
    o, d = torch.zeros(5, 3), torch.nn.functional.normalize(torch.ones(5, 3), dim=-1)
    o2, _ = model.camera_offset(o, d, 2)
    assert torch.allclose(o2, torch.tensor([0.1, 0.2, 0.3]).expand(5, 3))
    bare = wrap(RADNeRF(audio_in_dim=16, ind_num=4, grid_size=32))
    assert bare.camera_offset(o, d, 2) == (o, d)


def test_the_head_field_says_when_the_model_runs_bfloat16_inside(data):
    class FastERNeRF(ERNeRF):
        fast_path_precision = "float32"  # the optional member, as a wrapped model offers it

    kw = dict(audio_in_dim=data.audio_features.shape[1], ind_num=len(data), grid_size=32)
    frame = data[0]
    torch.manual_seed(0)
    bare = TalkingHeadSystem(ERNeRF(**kw), num_rays=64)
    assert bare.field(frame, training=False).runs_bfloat16 is False
    model = FastERNeRF(**kw)
    system = TalkingHeadSystem(model, num_rays=64)
    assert "fast_path_precision" in system.optional
    assert system.field(frame, training=False).runs_bfloat16 is False
    model.fast_path_precision = "bfloat16"  # what a wrapped model's bfloat16 fast path reports
    assert system.field(frame, training=False).runs_bfloat16 is True
