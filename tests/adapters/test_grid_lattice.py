"""The occupancy refresh's fast options: the lattice jitter (one offset per grid line; ER-NeRF
encodes its planes once per refresh, bit for bit the points' encoding) and the bfloat16
precision (the grid's values stay float32, the occupancy follows the float32 refresh)."""

import copy

import pytest
import torch
from adapter_helpers import make_backbone
from test_grid_refresh import bank, new_refresh

from lokitalk_plugins.baselines.er_nerf import field
from lokitalk_plugins.errors import OptionError
from lokitalk_plugins.pipeline import TalkingHeadSystem
from lokitalk_plugins.pipeline.options import GridUpkeep, cpu_autocast_dtype, refresh_dtype
from lokitalk_plugins.render import OccupancyGrid
from lokitalk_plugins.render.upkeep import cell_indices, lattice_axes, lattice_points
from lokitalk_plugins.train.runtime import cpu_bf16_support


def test_lattice_axes_put_one_point_inside_every_cell_shared_along_each_line():
    torch.manual_seed(0)
    r, bound = 8, 1.0
    axes = lattice_axes(r, bound, True, torch.float32)
    lo = -bound + torch.arange(r) * (2 * bound / r)
    assert axes.shape == (3, r)
    assert ((axes >= lo) & (axes < lo + 2 * bound / r)).all()
    assert not torch.equal(axes, lattice_axes(r, bound, True, torch.float32))  # drawn afresh
    centres = lattice_axes(r, bound, False, torch.float32)
    assert torch.allclose(centres, (lo + bound / r).expand(3, r))


def test_a_lattice_refresh_gives_each_cell_its_lines_coordinates():
    torch.manual_seed(0)
    grid, seen = OccupancyGrid(resolution=8, lattice=True), []
    grid.update(lambda p: (seen.append(p), torch.ones(p.shape[0]))[1], force=True)
    pts = torch.cat(seen)
    ijk = cell_indices(torch.arange(8**3), 8)
    # one x per ix (and so on): the points are a lattice, each inside its own cell
    for a in range(3):
        assert all(pts[ijk[:, a] == i, a].unique().numel() == 1 for i in range(8))
    cells, inside = grid.cell_of(pts)
    assert inside.all() and torch.equal(cells, ijk)


def test_the_lattice_encoder_is_bit_for_bit_the_points_encoding():
    model = make_backbone("er_nerf")
    torch.manual_seed(1)
    axes = lattice_axes(32, 1.0, True, torch.float32)
    ijk = torch.randint(0, 32, (500, 3))
    pts = torch.stack([axes[a][ijk[:, a]] for a in range(3)], -1)
    assert torch.equal(lattice_points(axes, ijk), pts)  # the helper the refreshes use
    with torch.no_grad():
        encode = field.lattice_encoder(model, axes, model.bound)
        assert torch.equal(encode(ijk), model.encode_points(pts))


def test_the_er_nerf_lattice_refresh_equals_the_same_points_evaluated_one_by_one():
    """Through the system: ER-NeRF's fast path (planes encoded once) and the generic path (the
    same lattice points through grid_density) give the same grid: the same values up to float
    rounding (the fast path's last layer computes the density's row alone), the same bits."""
    windows, eyes, poses = bank()
    fast, plain = make_backbone("er_nerf"), make_backbone("er_nerf")
    calls = []
    lattice = fast.grid_density_lattice
    fast.grid_density_lattice = lambda *a, **k: (calls.append(1), lattice(*a, **k))[1]
    for model in (fast, plain):
        system = TalkingHeadSystem(model, grid=GridUpkeep(lattice=True))
        assert system.optional == {"grid_density_lattice", "grid_density_lean"}
        if model is plain:  # as a model without the member: the points go through grid_density
            system.optional = frozenset()
        system.set_occupancy_signals(windows, eyes, poses)
        torch.manual_seed(4)
        system.after_step(0, torch.Generator().manual_seed(3))
    assert calls == [1]  # the planes are encoded once per refresh
    assert torch.allclose(fast.grid.density_grid, plain.grid.density_grid, rtol=1e-5, atol=0)
    assert torch.equal(fast.grid.density_bitfield, plain.grid.density_bitfield)
    # and it is a refresh: the values are no longer the fresh grid's zeros
    assert int((fast.grid.density_grid > 0).sum()) == 32**3


def test_of_the_backbones_only_er_nerf_offers_the_lattice_path():
    from lokitalk_plugins.adapters import wrap
    from lokitalk_plugins.pipeline.protocol import optional_members

    lean = {"grid_density_lean"}  # GridUpkeep.lean's member, which every rebuilt one offers
    assert optional_members(make_backbone("er_nerf")) == {"grid_density_lattice"} | lean
    assert optional_members(make_backbone("rad_nerf")) == lean
    # a wrapped backbone offers the member and answers per refresh (None where its encoding
    # has no lattice form or it deforms without GridUpkeep.deformed_lattice; see
    # test_deformed_lattice.py)
    assert optional_members(wrap(make_backbone("er_nerf"))) == {
        "fast_path_precision",
        "grid_density_lattice",
        "grid_density_lean",
    }


@pytest.mark.skipif(
    cpu_bf16_support() is None, reason="this CPU has no bfloat16 instructions (refused there)"
)
@pytest.mark.parametrize("name", ["er_nerf", "rad_nerf"])
def test_a_bfloat16_refresh_keeps_float32_values_and_the_float32_occupancy(name):
    """A field whose density spans decades (the sigma head scaled up, as after training):
    the bfloat16 refresh stores float32 values within 3% and agrees on >= 99% of the cells."""
    windows, eyes, poses = bank()
    ref = make_backbone(name)
    with torch.no_grad():
        ref.sigma_net.net[-1].weight[0].mul_(40.0)
    half = copy.deepcopy(ref)
    new_refresh(ref, windows, eyes, poses, 3, 4)
    new_refresh(half, windows, eyes, poses, 3, 4, grid=GridUpkeep(precision="bfloat16"))
    a, b = ref.grid.density_grid, half.grid.density_grid
    assert b.dtype == torch.float32 and half.grid.compute_dtype == torch.bfloat16
    assert float(a.max() / a.min()) > 100.0  # the densities do span decades
    assert ((a - b).abs() <= 0.03 * a.abs()).all()  # measured: 2.1% at most
    agree = (ref.grid.occupancy == half.grid.occupancy).float().mean()
    assert agree >= 0.99, agree


@pytest.mark.parametrize("name", ["er_nerf", "rad_nerf"])
def test_the_density_is_float32_under_a_bfloat16_autocast(name):
    """A density near 1 in bfloat16 would be rounded to steps of 1/128."""
    model = make_backbone(name)
    x = torch.rand(64, 3) * 2 - 1
    enc_a = model.encode_audio(bank()[0][:1])
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model.density(model.encode_points(x), enc_a, torch.ones(1, 1))
        assert out["sigma"].dtype == torch.float32
        assert model.grid_density(x, enc_a, torch.ones(1, 1)).dtype == torch.float32


def test_refresh_precision_is_chosen_from_the_cpu_and_refused_in_one_line(tmp_path):
    with_bf16, without = tmp_path / "with", tmp_path / "without"
    with_bf16.write_text("flags\t: fpu sse avx512f avx512_bf16 amx_bf16\n")
    without.write_text("flags\t: fpu sse avx2\n")
    assert refresh_dtype("float32", with_bf16) is None
    assert refresh_dtype("auto", with_bf16) == torch.bfloat16
    assert refresh_dtype("bfloat16", with_bf16) == torch.bfloat16
    assert refresh_dtype("auto", without) is None
    with pytest.raises(OptionError, match=r"GridUpkeep.precision = 'bfloat16'.*'auto'") as e:
        refresh_dtype("bfloat16", without)
    assert len(str(e.value).splitlines()) == 1
    with pytest.raises(OptionError, match="GridUpkeep.precision must be one of"):
        GridUpkeep(precision="half")
    with pytest.raises(OptionError, match=r"^FramePlugins.neural_precision = 'bfloat16'"):
        cpu_autocast_dtype("bfloat16", "FramePlugins.neural_precision", without)


def test_the_options_reach_the_grid_and_default_to_the_originals():
    model = make_backbone("er_nerf")
    system = TalkingHeadSystem(model, num_rays=64)
    assert not system.model.grid.lattice and system.model.grid.compute_dtype is None
    TalkingHeadSystem(model, num_rays=64, grid=GridUpkeep(lattice=True, precision="auto"))
    assert model.grid.lattice
    assert model.grid.compute_dtype == refresh_dtype("auto")


def test_the_fast_upkeep_config_sets_the_measured_options():
    import gin

    from lokitalk_plugins.registration import CONFIGURABLES
    from lokitalk_plugins.train import parse_config_files

    try:
        parse_config_files(["configs/er_nerf.gin", "configs/fast_upkeep.gin"])
        upkeep = CONFIGURABLES["GridUpkeep"]()
    finally:
        gin.clear_config()
    assert upkeep == GridUpkeep(
        mode="sparse", fraction=0.25, lattice=True, precision="auto", every=32, lean=True
    )


@pytest.mark.skipif(cpu_bf16_support() is None, reason="this CPU has no bfloat16 instructions")
def test_the_bfloat16_lattice_refresh_casts_the_planes_once_bit_for_bit(monkeypatch):
    """ER-NeRF's lattice refresh under a bfloat16 autocast gathers from a table cast once and
    concatenates sigma_net's input in bfloat16: the same densities as the float32 table's
    features (which the first layer rounds to bfloat16) and sigma_net's density row alone."""
    dtypes, encoder = [], field.lattice_encoder

    def recorded(m, a, b, d=None):
        dtypes.append(d)
        return encoder(m, a, b, d)

    monkeypatch.setattr(field, "lattice_encoder", recorded)
    model = make_backbone("er_nerf")
    torch.manual_seed(5)
    axes = lattice_axes(32, 1.0, True, torch.float32)
    ijk = torch.randint(0, 32, (3000, 3))
    enc_a = model.encode_audio(bank()[0][:1])
    eye = torch.full((1, 1), 0.3)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        fast = model.grid_density_lattice(axes, enc_a, eye)(ijk)
        encode = field.lattice_encoder(model, axes, model.bound)  # float32 table
        plain = field.sigma(model, encode(ijk), enc_a, eye, refresh=True)
        full = model.sigma(encode(ijk), enc_a, eye)  # geo_feat's rows too
    assert torch.equal(fast, plain) and dtypes == [torch.bfloat16, None]
    assert torch.allclose(fast, full, rtol=2e-2, atol=0)  # bfloat16 rounding at most
