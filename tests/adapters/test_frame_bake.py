"""The per-frame bake of the point map (``inference_fast_path(frame_bake=k)``): exact at the
lattice's vertices, close between them, exact outside the cube, each touched vertex baked once
a frame, dropped in training mode, and a render of a frame close to the reference's."""

from __future__ import annotations

import pytest
import torch
from adapter_helpers import SMALL_GRID, conditioning, make_backbone, randomise_offsets

from lokitalk_plugins.adapters import wrap
from lokitalk_plugins.adapters.frame_bake import FrameBake
from lokitalk_plugins.encoding.lattice import VertexLattice
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
    from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
    from lokitalk_plugins.data import TalkingHeadFolder
    from lokitalk_plugins.data.studio import write_identity
    from lokitalk_plugins.pipeline import TalkingHeadSystem

    folder = write_identity(tmp_path / "id", seconds=1.0, size=32)
    data = TalkingHeadFolder(folder, background="bc", preload=True, progress=False)
    torch.manual_seed(0)
    backbone = ERNeRF(audio_in_dim=data.audio_features.shape[1], ind_num=len(data), grid_size=32)
    rsdf = RSDF(audio_dim=backbone.audio_dim, hidden=16, grid=SMALL_GRID)
    randomise_offsets(rsdf, std=0.2)
    system = TalkingHeadSystem(wrap(backbone, rsdf=rsdf), num_rays=128)
    system.prepare(data)
    system.eval()
    system.model.inference_fast_path()
    ref = system.render_frame(data[2])
    system.model.inference_fast_path(frame_bake=2)
    baked = system.render_frame(data[2])
    stats = system.model.frame_bake.stats
    assert stats["bakes"] == 1 and stats["points"] > 0
    assert ref["rgb"].std() > 0
    assert (baked["rgb"] - ref["rgb"]).abs().mean() < 0.01
