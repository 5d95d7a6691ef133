"""wrap() refuses invalid plug-in options and combinations itself, with a message that says
what to change, instead of a TypeError at the first forward; the deformation fields share a
base class that declares their parameter groups."""

from __future__ import annotations

import pytest
import torch
from adapter_helpers import SMALL_GRID, make_backbone, make_plugin

from lokitalk_plugins.adapters import wrap
from lokitalk_plugins.idakt import IDAKT, IDAKTOptions
from lokitalk_plugins.rsdf import (
    RSDF,
    DeformationField,
    JointDeformation,
    JointDeformationOptions,
    RSDFOptions,
)


def test_idakt_with_the_joint_field_is_refused_in_wrap():
    er = make_backbone("er_nerf")
    joint = make_plugin("joint", er.audio_dim)
    with pytest.raises(ValueError, match=r"JointDeformation takes no identity: use rsdf=RSDF"):
        wrap(er, rsdf=joint, idakt=True)
    with pytest.raises(ValueError, match="takes no identity"):
        wrap(er, rsdf=joint, pretrained="/nonexistent/bundle")
    with pytest.raises(ValueError, match="takes no identity"):
        joint(torch.zeros(2, 3), torch.zeros(1, 32), torch.zeros(1, 1), torch.zeros(1, 6),
              F_id=torch.zeros(1, 16))  # fmt: skip


def test_idakt_options_are_checked_before_anything_is_built():
    er = make_backbone("er_nerf")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['feature_dims'\]"):
        wrap(er, idakt={"feature_dims": 64})
    with pytest.raises(ValueError, match="sizes must be integers >= 1"):
        IDAKTOptions(feature_dim=0)
    rsdf = RSDF(audio_dim=er.audio_dim, hidden=32, grid=SMALL_GRID, id_dim=8)
    with pytest.raises(ValueError, match="dynamic_dim=16 but rsdf.id_dim=8"):
        wrap(er, rsdf=rsdf, idakt={"dynamic_dim": 16})
    with pytest.raises(ValueError, match="idakt must be None, True"):
        wrap(er, idakt="yes")
    with pytest.raises(ValueError, match="must be a DeformationField"):
        wrap(er, rsdf=torch.nn.Linear(3, 3))


def test_idakt_options_fill_in_the_sizes():
    er = make_backbone("er_nerf")
    rsdf = RSDF(audio_dim=er.audio_dim, hidden=32, grid=SMALL_GRID, id_dim=8)
    model = wrap(er, rsdf=rsdf, idakt=IDAKTOptions(feature_dim=32, offset_dim=4))
    assert isinstance(model.idakt, IDAKT)
    cfg = model.idakt.config()
    assert (cfg["feature_dim"], cfg["offset_dim"], cfg["dynamic_dim"]) == (32, 4, 8)
    assert cfg["hyper_layers"] == {k: list(v) for k, v in rsdf.hyper_layers.items()}


@pytest.mark.parametrize("kind", ["rsdf", "joint"])
def test_deformation_fields_share_the_base_and_its_groups(kind):
    field = make_plugin(kind, 32)
    assert isinstance(field, DeformationField)
    assert field.takes_identity == (kind == "rsdf")  # RSDF's last layers take ID-AKT
    groups = field.param_groups("head")
    assert [p.shape for p in groups["grid"]] == [field.encoder.embeddings.shape]
    n_all = len(list(field.parameters()))
    assert len(groups["grid"]) + len(groups["mlp"]) == n_all
    assert field.param_groups("torso") == {}
    assert isinstance(JointDeformation.map_names, tuple)


def test_deformation_options_are_checked_dataclasses_the_fields_keep():
    with pytest.raises(
        ValueError, match=r"rsdf options: sizes must be integers >= 1, got \{'hidden': 0\}"
    ):
        RSDF(audio_dim=32, hidden=0)  # the constructor (and so gin's RSDF.hidden) checks too
    with pytest.raises(ValueError, match="id_dim must be an integer >= 0"):
        RSDFOptions(id_dim=-1)
    with pytest.raises(
        ValueError, match=r"grid takes a dict of \[.*'num_levels'.*got \['levels'\]"
    ):
        JointDeformation(audio_dim=32, grid={"levels": 4})
    with pytest.raises(ValueError, match="bound must be > 0"):
        JointDeformationOptions(bound=0.0)
    with pytest.raises(ValueError, match=r"rsdf: unknown option\(s\) \['hiden'\]"):
        RSDFOptions.parse({"hiden": 16})
    field = RSDF(audio_dim=32, hidden=16, grid=SMALL_GRID, id_dim=8)
    assert field.options == RSDFOptions(audio_dim=32, hidden=16, grid=SMALL_GRID, id_dim=8)
    joint = JointDeformationOptions(audio_dim=32, hidden=16, grid=SMALL_GRID).build()
    assert isinstance(joint, JointDeformation) and joint.options.hidden == 16


def test_wrap_builds_a_field_from_options_to_the_wraps_sizes():
    er = make_backbone("er_nerf")
    # a dict: RSDF options (the backbone conditioned as bare, to compare with it below)
    model = wrap(er, rsdf={"hidden": 16, "grid": SMALL_GRID}, static_canonical=False)
    assert isinstance(model.rsdf, RSDF) and model.rsdf.audio_dim == er.audio_dim
    assert model.rsdf.id_dim == 0 and model.rsdf.options.hidden == 16
    joint = wrap(er, rsdf=JointDeformationOptions(hidden=16, grid=SMALL_GRID))
    assert isinstance(joint.rsdf, JointDeformation) and joint.rsdf.audio_dim == er.audio_dim
    ided = wrap(er, rsdf=RSDFOptions(hidden=16, grid=SMALL_GRID), idakt={"feature_dim": 16})
    assert ided.rsdf.id_dim == 16 and ided.idakt.config()["dynamic_dim"] == 16
    # what wrap() built renders exactly as the bare backbone at init (identity), under the
    # static condition of the unified canonical space (static_canonical, the default)
    x, d = torch.rand(32, 3) * 1.6 - 0.8, torch.nn.functional.normalize(torch.randn(32, 3), dim=-1)
    enc_a, eye, code = torch.randn(1, er.audio_dim), torch.rand(1, 1), er.individual_code(0)
    static_a, static_eye = model.backbone_condition(enc_a, eye)
    with torch.no_grad():
        torch.testing.assert_close(
            model(x, d, enc_a, eye, code)["sigma"], er(x, d, static_a, static_eye, code)["sigma"]
        )


def test_wrap_refuses_fields_the_pipeline_cannot_feed_saying_what_to_change():
    er = make_backbone("er_nerf")
    with pytest.raises(
        ValueError,
        match=r"RSDF.pose_dim=3 but the pipeline feeds F_h \(the head pose\) with 6 "
        r".*RSDF\(pose_dim=6",
    ):
        wrap(er, rsdf=RSDF(audio_dim=er.audio_dim, pose_dim=3, grid=SMALL_GRID))
    with pytest.raises(
        ValueError, match=r"JointDeformation.eye_dim=2 .*JointDeformation\(eye_dim=1"
    ):
        wrap(er, rsdf=JointDeformationOptions(eye_dim=2, grid=SMALL_GRID))
    with pytest.raises(ValueError, match=r"RSDF.id_dim=8 needs ID-AKT's F_id, .* or set id_dim=0"):
        wrap(er, rsdf=RSDF(audio_dim=er.audio_dim, grid=SMALL_GRID, id_dim=8))
    with pytest.raises(ValueError, match=r"rsdf.audio_dim=7 but F_a .* has 32 channels"):
        wrap(er, rsdf=RSDFOptions(audio_dim=7, grid=SMALL_GRID))


def test_train_deformation_false_keeps_the_field_out_of_every_stage():
    """wrap(train_deformation=False): the deformation field is in no parameter group (so it
    stays at its zero start: the static canonical field alone), the backbone still trains."""
    er = make_backbone("er_nerf")
    frozen = wrap(er, rsdf=JointDeformationOptions(hidden=16, grid=SMALL_GRID),
                  train_deformation=False)  # fmt: skip
    trained = wrap(
        make_backbone("er_nerf"), rsdf=JointDeformationOptions(hidden=16, grid=SMALL_GRID)
    )
    field_ids = {id(p) for p in frozen.rsdf.parameters()}
    for stage in ("head", "lips"):
        groups = frozen.param_groups(stage)
        ids = {id(p) for params in groups.values() for p in params}
        assert not ids & field_ids and ids  # the backbone's parameters still train
        own = {id(p) for params in trained.param_groups(stage).values() for p in params}
        assert {id(p) for p in trained.rsdf.parameters()} <= own
    assert frozen.frozen_prefixes == ("rsdf.",) and trained.frozen_prefixes == ()
    assert frozen.train_deformation is False and trained.train_deformation is True
