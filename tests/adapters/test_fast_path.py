"""The inference fast path: no per-point maps, and a baked Δx_id; parity with the reference
path (exact without ID-AKT, within the lattice's interpolation error with it)."""

from __future__ import annotations

import pytest
import torch
from adapter_helpers import (
    SMALL_GRID,
    conditioning,
    make_backbone,
    make_plugin,
    points,
    randomise_offsets,
    rsdf_studio_system,
)

from lokitalk_plugins.adapters import wrap
from lokitalk_plugins.idakt import FrozenIdentity
from lokitalk_plugins.idakt.baked import BakedOffset, bake_error
from lokitalk_plugins.rsdf import RSDF


@pytest.mark.parametrize("name,kind", [("er_nerf", "rsdf"), ("rad_nerf", "rsdf"),
                                       ("er_nerf", "joint")])  # fmt: skip
def test_fast_path_without_maps_equals_the_reference(name, kind):
    model = make_backbone(name)
    plug = make_plugin(kind, model.audio_dim)
    randomise_offsets(plug)
    w = wrap(model, rsdf=plug).eval()
    x, d = points(300)
    _, enc_a, eye, code, pose = conditioning(w)
    with torch.no_grad():
        ref = w(x, d, enc_a, eye, code, pose=pose)
        w.inference_fast_path()
        assert w.fast_path_active
        fast = w(x, d, enc_a, eye, code, pose=pose)
    assert set(w.rsdf.map_names) <= set(ref) and not set(w.rsdf.map_names) & set(fast)
    assert torch.equal(fast["sigma"], ref["sigma"]) and torch.equal(fast["color"], ref["color"])
    assert (
        ref["sigma"].std() > 0
        and (ref["color"] - w.backbone(x, d, enc_a, eye, code)["color"]).abs().max() > 0
    )
    w.train()  # training always takes the reference path, maps included
    assert not w.fast_path_active and set(w.rsdf.map_names) <= set(
        w(x, d, enc_a, eye, code, pose=pose)
    )
    w.eval().inference_fast_path(False)
    assert not w.fast_path_active


def _identity_model():
    model = make_backbone("er_nerf")
    torch.manual_seed(1)
    plug = RSDF(audio_dim=model.audio_dim, hidden=16, grid=SMALL_GRID, id_dim=8)
    randomise_offsets(plug)
    x, d = points(300)
    ident = FrozenIdentity(hyper_layers=plug.hyper_layers, dynamic_dim=8, offset_dim=8,
                           appearance_dim=model.individual_code(0).shape[1],
                           geometry_dim=model.encode_points(x[:1]).shape[1])  # fmt: skip
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in ident.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    return wrap(model, rsdf=plug, idakt=ident).eval(), x, d


def test_fast_path_bakes_the_fine_tuned_identity_offset():
    w, x, d = _identity_model()
    ident = w.idakt
    _, enc_a, eye, code, pose = conditioning(w)
    with torch.no_grad():
        ref = w(x, d, enc_a, eye, code, pose=pose)
        dx_id = ident.canonical_offset(x, ident.offset_code)
        assert dx_id.abs().mean() > 1e-3  # the offset moves the points
        w.inference_fast_path(bake_resolution=48)
        calls = []
        hook = ident.offset_field.register_forward_hook(lambda *a: calls.append(1))
        fast = w(x, d, enc_a, eye, code, pose=pose)
        hook.remove()
    assert not calls  # no per-sample offset MLP on the fast path
    baked = w.__dict__["_baked_offset"]
    err = (baked(x) - dx_id).abs()
    assert err.max() < 0.1 * dx_id.abs().max() and err.mean() < 0.02 * dx_id.abs().mean()
    assert torch.allclose(fast["sigma"], ref["sigma"], rtol=0.02, atol=0.02)
    assert torch.allclose(fast["color"], ref["color"], atol=0.01)
    assert "model.safetensors" not in w.state_dict() and not any(
        "baked" in k for k in w.state_dict()
    )


def test_baked_offset_matches_the_mlp():
    from lokitalk_plugins.idakt import CanonicalOffsetField

    torch.manual_seed(0)
    field = CanonicalOffsetField(offset_dim=8, hidden=32, bound=1.0)
    with torch.no_grad():
        field.mlp.net[-1].weight.normal_(0, 0.05)
    code = torch.randn(1, 8)
    baked = BakedOffset(field, code, resolution=17)
    axis = torch.linspace(-1, 1, 17)
    v = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)[::97]
    with torch.no_grad():  # lattice vertices: the MLP's value itself
        assert torch.allclose(baked(v), field(v, code), atol=1e-6)
        outside = torch.tensor([[1.5, 0.0, 0.0]])
        assert baked(outside).abs().max() == 0 and field(outside, code).abs().max() == 0
    coarse = bake_error(baked, field, code)
    fine = bake_error(BakedOffset(field, code, 65), field, code)
    with torch.no_grad():
        scale = float(field(v, code).abs().mean())
    assert fine[0] < coarse[0] and fine[1] < coarse[1] and fine[1] < 0.02 * scale
    with pytest.raises(ValueError, match="resolution"):
        BakedOffset(field, code, resolution=1)
    with pytest.raises(ValueError, match="backend must be"):
        BakedOffset(field, code, resolution=5, backend="cuda")


def test_the_baked_lookup_in_the_kernel_equals_grid_sample():
    from lokitalk_plugins.encoding.grid_cpp import kernel_available
    from lokitalk_plugins.idakt import CanonicalOffsetField
    from lokitalk_plugins.idakt.baked import BakedOffset

    if not kernel_available():
        pytest.skip("the fused C++ kernel does not build here")
    torch.manual_seed(0)
    field = CanonicalOffsetField(offset_dim=8, hidden=32, bound=0.8)
    with torch.no_grad():
        field.mlp.net[-1].weight.normal_(0, 0.05)
    code = torch.randn(1, 8)
    fast, ref = BakedOffset(field, code, 19), BakedOffset(field, code, 19, backend="torch")
    assert fast.uses_kernel and not ref.uses_kernel
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(4096, 3, generator=g) * 2 - 1) * 0.85  # some points outside the box
    x[:4] = torch.tensor([[0.8, 0.8, 0.8], [-0.8, 0.0, 0.8], [0.0, 0.0, 0.0], [0.81, 0, 0]])
    with torch.no_grad():
        a, b = fast(x), ref(x)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    assert a[3].abs().max() == 0 and (a.abs().sum(-1) > 0).float().mean() > 0.5


def test_render_frame_on_the_fast_path_equals_the_reference(tmp_path):
    system, data = rsdf_studio_system(tmp_path)
    ref = system.render_frame(data[2])
    system.model.inference_fast_path()
    fast = system.render_frame(data[2])
    assert torch.equal(fast["rgb"], ref["rgb"]) and torch.equal(fast["depth"], ref["depth"])
    assert ref["rgb"].std() > 0


def test_the_identity_code_folded_into_the_first_layer_equals_the_concatenation():
    from lokitalk_plugins.idakt import CanonicalOffsetField

    torch.manual_seed(0)
    field = CanonicalOffsetField(offset_dim=8, hidden=32, bound=1.0)
    with torch.no_grad():
        field.mlp.net[-1].weight.normal_(0, 0.05)
    x, code = points(500)[0], torch.randn(1, 8)
    concatenated = field(x, code)  # with gradients: the concatenated form
    with torch.no_grad():
        folded = field(x, code)
    assert concatenated.abs().mean() > 1e-3
    assert torch.allclose(folded, concatenated, atol=1e-6)
    assert folded[(x.abs() > 1).any(-1)].abs().max() == 0 if (x.abs() > 1).any() else True


def test_fast_path_without_a_lattice_runs_the_offset_mlp_and_equals_the_reference():
    w, x, d = _identity_model()
    _, enc_a, eye, code, pose = conditioning(w)
    with torch.no_grad():
        ref = w(x, d, enc_a, eye, code, pose=pose)
        w.inference_fast_path(bake_resolution=0)
        calls = []
        hook = w.idakt.offset_field.register_forward_hook(lambda *a: calls.append(1))
        fast = w(x, d, enc_a, eye, code, pose=pose)
        hook.remove()
    assert calls and w.__dict__["_baked_offset"] is None
    assert torch.equal(fast["sigma"], ref["sigma"]) and torch.equal(fast["color"], ref["color"])


def test_plugin_precision_follows_the_cpu_and_refuses_what_it_lacks(tmp_path):
    from lokitalk_plugins.adapters.fast_path import plugin_dtype

    with_bf16, without = tmp_path / "with", tmp_path / "without"
    with_bf16.write_text("flags\t\t: fpu sse avx512f avx512_bf16 amx_bf16\n")
    without.write_text("flags\t\t: fpu sse avx2\n")
    cpu = torch.device("cpu")
    assert plugin_dtype("float32", cpu, with_bf16) is None
    assert plugin_dtype("auto", cpu, with_bf16) is torch.bfloat16
    assert plugin_dtype("auto", cpu, without) is None
    assert plugin_dtype("bfloat16", cpu, with_bf16) is torch.bfloat16
    with pytest.raises(ValueError, match="precision='bfloat16'.*avx512_bf16"):
        plugin_dtype("bfloat16", cpu, without)
    with pytest.raises(ValueError, match="expected one of"):
        plugin_dtype("fp8", cpu, with_bf16)


@pytest.mark.skipif(
    __import__("lokitalk_plugins.train.runtime", fromlist=["x"]).cpu_bf16_support() is None,
    reason="this CPU has no bfloat16 instructions",
)
def test_bfloat16_plugins_stay_close_to_the_float32_reference():
    w, x, d = _identity_model()
    _, enc_a, eye, code, pose = conditioning(w)
    with torch.no_grad():
        ref = w(x, d, enc_a, eye, code, pose=pose)
        f_a = w.split_audio(enc_a)[1]
        warp_ref = w.deform(x, f_a, eye, pose, w.identity_outputs(), maps=False)
        w.inference_fast_path(bake_resolution=0, precision="bfloat16")
        assert w.fast_path_precision == "bfloat16"
        with w.plugin_autocast():
            warp = w.deform(x, f_a, eye, pose, w.identity_outputs(), maps=False)
        fast = w(x, d, enc_a, eye, code, pose=pose)
    assert warp.x_canonical.dtype == torch.float32  # x + Δx added in float32
    dx = warp_ref.x_canonical - x
    err = (warp.x_canonical - warp_ref.x_canonical).norm(dim=-1)
    assert err.max() > 0  # the products did run in bfloat16
    # a few percent of the offset (bfloat16 keeps 8 bits; the last layer sums and cancels),
    # under 1e-3 of the box's half-size: a small fraction of a pixel
    assert dx.norm(dim=-1).mean() > 1e-3 and err.mean() < 0.1 * dx.norm(dim=-1).mean()
    assert err.max() < 1e-3 * w.rsdf.bound
    assert fast["sigma"].dtype == torch.float32 and fast["color"].dtype == torch.float32
    assert not torch.equal(fast["color"], ref["color"])  # bfloat16 did run
    assert torch.allclose(fast["color"], ref["color"], atol=5e-3)
    assert torch.allclose(fast["sigma"], ref["sigma"], rtol=0.02, atol=0.02)
    w.train()  # training never sees the fast path's precision
    assert w.fast_path_precision == "float32"


@pytest.mark.parametrize("ident", [False, True])
def test_plugins_float32_step_out_of_a_training_autocast(ident):
    """wrap(plugins_float32=True) under a bfloat16 autocast: the plug-in's maps equal the
    float32 reference's exactly (with ID-AKT's outputs cast too) while the backbone ran in
    bfloat16; without the option the maps move; gradients reach the plug-in's weights."""
    if ident:
        w, x, d = _identity_model()
    else:
        model = make_backbone("er_nerf")
        plug = make_plugin("rsdf", model.audio_dim)
        randomise_offsets(plug)
        w, (x, d) = wrap(model, rsdf=plug), points(300)
    w.train()
    _, enc_a, eye, code, pose = conditioning(w)
    names = list(w.rsdf.map_names)
    with torch.no_grad():
        ref = w(x, d, enc_a, eye, code, pose=pose)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = w(x, d, enc_a, eye, code, pose=pose)
        w.plugins_float32 = True
        assert not w.plugins_float32_now  # no autocast on: nothing to step out of
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert w.plugins_float32_now
            out = w(x, d, enc_a, eye, code, pose=pose)
    for k in names:
        assert out[k].dtype == torch.float32 and torch.equal(out[k], ref[k]), k
    assert any(not torch.equal(mixed[k].float(), ref[k]) for k in names)
    assert not torch.equal(out["color"].float(), ref["color"])  # the backbone ran in bfloat16
    assert torch.allclose(out["color"].float(), ref["color"], atol=2e-2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = w(x, d, enc_a, eye, code, pose=pose)
    (out["sigma"].float().mean() + out["color"].float().mean()).backward()
    grads = [p.grad for p in w.rsdf.parameters() if p.grad is not None]
    assert grads and all(g.dtype == torch.float32 for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0
    built = wrap(make_backbone("er_nerf"), rsdf=make_plugin("rsdf", 32), plugins_float32=True)
    assert built.plugins_float32
