"""A wrapped model's occupancy refresh on the lattice (adapters/lattice_refresh.py): without a
deformation it is bit for bit its points' refresh; with one, ``GridUpkeep.deformed_lattice``
reads the canonical density at the lattice point of the cell each deformed point falls in
(0: the exact deformation; R: the deformation from R^3 vertices), a deformed point outside
the cube encodes exactly, and the option is refused in one line where it cannot apply."""

from types import SimpleNamespace

import pytest
import torch
from adapter_helpers import make_backbone
from test_grid_refresh import bank, build, new_refresh

from lokitalk_plugins.adapters import wrap
from lokitalk_plugins.errors import OptionError
from lokitalk_plugins.pipeline import TalkingHeadSystem
from lokitalk_plugins.pipeline.options import GridUpkeep
from lokitalk_plugins.render.upkeep import cell_indices, lattice_axes, lattice_points
from lokitalk_plugins.train.runtime import cpu_bf16_support

R = 32  # make_backbone's grid resolution is checked below


def conditions(model):
    windows, eyes, poses = bank()
    return model.encode_audio(windows[:1]), eyes[:1], poses[:1]


def canonical_reference(model, axes, ijk, xc, enc_a, eye, pose):
    """What the deformed lattice refresh must give, from grid_density alone: the undeformed
    density at the lattice point of the cell xc falls in, or at xc outside the cube."""
    r, b = axes.shape[1], float(model.grid.bound)
    cell = ((xc + b) * (r / (2 * b))).floor().long()
    inside = ((cell >= 0) & (cell < r)).all(-1)
    at = torch.where(inside[:, None], lattice_points(axes, cell.clamp(0, r - 1)), xc)
    return model.grid_density(at, enc_a, eye, pose, deformed=False)


def test_the_option_is_refused_in_one_line_where_it_cannot_apply():
    for bad in (True, 1, -2, 2.5, "33"):
        with pytest.raises(OptionError, match=r"^GridUpkeep.deformed_lattice must be") as e:
            GridUpkeep(lattice=True, deformed_lattice=bad)
        assert len(str(e.value).splitlines()) == 1
    with pytest.raises(OptionError, match=r"set GridUpkeep.lattice = True as well$"):
        GridUpkeep(deformed_lattice=0)
    assert GridUpkeep().deformed_lattice is None  # off by default
    assert GridUpkeep(lattice=True, deformed_lattice=33).deformed_lattice == 33


def test_a_wrapped_model_without_deformation_refreshes_on_the_lattice_bit_for_bit():
    """Through the system: the wrapped ER-NeRF's planes encoded once give the same grid as
    the same lattice points through grid_density."""
    windows, eyes, poses = bank()
    fast, plain = wrap(make_backbone("er_nerf")), wrap(make_backbone("er_nerf"))
    for model in (fast, plain):
        system = TalkingHeadSystem(model, grid=GridUpkeep(lattice=True))
        assert "grid_density_lattice" in system.optional
        if model is plain:
            system.optional = frozenset()
        system.set_occupancy_signals(windows, eyes, poses)
        torch.manual_seed(4)
        system.after_step(0, torch.Generator().manual_seed(3))
    assert torch.equal(fast.grid.density_grid, plain.grid.density_grid)
    assert int((fast.grid.density_grid > 0).sum()) == fast.grid.resolution**3


def test_without_the_option_a_deforming_model_keeps_the_exact_refresh():
    model = build("er_nerf", True)
    enc_a, eye, pose = conditions(model)
    axes = lattice_axes(model.grid.resolution, 1.0, True, torch.float32)
    with torch.no_grad():
        assert model.grid_density_lattice(axes, enc_a, eye, pose) is None
        assert model.grid_density_lattice(axes, enc_a, eye, pose, deformed_lattice=0) is not None
        # a backbone whose encoding has no lattice form: none either way
        rad = build("rad_nerf", True)
        rad_a = conditions(rad)[0]
        assert rad.grid_density_lattice(axes, rad_a, eye, pose, deformed_lattice=0) is None
        # nor with ID-AKT's identity bound (it moves the canonical points)
        model.identity_outputs = lambda required=True: object()
        assert model.grid_density_lattice(axes, enc_a, eye, pose, deformed_lattice=0) is None
    # and the grid then evaluates the lattice's points: bit for bit the option unset
    windows, eyes, poses = bank()
    a, b = build("er_nerf", True), build("er_nerf", True)
    new_refresh(a, windows, eyes, poses, 3, 4, grid=GridUpkeep(lattice=True))
    system = TalkingHeadSystem(b, grid=GridUpkeep(lattice=True))
    system.optional = frozenset()
    system.set_occupancy_signals(windows, eyes, poses)
    torch.manual_seed(4)
    system.after_step(0, torch.Generator().manual_seed(3))
    assert torch.equal(a.grid.density_grid, b.grid.density_grid)


def test_the_canonical_cell_of_each_deformed_point_is_read_on_the_lattice():
    model = build("er_nerf", True)  # RSDF with random offsets: points really move
    assert model.grid.resolution == R
    enc_a, eye, pose = conditions(model)
    torch.manual_seed(0)
    axes = lattice_axes(R, 1.0, True, torch.float32)
    ijk = cell_indices(torch.randperm(R**3)[:3000], R)
    x = lattice_points(axes, ijk)
    with torch.no_grad():
        fn = model.grid_density_lattice(axes, enc_a, eye, pose, deformed_lattice=0)
        got = fn(ijk)
        f_a = model.split_audio(enc_a)[1]
        xc = model.deform(x, f_a, eye, pose, None, maps=False).x_canonical
        moved = (((xc + 1) * R / 2).floor().long() != ijk).any(-1)
        assert 0.2 < float(moved.float().mean()) < 1.0  # a real deformation, of a few cells
        ref = canonical_reference(model, axes, ijk, xc, enc_a, eye, pose)
        exact = model.grid_density(x, enc_a, eye, pose)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(got, exact)  # not the exact refresh, which reads x' itself


def test_the_deformation_from_vertices_equals_the_exact_one_at_the_vertices():
    """Cell centres (no jitter) of a 32^3 grid sit on the vertices of a 65^3 lattice: there
    the trilinear read is the vertex value, so R = 65 gives the exact deformation's result."""
    model = build("er_nerf", True)
    enc_a, eye, pose = conditions(model)
    axes = lattice_axes(R, 1.0, False, torch.float32)
    ijk = cell_indices(torch.arange(0, R**3, 7), R)
    with torch.no_grad():
        exact = model.grid_density_lattice(axes, enc_a, eye, pose, deformed_lattice=0)(ijk)
        baked = model.grid_density_lattice(axes, enc_a, eye, pose, deformed_lattice=2 * R + 1)
        torch.testing.assert_close(baked(ijk), exact, rtol=1e-4, atol=1e-5)
        coarse = model.grid_density_lattice(axes, enc_a, eye, pose, deformed_lattice=5)(ijk)
    assert not torch.allclose(coarse, exact)  # a coarse lattice is an approximation


@pytest.mark.parametrize("vertices", [0, 9])
def test_a_deformed_point_outside_the_cube_is_encoded_exactly(vertices):
    """A constant shift (exact on any vertex lattice): cells shifted past the cube's +x face
    read the density at the shifted point itself; the others their canonical cell's."""
    model = wrap(make_backbone("er_nerf"), rsdf=build("er_nerf", True).rsdf)
    shift = torch.tensor([0.3, -0.1, 0.0])
    model.deform = lambda x, *a, **k: SimpleNamespace(x_canonical=x + shift)
    enc_a, eye, pose = conditions(model)
    torch.manual_seed(1)
    axes = lattice_axes(R, 1.0, True, torch.float32)
    ijk = cell_indices(torch.arange(R**3), R)
    with torch.no_grad():
        got = model.grid_density_lattice(axes, enc_a, eye, pose, deformed_lattice=vertices)(ijk)
        xc = lattice_points(axes, ijk) + shift
        ref = canonical_reference(model, axes, ijk, xc, enc_a, eye, pose)
    assert int((xc[:, 0] > 1).sum()) > 0
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)


def test_through_the_system_the_deformation_runs_once_a_refresh_on_the_vertices():
    windows, eyes, poses = bank()
    model, calls = build("er_nerf", True), []
    deform = model.deform
    model.deform = lambda x, *a, **k: (calls.append(x.shape[0]), deform(x, *a, **k))[1]
    grid = GridUpkeep(lattice=True, deformed_lattice=9)
    new_refresh(model, windows, eyes, poses, 3, 4, grid=grid)
    assert calls == [9**3]  # the vertices, once; no cell's point is deformed
    assert int(model.grid.density_grid.gt(0).sum()) == R**3  # every cell refreshed
    assert 0.05 < float(model.grid.occupancy.float().mean()) < 0.95  # and thresholded
    # (how close its occupancy comes to the exact refresh's is measured on a trained model:
    # benchmarks/results/train_speed_deformed_lattice*, not on random weights)


def test_the_gin_option_reaches_the_refresh():
    import gin

    from lokitalk_plugins.registration import CONFIGURABLES
    from lokitalk_plugins.train import parse_config_files

    try:
        parse_config_files(["configs/er_nerf_odr.gin", "configs/fast_upkeep.gin"],
                           ["GridUpkeep.deformed_lattice = 33"])  # fmt: skip
        upkeep = CONFIGURABLES["GridUpkeep"]()
    finally:
        gin.clear_config()
    assert upkeep.deformed_lattice == 33 and upkeep.lattice


def test_the_static_density_skips_the_zero_inputs_and_geo_feat_to_float_rounding():
    from lokitalk_plugins.baselines.er_nerf import field

    model = make_backbone("er_nerf")
    with torch.no_grad():
        model.sigma_net.net[-1].weight[0].mul_(80.0)  # densities over decades, as trained
        enc = model.encode_points(torch.rand(700, 3) * 2 - 1)
        full = field.sigma(model, enc, None, None)
        narrow = field.static_sigma(model, enc)
        torch.testing.assert_close(narrow, full, rtol=1e-5, atol=0.0)
        assert float(full.max() / full.min()) > 100.0
        if cpu_bf16_support() is not None:  # the refresh's bfloat16 precision: both rounded
            with torch.autocast("cpu", dtype=torch.bfloat16):
                a, b = field.sigma(model, enc, None, None), field.static_sigma(model, enc)
            assert a.dtype == b.dtype == torch.float32
            assert ((a - b).abs() <= 0.05 * a).all()
        # the adapters: ER-NeRF's cheaper form, any other's sigma under its static condition
        wrapped = build("er_nerf", True)
        enc_a, eye, _ = conditions(wrapped)
        enc_w = wrapped.adapter.encode_points(torch.rand(300, 3) * 2 - 1)
        torch.testing.assert_close(
            wrapped.adapter.static_sigma(enc_w, enc_a, eye),
            wrapped.adapter.sigma(enc_w, None, None),
            rtol=1e-5,
            atol=0.0,
        )
        rad = build("rad_nerf", True)
        rad_a, _, _ = conditions(rad)
        enc_r = rad.adapter.encode_points(torch.rand(300, 3) * 2 - 1)
        zeros = rad.adapter.static_condition(rad_a, eye)
        torch.testing.assert_close(
            rad.adapter.static_sigma(enc_r, rad_a, eye),
            rad.adapter.sigma(enc_r, *zeros),
            rtol=1e-5,
            atol=0.0,
        )


def test_a_box_only_grid_bakes_only_the_vertices_its_cells_read_and_reads_the_same():
    from lokitalk_plugins.adapters.lattice_refresh import vertex_offsets

    model = build("er_nerf", True)
    enc_a, eye, pose = conditions(model)
    f_a = model.split_audio(enc_a)[1]
    grid = model.grid
    reach = grid.aabb_train + torch.tensor([-1.0] * 3 + [1.0] * 3) * grid.cell_size
    torch.manual_seed(3)
    lo, hi = reach[:3], reach[3:]
    x = lo + torch.rand(4000, 3) * (hi - lo)  # anywhere a box_only refresh reads
    with torch.no_grad():
        full = vertex_offsets(model, 17, 1.0, f_a, eye, pose)
        part = vertex_offsets(model, 17, 1.0, f_a, eye, pose, reach)
        assert torch.equal(part(x), full(x))
        baked = int(part.values.abs().sum(-1).gt(0).sum())
        assert 0 < baked < 17**3 * 0.8  # the head box's y half-extent is 0.5 of the cube's


@pytest.mark.skipif(cpu_bf16_support() is None, reason="this CPU has no bfloat16 instructions")
def test_the_planes_cast_once_give_the_static_density_bit_for_bit_under_bfloat16():
    from lokitalk_plugins.baselines.er_nerf import field

    model = make_backbone("er_nerf")
    torch.manual_seed(2)
    axes = lattice_axes(R, 1.0, True, torch.float32)
    ijk = torch.randint(0, R, (5000, 3))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        plain = field.lattice_encoder(model, axes, model.bound)
        cast = field.lattice_encoder(model, axes, model.bound, torch.bfloat16)
        assert cast(ijk).dtype == torch.bfloat16
        assert torch.equal(field.static_sigma(model, cast(ijk)),
                           field.static_sigma(model, plain(ijk)))  # fmt: skip
