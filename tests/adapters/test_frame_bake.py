"""The per-frame bake of the point map (``inference_fast_path(frame_bake=k)``): exact at the
lattice's vertices, close between them, exact outside the cube, each touched vertex baked once
a frame, dropped in training mode, and a render of a frame close to the reference's; the
bookkeeping's fused kernel claims what its pure-PyTorch twin claims."""

from __future__ import annotations

import pytest
import torch
from adapter_helpers import (
    SMALL_GRID,
    conditioning,
    make_backbone,
    randomise_offsets,
    rsdf_studio_system,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from lokitalk_plugins.adapters import wrap
from lokitalk_plugins.adapters.frame_bake import FrameBake
from lokitalk_plugins.encoding.grid_cpp import kernel_available
from lokitalk_plugins.encoding.lattice import VertexLattice, claim_cells, outside_cube
from lokitalk_plugins.idakt import FrozenIdentity
from lokitalk_plugins.rsdf import RSDF


def _model(identity: bool = False, std: float = 0.05):
    model = make_backbone("er_nerf")
    torch.manual_seed(1)
    plug = RSDF(audio_dim=model.audio_dim, hidden=16, grid=SMALL_GRID, id_dim=8 if identity else 0)
    randomise_offsets(plug, std=std)
    ident = None
    if identity:
        x0 = torch.zeros(1, 3)
        ident = FrozenIdentity(hyper_layers=plug.hyper_layers, dynamic_dim=8, offset_dim=8,
                               appearance_dim=model.individual_code(0).shape[1],
                               geometry_dim=model.encode_points(x0).shape[1])  # fmt: skip
        g = torch.Generator().manual_seed(5)
        with torch.no_grad():
            for p in ident.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    w = wrap(model, rsdf=plug, idakt=ident).eval()
    # a sparse occupancy: a block of cells around the centre
    occ = torch.zeros_like(w.grid.occupancy)
    r = occ.shape[0]
    occ[r // 4 : 3 * r // 4, r // 3 : 2 * r // 3, r // 4 : 3 * r // 4] = True
    w.grid.set_occupancy(occ)
    return w


def test_the_lattice_reads_its_vertices_and_the_kernel_equals_grid_sample():
    g = torch.Generator().manual_seed(0)
    fast, ref = VertexLattice(9, 0.7, 4), VertexLattice(9, 0.7, 4, backend="torch")
    vals = torch.randn(9**3, 4, generator=g)
    fast.values.copy_(vals)
    ref.values.copy_(vals)
    rows = torch.arange(0, 9**3, 7)
    assert torch.allclose(fast(fast.vertex_points(rows)), vals[rows], atol=1e-6)
    x = (torch.rand(2000, 3, generator=g) * 2 - 1) * 0.8  # some outside the cube
    torch.testing.assert_close(fast(x), ref(x), rtol=0, atol=1e-5)
    out = (x.abs() > 0.7).any(-1)
    assert out.any() and fast(x)[out].abs().max() == 0
    with pytest.raises(ValueError, match="resolution"):
        VertexLattice(1, 1.0, 3)


def test_a_point_bakes_the_eight_vertices_of_its_cell_once():
    w = _model()
    _, enc_a, eye, code, pose = conditioning(w)
    f_a = w.split_audio(enc_a)[1]
    bake = FrameBake(1)
    g = w.grid.resolution
    cell = 2 * w.grid.bound / g
    x = torch.full((1, 3), -w.grid.bound + 0.5 * cell)  # inside the first cell
    with torch.no_grad():
        bake(w, x, f_a, eye, pose)
        assert bake.stats["vertices"] == 8 and bake.stats["bakes"] == 1
        bake(w, torch.cat([x, x + 0.1 * cell]), f_a, eye, pose)  # the same cell: nothing new
        assert bake.stats["vertices"] == 8
        bake(w, x + torch.tensor([[cell, 0.0, 0.0]]), f_a, eye, pose)  # its neighbour: 4 more
        assert bake.stats["vertices"] == 12
        bake(w, x, f_a, eye * 0.5, pose)  # another frame: a new bake
    assert bake.stats["bakes"] == 2 and bake.stats["vertices"] == 8


@pytest.mark.parametrize("identity", [False, True])
def test_frame_bake_is_exact_at_vertices_close_in_cells_and_exact_outside(identity):
    w = _model(identity)
    x0, d0 = torch.zeros(1, 3), torch.zeros(1, 3)
    _, enc_a, eye, code, pose = conditioning(w)
    f_a = w.split_audio(enc_a)[1]
    ident = w.identity_outputs()
    grid = w.grid
    with torch.no_grad():
        w.inference_fast_path(bake_resolution=0, frame_bake=2)
        bake = w.frame_bake
        assert isinstance(bake, FrameBake)
        # vertices of the (2x) lattice: the exact map
        lat_res = grid.resolution * 2 + 1
        probe = VertexLattice(lat_res, grid.bound, 1)
        rows = torch.arange(0, lat_res**3, 997)
        v = probe.vertex_points(rows)
        exact = w.point_map(v, f_a, eye, pose, ident)
        assert (exact - v).abs().max() > 1e-3  # the map moves points
        assert torch.allclose(bake(w, v, f_a, eye, pose, ident), exact, atol=1e-5)
        assert bake.stats["bakes"] == 1 and bake.stats["exact_points"] == 0
        # random points in occupied cells: the trilinear read, close to the map
        g = torch.Generator().manual_seed(3)
        u = torch.rand(3000, 3, generator=g)
        lo, hi = torch.tensor([0.25, 1 / 3, 0.25]), torch.tensor([0.75, 2 / 3, 0.75])
        x = (-grid.bound + 2 * grid.bound * (lo + (hi - lo) * u)).clamp(-0.99, 0.99)
        x = x[grid.query(x)]
        err = (bake(w, x, f_a, eye, pose, ident) - w.point_map(x, f_a, eye, pose, ident)).abs()
        moved = (w.point_map(x, f_a, eye, pose, ident) - x).abs()
        assert err.mean() < 0.1 * moved.mean()
        # points outside the grid's cube get the exact map
        b = grid.bound
        x_out = torch.tensor([[b + 0.1, 0.0, 0.0], [0.0, -b - 0.2, 0.1]])
        got = bake(w, x_out, f_a, eye, pose, ident)
        assert torch.allclose(got, w.point_map(x_out, f_a, eye, pose, ident), atol=1e-6)
        assert bake.stats["exact_points"] == 2 and bake.stats["bakes"] == 1  # reused
        # the model's forward reads the bake; another frame's signals bake again
        w(x0, d0, enc_a, eye, code, pose=pose)
        assert bake.stats["bakes"] == 1
        w(x0, d0, enc_a, eye * 0.5, code, pose=pose)
        assert bake.stats["bakes"] == 2
    w.train()
    assert w.frame_bake is None and bake._key is None  # training drops it
    w.eval()
    assert w.frame_bake is bake  # still switched on in eval mode


def test_forward_with_a_frame_bake_is_close_to_the_fast_path():
    w = _model(identity=True, std=0.1)
    _, enc_a, eye, code, pose = conditioning(w)
    g = torch.Generator().manual_seed(4)
    x = (torch.rand(4000, 3, generator=g) * 2 - 1) * 0.9
    x = x[w.grid.query(x)][:800]
    d = torch.nn.functional.normalize(torch.randn(x.shape[0], 3, generator=g), dim=-1)
    with torch.no_grad():
        w.inference_fast_path(bake_resolution=0)
        ref = w(x, d, enc_a, eye, code, pose=pose)
        w.inference_fast_path(bake_resolution=0, frame_bake=4)
        calls = []
        hook = w.rsdf.register_forward_hook(lambda *a: calls.append(1))
        fast = w(x, d, enc_a, eye, code, pose=pose)
        n_bake = len(calls)
        w(x, d, enc_a, eye, code, pose=pose)
        hook.remove()
    assert n_bake >= 1 and len(calls) == n_bake  # the second call reads the bake only
    assert ref["sigma"].std() > 0
    assert torch.allclose(fast["sigma"], ref["sigma"], rtol=0.05, atol=0.05)
    assert (fast["color"] - ref["color"]).abs().mean() < 0.01


def test_frame_bake_refuses_bad_values_and_a_model_without_a_map():
    w = _model()
    for bad in (-1, 9, 1.5, True, "2"):
        with pytest.raises(ValueError, match="frame_bake"):
            w.inference_fast_path(frame_bake=bad)
    bare = wrap(make_backbone("er_nerf")).eval()
    with pytest.raises(ValueError, match="no point map to bake"):
        bare.inference_fast_path(frame_bake=1)
    w.inference_fast_path(frame_bake=0)
    assert w.frame_bake is None


def test_render_frame_with_a_frame_bake_is_close_to_the_reference(tmp_path):
    system, data = rsdf_studio_system(tmp_path)
    system.model.inference_fast_path()
    ref = system.render_frame(data[2])
    system.model.inference_fast_path(frame_bake=2)
    baked = system.render_frame(data[2])
    stats = system.model.frame_bake.stats
    assert stats["bakes"] == 1 and stats["points"] > 0
    assert ref["rgb"].std() > 0
    assert (baked["rgb"] - ref["rgb"]).abs().mean() < 0.01


def _claims(x, bound, r, backend):
    cells = torch.zeros((r - 1) ** 3, dtype=torch.bool)
    baked = torch.zeros(r**3, dtype=torch.bool)
    rows, outside = claim_cells(x, bound, r, cells, baked, backend)
    return rows, outside, cells, baked


@pytest.mark.skipif(not kernel_available(), reason="the fused kernel does not build here")
@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    r=st.integers(2, 12),
    bound=st.floats(0.1, 3.0),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 2**16),
    n=st.integers(0, 400),
)
def test_the_kernels_claim_is_the_references(r, bound, dtype, seed, n):
    g = torch.Generator().manual_seed(seed)
    x = ((torch.rand(n, 3, generator=g) * 2 - 1) * 1.2 * bound).to(dtype)
    if n > 3:  # the cube's faces, a corner and a NaN
        x[0] = torch.tensor([bound, -bound, bound], dtype=dtype)
        x[1, 0], x[2, 1] = -bound, float("nan")
    fast, ref = _claims(x, bound, r, "auto"), _claims(x, bound, r, "torch")
    assert fast[1] == ref[1] == int(outside_cube(x, bound).sum())
    assert torch.equal(fast[0].sort().values, ref[0])  # the same rows, each once
    assert fast[0].unique().numel() == fast[0].numel()
    assert torch.equal(fast[2], ref[2]) and torch.equal(fast[3], ref[3])
    # every inside point's 8 cell vertices are claimed
    inside = x[~outside_cube(x, bound)]
    u = (inside + bound) * (0.5 / bound)
    cell = (u * (r - 1)).long().clamp(max=r - 2)
    for a in (0, 1):
        for b in (0, 1):
            for c in (0, 1):
                v = cell + torch.tensor([a, b, c])
                assert ref[3][v[:, 0] + r * v[:, 1] + r * r * v[:, 2]].all()
    # a second pass over the same points claims nothing more
    again = claim_cells(x, bound, r, fast[2], fast[3])
    assert again[0].numel() == 0 and again[1] == fast[1]


def test_claims_fall_back_to_the_reference_without_the_kernel(monkeypatch):
    from lokitalk_plugins.encoding import lattice

    x = torch.tensor([[0.05, 0.05, 0.05], [0.8, -0.8, -0.8], [2.0, 0.0, 0.0]])
    ref = _claims(x, 1.0, 5, "torch")
    monkeypatch.setattr(lattice, "kernel_available", lambda: False)
    got = _claims(x, 1.0, 5, "auto")
    assert torch.equal(got[0], ref[0]) and got[1] == ref[1] == 1
    assert ref[0].numel() == 16  # two cells that share no vertex
    with pytest.raises(ValueError, match="backend"):
        claim_cells(x, 1.0, 5, ref[2], ref[3], "cuda")


def test_the_bakes_backends_agree_and_a_failed_bake_forgets_its_frame():
    w = _model(identity=True)
    _, enc_a, eye, _, pose = conditioning(w)
    f_a, ident = w.split_audio(enc_a)[1], w.identity_outputs()
    g = torch.Generator().manual_seed(6)
    x = (torch.rand(3000, 3, generator=g) * 2 - 1) * w.grid.bound * 1.1  # some outside
    fast, ref = FrameBake(2), FrameBake(2, backend="torch")
    with torch.no_grad():
        a, b = fast(w, x, f_a, eye, pose, ident), ref(w, x, f_a, eye, pose, ident)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
    assert fast.stats == ref.stats and fast.stats["exact_points"] > 0

    calls = {"n": 0}
    real = w.point_map

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("interrupted")
        return real(*args, **kwargs)

    bake = FrameBake(2, chunk=64)
    w.point_map = failing
    with torch.no_grad(), pytest.raises(RuntimeError, match="interrupted"):
        bake(w, x, f_a, eye, pose, ident)
    assert bake._key is None  # the half-baked frame is forgotten
    with torch.no_grad():
        again = bake(w, x, f_a, eye, pose, ident)
    torch.testing.assert_close(again, a, rtol=0, atol=1e-5)
