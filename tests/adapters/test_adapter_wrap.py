"""wrap(): a backbone with RSDF (or the joint O+D field) renders exactly as the bare backbone
at initialisation, through the volume renderer, in training and inference; the wrapped
model's regularisers add LokiTalk's L_Δ and L_att."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from adapter_helpers import (
    BACKBONES,
    conditioning,
    make_backbone,
    make_plugin,
    points,
    randomise_offsets,
    rays,
)

from lokitalk_plugins.adapters import WrappedModel, wrap
from lokitalk_plugins.data.masks import RegionMasks
from lokitalk_plugins.losses import (
    LAMBDA_ATT,
    LAMBDA_DELTA,
    attention_regularization,
    region_regularization,
)
from lokitalk_plugins.render import VolumeRenderer


def static_cond(wrapped, cond):
    """cond with the adapter's static condition in place of enc_a and eye (what the backbone's
    field sees in a unified canonical space)."""
    windows, enc_a, eye, code, pose = cond
    enc_a, eye = wrapped.adapter.static_condition(enc_a, eye)
    return windows, enc_a, eye, code, pose


def render(renderer, model, cond, training, wrapped):
    _, enc_a, eye, code, pose = cond
    if wrapped:
        field = lambda x, d: model(x, d, enc_a, eye, code, pose=pose)  # noqa: E731
    else:
        field = lambda x, d: model(x, d, enc_a, eye, code)  # noqa: E731
    o, d = rays()
    torch.manual_seed(7)  # the training march jitters its samples
    return renderer.render_rays(o, d, torch.tensor([0.2, 0.3, 0.4]), training=training,
                                extras=model.ray_extras, field=field)  # fmt: skip


@pytest.mark.parametrize("static", [True, False], ids=["static", "own-audio"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "infer"])
@pytest.mark.parametrize("kind", ["rsdf", "joint", "none"])
@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_wrapped_renders_exactly_as_the_bare_backbone_at_init(name, kind, training, static):
    """At init the wrapped model is the bare backbone: under the static condition in a unified
    canonical space (static_canonical, with a plug-in), else under the same audio and eye."""
    model = make_backbone(name)
    plugin = None if kind == "none" else make_plugin(kind, model.audio_dim)
    wrapped = wrap(model, rsdf=plugin, static_canonical=static)
    assert wrapped.static_canonical is (static and plugin is not None)
    renderer = VolumeRenderer(model.grid, max_samples=16)
    cond = conditioning(model)
    own = cond if not wrapped.static_canonical else static_cond(wrapped, cond)
    bare = render(renderer, model, own, training, wrapped=False)
    res = render(renderer, wrapped, cond, training, wrapped=True)
    assert bare.weights_sum.max() > 0.05  # the backbone renders something
    assert torch.equal(res.rgb, bare.rgb) and torch.equal(res.depth, bare.depth)
    assert torch.equal(res.weights_sum, bare.weights_sum)
    for extra in model.ray_extras:
        assert torch.equal(res.extras[extra], bare.extras[extra])
    if plugin is None:
        return
    for extra in plugin.map_names:
        assert res.extras[extra].shape == bare.rgb.shape[:1]
    # a trained-like plug-in moves the points: the identity above is not vacuous
    randomise_offsets(plugin, std=0.3)
    moved = render(renderer, wrapped, cond, training, wrapped=True)
    assert not torch.equal(moved.rgb, bare.rgb)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_wrapped_model_delegates_what_the_system_uses(name):
    model = make_backbone(name, torso=True)
    plugin = make_plugin("rsdf", model.audio_dim)
    w = wrap(model, rsdf=plugin, static_canonical=False)
    assert isinstance(w, WrappedModel) and w.backbone is model and w.rsdf is plugin
    assert w.grid is model.grid and w.torso is True
    assert w.torso_condition == model.torso_condition
    assert (w.audio_dim, w.audio_in_dim, w.bound) == (model.audio_dim, model.audio_in_dim, 1.0)
    assert w.ray_extras == tuple(model.ray_extras) + plugin.map_names
    windows, enc_a, eye, code, pose = conditioning(model)
    assert torch.equal(w.encode_audio(windows), model.encode_audio(windows))
    assert torch.equal(w.individual_code(1, torso=True), model.individual_code(1, torso=True))
    x, d = points(32)
    enc = w.encode_points(x)
    assert torch.equal(w.density(enc, enc_a, eye)["sigma"], model.density(enc, enc_a, eye)["sigma"])
    px = torch.rand(10, 2) * 2 - 1
    cond = pose if model.torso_condition == "pose" else torch.eye(4)
    t_code = model.individual_code(0, torso=True)
    assert torch.equal(w.forward_torso(px, cond, t_code)["color"],
                       model.forward_torso(px, cond, c=t_code)["color"])  # fmt: skip
    # the backbone and the plug-in are registered once each (no duplicated grid buffers)
    keys = w.state_dict().keys()
    assert all(k.startswith(("backbone.", "rsdf.")) for k in keys)
    assert len(keys) == len(model.state_dict()) + len(plugin.state_dict())


def test_wrap_refuses_idakt_and_a_mismatched_rsdf():
    model = make_backbone("er_nerf")
    with pytest.raises(ValueError, match="idakt must be None, True, a dict"):
        wrap(model, idakt=object())
    with pytest.raises(ValueError, match=r"audio_dim=64 but F_a \(the backbone's audio feature"):
        wrap(model, rsdf=make_plugin("rsdf", 64))
    with pytest.raises(ValueError, match="lacks"):
        wrap(model, backbone_name="rad_nerf")


def test_regularisers_add_the_lokitalk_terms():
    model = make_backbone("er_nerf")
    w = wrap(model, rsdf=make_plugin("rsdf", model.audio_dim))
    g = torch.Generator().manual_seed(0)
    R = 40
    extras = {k: torch.rand(R, generator=g) for k in w.ray_extras}
    masks = RegionMasks(*(torch.rand(R, generator=g) > 0.5 for _ in range(4)))
    res = SimpleNamespace(extras=extras, rgb=torch.rand(R, 3, generator=g))
    rays_ = SimpleNamespace(index=torch.arange(R), masks=masks, rgb=torch.rand(R, 3, generator=g))
    frame = SimpleNamespace(W=8, landmarks=torch.rand(68, 2, generator=g) * 8)
    terms = w.regularisers(res, rays_, frame, 0.5)
    own = model.regularisers(res, rays_, frame, 0.5)
    assert set(terms) == set(own) | {"lokitalk_delta", "lokitalk_att"}
    for k in own:
        assert torch.equal(terms[k], own[k])
    delta = region_regularization(extras["dx_face_norm"], extras["dx_torso_norm"], masks.face,
                                  masks.torso)  # fmt: skip
    scores = {k: extras[k] for k in ("att_lip", "att_eye", "att_torso")}
    att = attention_regularization(scores, {"att_lip": masks.lips, "att_eye": masks.eyes,
                                            "att_torso": masks.torso})  # fmt: skip
    assert torch.allclose(terms["lokitalk_delta"], LAMBDA_DELTA * delta)
    assert torch.allclose(terms["lokitalk_att"], LAMBDA_ATT * att)
    assert LAMBDA_DELTA == 1e-5 and LAMBDA_ATT == 1e-4
    # the joint O+D field has no region split: no LokiTalk term, the backbone's only
    joint = wrap(model, rsdf=make_plugin("joint", model.audio_dim))
    res_j = SimpleNamespace(extras={k: extras.get(k, torch.rand(R)) for k in joint.ray_extras},
                            rgb=res.rgb)  # fmt: skip
    assert set(joint.regularisers(res_j, rays_, frame, 0.5)) == set(own)


@pytest.mark.parametrize("kind", ["rsdf", "joint"])
@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_a_unified_canonical_space_ignores_audio_and_eye_at_zero_deformation(name, kind):
    """LokiTalk eq. 5: with a deformation plug-in the backbone's field is static; audio and
    eye reach the output only through the offsets (zero at init). With static_canonical off
    the backbone's own audio and eye path changes the output (the old behaviour)."""
    x, d = points(128)
    _, enc_a, eye, code, pose = conditioning(make_backbone(name))
    other_a, other_eye = enc_a.flip(-1) * 3.0, 1.0 - eye
    outs = {}
    for static in (True, False):
        model = make_backbone(name)
        w = wrap(model, rsdf=make_plugin(kind, model.audio_dim), static_canonical=static)
        with torch.no_grad():
            a = w(x, d, enc_a, eye, code, pose=pose)
            b = w(x, d, other_a, other_eye, code, pose=pose)
        outs[static] = (a, b)
    a, b = outs[True]
    assert torch.equal(a["sigma"], b["sigma"]) and torch.equal(a["color"], b["color"])
    a, b = outs[False]
    assert not torch.allclose(a["sigma"], b["sigma"])
