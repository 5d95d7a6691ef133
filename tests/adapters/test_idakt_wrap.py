"""ID-AKT in a wrapped backbone: identity at initialisation (RSDF on both backbones, and the
bare ER-NeRF field of Table 4), gradients into the encoder, the pre-trained bundle round trip
into a fine-tune wrap, its first-frame initialisation and the id_embeddings learning rate."""

from __future__ import annotations

import pytest
import torch
from adapter_helpers import SMALL_GRID, Frames, make_backbone, points

from lokitalk_plugins.adapters import save_identity_bundle, wrap
from lokitalk_plugins.baselines.system import TalkingHeadSystem
from lokitalk_plugins.idakt import IDAKT, FrozenIdentity
from lokitalk_plugins.rsdf import RSDF

IDAKT_SMALL = {"dynamic_dim": 8, "feature_dim": 32, "offset_dim": 8, "encoder": {"width": 8}}


def _wrapped(name: str, rsdf: bool = True, seed: int = 0):
    model = make_backbone(name, seed=seed)
    plug = None
    if rsdf:
        torch.manual_seed(seed + 1)
        plug = RSDF(audio_dim=model.audio_dim, hidden=16, grid=SMALL_GRID, id_dim=8)
    torch.manual_seed(seed + 2)
    return wrap(model, rsdf=plug, idakt=dict(IDAKT_SMALL))


def _ref(seed: int = 7):
    return torch.rand(24, 32, 3, generator=torch.Generator().manual_seed(seed))


def _inputs(w):
    g = torch.Generator().manual_seed(3)
    enc_a = torch.randn(1, w.audio_dim, generator=g)
    return enc_a, torch.rand(1, 1, generator=g), w.individual_code(1), torch.randn(1, 6) * 0.2


@pytest.mark.parametrize("name,rsdf", [("rad_nerf", True), ("er_nerf", True), ("er_nerf", False)])
def test_idakt_wrap_is_the_bare_field_at_init_and_trains_the_encoder(name, rsdf):
    w = _wrapped(name, rsdf)
    assert isinstance(w.idakt, IDAKT)
    x, d = points(200)
    enc_a, eye, code, pose = _inputs(w)
    with pytest.raises(RuntimeError, match="bind_reference"):
        w(x, d, enc_a, eye, code, pose=pose)
    w.bind_reference(_ref())
    out = w(x, d, enc_a, eye, code, pose=pose)
    bare = w.backbone(x, d, *w.backbone_condition(enc_a, eye), code)  # static with a plug-in
    assert torch.equal(out["sigma"], bare["sigma"]) and torch.equal(out["color"], bare["color"])
    assert torch.equal(w.encode_points(x), w.backbone.encode_points(x))
    (out["sigma"].mean() + out["color"].mean()).backward()
    heads = w.idakt.heads
    assert heads["appearance"].weight.grad.abs().sum() > 0  # colour decoder's code
    assert heads["geometry"].weight.grad.abs().sum() > 0  # density decoder's encoding
    if rsdf:
        assert set(w.idakt.hyper) == {"face", "torso"} and w.rsdf.id_dim == 8


def test_a_moved_identity_changes_the_field():
    w = _wrapped("er_nerf")
    with torch.no_grad():
        w.idakt.heads["geometry"].bias.fill_(0.3)
        w.idakt.heads["appearance"].bias.fill_(0.5)
    x, d = points(100)
    enc_a, eye, code, pose = _inputs(w)
    w.bind_reference(_ref())
    out, bare = w(x, d, enc_a, eye, code, pose=pose), w.backbone(x, d, enc_a, eye, code)
    assert not torch.allclose(out["sigma"], bare["sigma"])
    assert not torch.allclose(out["color"], bare["color"])


def test_idakt_sizes_are_checked():
    model = make_backbone("er_nerf")
    rsdf = RSDF(audio_dim=model.audio_dim, hidden=16, grid=SMALL_GRID, id_dim=8)
    bad = IDAKT(hyper_layers={"face": (16, 3)}, appearance_dim=4, geometry_dim=7, dynamic_dim=8)
    with pytest.raises(ValueError, match="geometry_dim=7 but the backbone needs"):
        wrap(model, rsdf=rsdf, idakt=bad)
    with pytest.raises(ValueError, match="not both"):
        wrap(model, rsdf=rsdf, idakt=True, pretrained="somewhere")


def test_bundle_round_trip_into_a_fine_tune_wrap(tmp_path):
    pre = _wrapped("er_nerf", seed=0)
    with torch.no_grad():  # a "trained" identity: non-zero heads and hyper-networks
        for p in pre.idakt.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())) * 0.05)
        pre.rsdf.face.attention.keys["lip"].bias.fill_(0.25)
    path = save_identity_bundle(pre, tmp_path / "bundle", card={"identities": 2})
    assert (path / "model.safetensors").is_file() and (path / "config.json").is_file()

    fine = wrap(make_backbone("er_nerf", seed=5), pretrained=str(path),
                rsdf=RSDF(audio_dim=32, hidden=16, grid=SMALL_GRID, id_dim=8))  # fmt: skip
    assert isinstance(fine.idakt, FrozenIdentity) and not bool(fine.identity_ready)
    # shared weights came from the bundle, per-frame codes did not
    assert torch.equal(fine.backbone.sigma_net.net[0].weight, pre.backbone.sigma_net.net[0].weight)
    assert torch.equal(
        fine.rsdf.face.attention.keys["lip"].bias, pre.rsdf.face.attention.keys["lip"].bias
    )
    assert not torch.equal(fine.backbone.individual_codes, pre.backbone.individual_codes)
    # the first frame goes through the pre-trained encoder once
    image = _ref(11)
    assert fine.init_identity(Frames(image)) and bool(fine.identity_ready)
    assert not fine.init_identity(Frames(_ref(12)))  # once only
    want = pre.idakt.freeze(image.permute(2, 0, 1).unsqueeze(0))
    for key, value in want.state_dict().items():
        assert torch.allclose(fine.idakt.state_dict()[key], value, atol=1e-6), key
    # the fine-tune optimiser: id embeddings at lr_id, in their own group
    system = TalkingHeadSystem(fine, lr_id=1e-3)
    system.set_stage("head")
    groups = {g["name"]: g for g in system.parameter_groups()}
    assert groups["id_embeddings"]["lr"] == 1e-3
    ids = {id(p) for p in groups["id_embeddings"]["params"]}
    assert ids == {id(p) for p in fine.idakt.embedding_parameters()}
    # the shared offset field trains with the rest of ID-AKT (lr_idakt), not as an embedding
    assert groups["idakt"]["lr"] == system.lrs["idakt"]
    assert {id(p) for p in groups["idakt"]["params"]} == {
        id(p) for p in fine.idakt.offset_field.parameters()
    }
    # a checkpoint of the fine-tuned wrap reloads into a fresh wrap of the same bundle
    again = wrap(make_backbone("er_nerf", seed=9), pretrained=str(path),
                 rsdf=RSDF(audio_dim=32, hidden=16, grid=SMALL_GRID, id_dim=8))  # fmt: skip
    again.load_state_dict(fine.state_dict(), strict=True)
    assert bool(again.identity_ready) and not again.init_identity(Frames(_ref(13)))


@pytest.mark.parametrize("name", ["er_nerf", "rad_nerf"])
def test_a_bundle_without_a_2d_torso_loads_into_a_backbone_with_one(tmp_path, name):
    """Pre-trained with the torso in the 3D field, fine-tuned with the originals' 2D torso
    stage (Table 1's ablation): the shared weights load, the torso field keeps its initial
    values for the torso stage to train; the reverse (torso weights the wrap has no place for)
    is still refused."""
    from lokitalk_plugins.baselines.groups import TORSO_PREFIXES
    from lokitalk_plugins.idakt.hub import ComponentMismatchError

    pre = _wrapped(name, seed=0)
    path = save_identity_bundle(pre, tmp_path / "bundle")
    fresh = make_backbone(name, torso=True, seed=5)
    init = {k: v.clone() for k, v in fresh.state_dict().items() if k.startswith(TORSO_PREFIXES)}
    assert init, "the backbone has a 2D torso field"
    rsdf = RSDF(audio_dim=fresh.audio_dim, hidden=16, grid=SMALL_GRID, id_dim=8)
    fine = wrap(fresh, pretrained=str(path), rsdf=rsdf)
    state = fine.backbone.state_dict()
    shared = [k for k in pre.backbone.state_dict() if k.startswith(("sigma_net", "color_net"))]
    assert len(shared) >= 4
    for key in shared:
        assert torch.equal(state[key], pre.backbone.state_dict()[key]), key
    for key, value in init.items():
        assert torch.equal(state[key], value), key
    with_torso = wrap(make_backbone(name, torso=True, seed=0),
                      rsdf=RSDF(audio_dim=fresh.audio_dim, hidden=16, grid=SMALL_GRID, id_dim=8),
                      idakt=dict(IDAKT_SMALL))  # fmt: skip
    back = save_identity_bundle(with_torso, tmp_path / "torso_bundle")
    plain = make_backbone(name, seed=5)
    with pytest.raises(ComponentMismatchError, match="unexpected .*torso"):
        wrap(
            plain,
            pretrained=str(back),
            rsdf=RSDF(audio_dim=plain.audio_dim, hidden=16, grid=SMALL_GRID, id_dim=8),
        )


@pytest.mark.parametrize("settings", [{"dynamic_dim": 16, "no_such": 1}, None, [3]])
def test_a_bundle_config_that_builds_no_idakt_is_one_message(tmp_path, settings):
    import json

    from lokitalk_plugins.idakt.hub import ComponentMismatchError

    pre = _wrapped("er_nerf", seed=0)
    path = save_identity_bundle(pre, tmp_path / "bundle")
    meta = json.loads((path / "config.json").read_text())
    meta["config"]["idakt"] = settings
    (path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ComponentMismatchError, match="'idakt' settings of its config.json"):
        wrap(make_backbone("er_nerf", seed=5), pretrained=str(path),
             rsdf=RSDF(audio_dim=32, hidden=16, grid=SMALL_GRID, id_dim=8))  # fmt: skip


def test_a_bundle_of_another_backbone_is_refused(tmp_path):
    pre = _wrapped("er_nerf", rsdf=False)
    path = save_identity_bundle(pre, tmp_path / "b")
    with pytest.raises(ValueError, match="pre-trained on backbone 'er_nerf'"):
        wrap(make_backbone("rad_nerf"), pretrained=str(path))
