"""wrap() refuses invalid plug-in options and combinations itself, with a message that says
what to change, instead of a TypeError at the first forward; the deformation fields share a
base class that declares their parameter groups."""

from __future__ import annotations

import pytest
import torch
from adapter_helpers import SMALL_GRID, make_backbone, make_plugin

from lokitalk_plugins.adapters import wrap
from lokitalk_plugins.idakt import IDAKT, IDAKTOptions
from lokitalk_plugins.rsdf import RSDF, DeformationField, JointDeformation


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
