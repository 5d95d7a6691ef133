"""ID-AKT's dynamic half on a bare backbone (Table 4): the backbone's own dynamic MLPs take F_id
and a hyper-network last layer; identity at init on rendered rays (both backbones), gradients in
pre-training, the static-only ablation, and the bundle baked into a fine-tune wrap."""

from __future__ import annotations

import pytest
import torch
from adapter_helpers import Frames, conditioning, make_backbone, points, rays

from lokitalk_plugins.adapters import save_identity_bundle, wrap
from lokitalk_plugins.idakt import FrozenIdentity
from lokitalk_plugins.render import VolumeRenderer
from lokitalk_plugins.rsdf import RSDF

IDAKT_SMALL = {"dynamic_dim": 8, "feature_dim": 32, "offset_dim": 8, "encoder": {"width": 8}}
DYNAMIC = {"er_nerf": {"aud_ch_att_net", "eye_att_net"}, "rad_nerf": {"ambient_net"}}


def _bare(name: str, seed: int = 0, **options):
    model = make_backbone(name, seed=seed)
    torch.manual_seed(seed + 2)
    return wrap(model, idakt={**IDAKT_SMALL, **options})


def _ref(seed: int = 7):
    return torch.rand(24, 32, 3, generator=torch.Generator().manual_seed(seed))


def _trained_like(w, std: float = 0.05):
    """Random non-zero values in every ID-AKT parameter (a pre-trained identity)."""
    with torch.no_grad():
        for i, p in enumerate(w.idakt.parameters()):
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(i)) * std)


def _render(w, field, training):
    o, d = rays()
    torch.manual_seed(7)  # the training march jitters its samples
    renderer = VolumeRenderer(w.backbone.grid, max_samples=16)
    return renderer.render_rays(o, d, torch.tensor([0.2, 0.3, 0.4]), training=training,
                                extras=w.ray_extras, field=field)  # fmt: skip


@pytest.mark.parametrize("training", [True, False], ids=["train", "infer"])
@pytest.mark.parametrize("name", sorted(DYNAMIC))
def test_the_whole_idakt_on_a_bare_backbone_renders_as_the_backbone_at_init(name, training):
    w = _bare(name)
    assert set(w.idakt.hyper) == DYNAMIC[name] == set(w.idakt.id_inputs)
    for n, cols in w.idakt.id_inputs.items():  # F_id's columns join each MLP's first layer
        assert cols.shape == (getattr(w.backbone, n).net[0].weight.shape[0], 8)
    _, enc_a, eye, code, pose = conditioning(w.backbone)
    w.bind_reference(_ref())
    assert w.identity_outputs().dynamic.abs().sum() > 0  # F_id itself is not zero
    bare = _render(w, lambda x, d: w.backbone(x, d, enc_a, eye, code), training)
    res = _render(w, lambda x, d: w(x, d, enc_a, eye, code, pose=pose), training)
    assert bare.weights_sum.max() > 0.05  # the backbone renders something
    assert (res.rgb - bare.rgb).abs().max() < 1e-6
    assert (res.weights_sum - bare.weights_sum).abs().max() < 1e-6
    # only the dynamic half moved (F_id columns, hyper-networks): the render changes
    with torch.no_grad():
        for n in DYNAMIC[name]:
            w.idakt.id_inputs[n].normal_(0, 0.5, generator=torch.Generator().manual_seed(1))
            w.idakt.hyper[n].out.bias.normal_(0, 0.5, generator=torch.Generator().manual_seed(2))
    w.bind_reference(_ref())
    moved = _render(w, lambda x, d: w(x, d, enc_a, eye, code, pose=pose), training)
    assert (moved.rgb - bare.rgb).abs().max() > 1e-3


def test_gradients_reach_f_id_and_the_hyper_networks_in_pretraining():
    w = _bare("er_nerf")
    x, d = points(200)
    _, enc_a, eye, code, pose = conditioning(w.backbone)
    opt = torch.optim.SGD(w.idakt.parameters(), lr=0.5)
    grads = []
    for _ in range(2):  # at init the zero columns and hyper outputs block F_id and A: one step
        opt.zero_grad()
        w.bind_reference(_ref())
        out = w(x, d, enc_a, eye, code, pose=pose)
        (out["sigma"].mean() + out["color"].mean() + out["ambient_aud"].mean()).backward()
        grads.append({n: p.grad.abs().sum().item() for n, p in w.idakt.named_parameters()})
        opt.step()
    for n in DYNAMIC["er_nerf"]:
        assert grads[0][f"id_inputs.{n}"] > 0 and grads[0][f"hyper.{n}.out.bias"] > 0
        assert grads[1][f"hyper.{n}.out.weight"] > 0  # A f: the identity-specific part
    assert grads[0]["heads.dynamic.weight"] == 0 < grads[1]["heads.dynamic.weight"]
    assert grads[1]["encoder.blocks.0.weight"] > 0


def test_the_static_half_alone_is_a_named_option():
    w = _bare("er_nerf", dynamic=False)
    assert dict(w.idakt.hyper) == {} and dict(w.idakt.id_inputs) == {}
    model = make_backbone("er_nerf")
    rsdf = RSDF(audio_dim=model.audio_dim, hidden=16, id_dim=8)
    with pytest.raises(ValueError, match="dynamic=False .* is for a bare backbone"):
        wrap(model, rsdf=rsdf, idakt={**IDAKT_SMALL, "dynamic": False})
    with pytest.raises(ValueError, match="dynamic must be True or False"):
        wrap(model, idakt={**IDAKT_SMALL, "dynamic": "yes"})


def test_the_bundle_bakes_the_hyper_network_into_a_fine_tune_wrap_with_parity(tmp_path):
    pre = _bare("er_nerf", seed=0)
    _trained_like(pre)
    path = save_identity_bundle(pre, tmp_path / "bundle", card={"identities": 2})
    fine = wrap(make_backbone("er_nerf", seed=5), pretrained=str(path))
    image = _ref(11)
    assert fine.init_identity(Frames(image))
    assert isinstance(fine.idakt, FrozenIdentity) and fine._pending_encoder == []
    keys = list(fine.state_dict())
    assert not [k for k in keys if k.startswith(("idakt.encoder", "idakt.heads"))]
    assert {f"idakt.hyper.{n}" for n in DYNAMIC["er_nerf"]} <= set(keys)  # regular weights
    assert fine.idakt.hyper["aud_ch_att_net"].abs().sum() > 0
    # the fine-tune model on the first frame's identity is the pre-trained one on that frame
    x, d = points(300)
    _, enc_a, eye, code, pose = conditioning(pre.backbone)
    pre.bind_reference(image)
    with torch.no_grad():
        want = pre(x, d, enc_a, eye, code, pose=pose)
        got = fine(x, d, enc_a, eye, code, pose=pose)
    for k in ("sigma", "color", "ambient_aud", "ambient_eye"):
        assert (got[k] - want[k]).abs().max() < 1e-5 * (1 + want[k].abs().max()), k
    # without the dynamic half, the same bundle's identity gives other outputs
    with torch.no_grad():
        for n in DYNAMIC["er_nerf"]:
            fine.idakt.hyper[n].zero_()
        assert not torch.allclose(fine(x, d, enc_a, eye, code)["sigma"], want["sigma"])
    # a fine-tune checkpoint reloads into a fresh wrap of the same bundle
    again = wrap(make_backbone("er_nerf", seed=9), pretrained=str(path))
    again.load_state_dict(fine.state_dict(), strict=True)
    assert not again.init_identity(Frames(_ref(13)))


def test_a_static_half_bundle_without_id_inputs_still_loads_as_the_static_half(tmp_path):
    """Bundles written before the dynamic half existed (config.json without ``id_inputs``,
    no hyper layers on the bare ER-NeRF) load as the static half, as they were trained."""
    import json

    pre = _bare("er_nerf", dynamic=False)
    _trained_like(pre)
    path = save_identity_bundle(pre, tmp_path / "bundle")
    meta = json.loads((path / "config.json").read_text())
    del meta["config"]["idakt"]["id_inputs"]
    (path / "config.json").write_text(json.dumps(meta))
    fine = wrap(make_backbone("er_nerf", seed=5), pretrained=str(path))
    assert fine.init_identity(Frames(_ref(11)))
    assert dict(fine.idakt.hyper) == {} and dict(fine.idakt.id_inputs) == {}
    assert fine.identity_nets(fine.identity_outputs()) == {}
    assert fine.idakt.appearance.abs().sum() > 0


def test_dynamic_layers_that_do_not_fit_the_backbone_are_refused():
    from lokitalk_plugins.idakt import IDAKT

    model = make_backbone("er_nerf")
    sizes = dict(appearance_dim=4, geometry_dim=36, dynamic_dim=8, feature_dim=16)
    layers = {"aud_ch_att_net": (64, model.audio_dim)}
    bad = IDAKT(hyper_layers=layers, id_inputs={"aud_ch_att_net": 32}, **sizes)
    with pytest.raises(ValueError, match=r"feeds F_id to \{'aud_ch_att_net': 32\}.* take it at"):
        wrap(model, idakt=bad)
    wrong = IDAKT(hyper_layers={"sigma_net": (64, 65)}, **sizes)
    with pytest.raises(ValueError, match="'sigma_net'.* the backbone's dynamic MLPs have"):
        wrap(model, idakt=wrong)
    ok = IDAKT(hyper_layers=layers, id_inputs={"aud_ch_att_net": 64}, **sizes)
    assert set(wrap(model, idakt=ok).idakt.hyper) == {"aud_ch_att_net"}  # a subset is fine
