"""The pipeline's occupancy refresh: the originals' setting is bit for bit the refresh before
the upkeep options, the density-only path equals the full density, and a refresh follows a
deformation plug-in (a cell content moves into is occupied; the old rule leaves it empty)."""

import copy

import pytest
import torch
from adapter_helpers import make_backbone, make_plugin, randomise_offsets

from lokitalk_plugins.adapters import wrap
from lokitalk_plugins.pipeline import TalkingHeadSystem
from lokitalk_plugins.pipeline.options import GridUpkeep
from lokitalk_plugins.rsdf import DeformationField
from lokitalk_plugins.rsdf.rsdf import RSDFOutput

M, K = 5, 16  # training frames in the bank, audio feature size of make_backbone


def bank(seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(M, 8, K, 16, generator=g), torch.rand(M, 1, generator=g),
            torch.randn(M, 6, generator=g) * 0.1)  # fmt: skip


def old_refresh(model, windows, eyes, gen_seed, rng_seed):
    """The refresh as the pipeline ran it before the upkeep options (commit ac1b39c)."""
    g = torch.Generator().manual_seed(gen_seed)
    torch.manual_seed(rng_seed)
    i = int(torch.randint(0, windows.shape[0], (1,), generator=g))
    enc_a = model.encode_audio(windows[i : i + 1].float())
    eye = eyes[i : i + 1]
    with torch.no_grad():
        model.grid.update(lambda x: model.density(model.encode_points(x), enc_a, eye)["sigma"])


def new_refresh(model, windows, eyes, poses, gen_seed, rng_seed, **options):
    system = TalkingHeadSystem(model, **options)
    system.set_occupancy_signals(windows, eyes, poses)
    torch.manual_seed(rng_seed)
    system.after_step(0, torch.Generator().manual_seed(gen_seed))


def build(name, plugged):
    model = make_backbone(name)
    if plugged:
        rsdf = make_plugin("rsdf", model.audio_dim)
        randomise_offsets(rsdf, std=0.3)
        model = wrap(model, rsdf=rsdf)
    return model


@pytest.mark.parametrize("name", ["er_nerf", "rad_nerf"])
@pytest.mark.parametrize("plugged", [False, True])
def test_original_upkeep_is_bit_for_bit_the_old_refresh(name, plugged):
    windows, eyes, poses = bank()
    model = build(name, plugged)
    ref = copy.deepcopy(model)
    # grid_deformed has no effect on a bare backbone; a wrapped one keeps the old rule with False
    new_refresh(model, windows, eyes, poses, 3, 4, grid_deformed=not plugged)
    old_refresh(ref, windows, eyes, 3, 4)
    assert torch.equal(model.grid.density_grid, ref.grid.density_grid)
    assert torch.equal(model.grid.density_bitfield, ref.grid.density_bitfield)
    assert set(model.state_dict()) == set(ref.state_dict())  # no new buffer to load
    if plugged:  # the deformation-following refresh (the default) differs from it
        followed = build(name, plugged)
        new_refresh(followed, windows, eyes, poses, 3, 4)
        assert not torch.equal(followed.grid.density_grid, ref.grid.density_grid)


@pytest.mark.parametrize("name", ["er_nerf", "rad_nerf"])
def test_density_only_path_equals_the_full_density(name):
    model = make_backbone(name)
    windows, eyes, _ = bank()
    x = torch.rand(300, 3) * 2 - 1
    enc_a = model.encode_audio(windows[:1])
    with torch.no_grad():
        full = model.density(model.encode_points(x), enc_a, eyes[:1])["sigma"]
        assert torch.equal(model.grid_density(x, enc_a, eyes[:1]), full)
        wrapped = wrap(model)
        assert torch.equal(wrapped.adapter.sigma(model.encode_points(x), enc_a, eyes[:1]), full)


class Shift(DeformationField):
    """A synthetic deformation: canonical = observation + (0.5, 0, 0), whatever the frame."""

    pose_dim, map_names = 6, ()

    def __init__(self, audio_dim):
        super().__init__()
        self.audio_dim = audio_dim

    def forward(self, x, F_a, F_e, F_h, F_id=None, last_weights=None, maps=True):
        dx = x.new_tensor([0.5, 0.0, 0.0]).expand_as(x)
        return RSDFOutput(x + dx, dx, torch.zeros_like(x), {})


def box(p):
    """Density 100 where x, y, z are all in [0, 0.5), else 0: p [N, 3] -> [N]."""
    return 100.0 * ((p >= 0) & (p < 0.5)).all(-1).float()


@pytest.mark.parametrize("frames", [1, 3])
def test_refresh_follows_the_deformation_into_an_empty_cell(frames):
    """Canonical content fills x, y, z in [0, 0.5); the deformation samples canonical x + 0.5
    at world x, so content shows at world x in [-0.5, 0): those cells must be occupied."""
    windows, eyes, poses = bank()
    grids = {}
    for deformed in (True, False):
        model = wrap(make_backbone("er_nerf"), rsdf=Shift(32))
        model.adapter.encode_points = lambda p: p  # the canonical point itself
        model.adapter.sigma = lambda enc_x, enc_a, eye: box(enc_x)
        new_refresh(model, windows, eyes, poses, 0, 0, grid_deformed=deformed,
                    grid_frames=frames)  # fmt: skip
        grids[deformed] = model.grid.occupancy  # 32^3, cells of 1/16
    moved, canonical = (slice(8, 16), slice(16, 24), slice(16, 24)), (slice(16, 24),) * 3
    assert grids[True][moved].all() and not grids[True][canonical].any()
    assert not grids[False][moved].any() and grids[False][canonical].all()
    assert int(grids[True].sum()) == int(grids[False].sum()) == 8**3


def test_spread_upkeep_runs_through_the_system_on_its_interval():
    model = make_backbone("er_nerf")
    system = TalkingHeadSystem(model, grid_upkeep="spread", grid_fraction=0.25, grid_frames=2)
    system.set_occupancy_signals(*bank())
    assert model.grid.interval == 4
    before = model.grid.density_grid.clone()
    system.after_step(2, torch.Generator().manual_seed(0))
    assert torch.equal(model.grid.density_grid, before)
    system.after_step(4, torch.Generator().manual_seed(0))
    assert int((model.grid.density_grid != before).sum()) > 0.2 * 32**3
    with pytest.raises(ValueError, match="grid_frames must be >= 1"):
        TalkingHeadSystem(make_backbone("er_nerf"), grid_frames=0)


@pytest.mark.parametrize("name", ["er_nerf", "rad_nerf"])
def test_the_refresh_does_not_depend_on_the_chunk(name):
    """The default chunk (2^15 points) gives the grid the old defaults (2^18, 2^14) gave,
    and so do chunks that cut the 32^3 cells into many calls (2^10)."""
    windows, eyes, poses = bank()
    model = make_backbone(name)
    assert model.grid.chunk == 1 << 15
    new_refresh(model, windows, eyes, poses, 1, 2)
    for chunk in (1 << 18, 1 << 14, 1 << 10):
        other = make_backbone(name)
        other.grid.chunk = chunk
        new_refresh(other, windows, eyes, poses, 1, 2)
        assert torch.equal(model.grid.density_grid, other.grid.density_grid)


# RAD-NeRF's ambient coordinate indexes a hash grid whose finest level has 2048 cells a side:
# a float32 rounding of the coordinate (~1e-7, the bias's summation order) moves the encoding
# by up to ~1e-4 of its scale there, which sigma_net passes on
RTOL = {"er_nerf": 1e-5, "rad_nerf": 1e-3}


def decades(model, name):
    """sigma_net's density row scaled so the densities span decades, as trained."""
    with torch.no_grad():
        model.sigma_net.net[-1].weight[0].mul_(80.0 if name == "er_nerf" else 40.0)


@pytest.mark.parametrize("name", ["er_nerf", "rad_nerf"])
def test_the_lean_refresh_density_equals_the_density_to_float_rounding(name):
    from lokitalk_plugins.train.runtime import cpu_bf16_support

    model = make_backbone(name)
    decades(model, name)
    windows, eyes, _ = bank()
    x = torch.rand(700, 3) * 2 - 1
    with torch.no_grad():
        for enc_a, eye in [(model.encode_audio(windows[:1]), eyes[:1]),  # one frame: a bias
                           (model.encode_audio(windows[:3].repeat(234, 1, 1, 1)[:700]),
                            eyes[:3].repeat(234, 1)[:700])]:  # fmt: skip
            full = model.grid_density(x, enc_a, eye)
            lean = model.grid_density_lean(x, enc_a, eye)
            torch.testing.assert_close(lean, full, rtol=RTOL[name], atol=0.0)
        assert float(full.max() / full.min()) > 100.0
        if cpu_bf16_support() is not None:  # a bfloat16 refresh: both rounded alike
            enc_a, eye = model.encode_audio(windows[:1]), eyes[:1]
            with torch.autocast("cpu", dtype=torch.bfloat16):
                a, b = model.grid_density(x, enc_a, eye), model.grid_density_lean(x, enc_a, eye)
            assert a.dtype == b.dtype == torch.float32
            assert ((a - b).abs() <= 0.05 * a).all()


@pytest.mark.parametrize("name", ["er_nerf", "rad_nerf"])
def test_a_wrapped_lean_refresh_reads_the_static_density_and_follows_the_deformation(name):
    model = build(name, True)
    decades(model.adapter.model, name)
    windows, eyes, poses = bank()
    x = torch.rand(500, 3) * 2 - 1
    with torch.no_grad():
        enc_a = model.encode_audio(windows[:1])
        lean = {}
        for deformed in (True, False):
            full = model.grid_density(x, enc_a, eyes[:1], poses[:1], deformed=deformed)
            lean[deformed] = model.grid_density_lean(x, enc_a, eyes[:1], poses[:1], deformed)
            torch.testing.assert_close(lean[deformed], full, rtol=1e-5, atol=0.0)
        assert not torch.allclose(lean[True], lean[False])  # the deformation is followed
        # a wrapped backbone that keeps its own audio path: the same as grid_density
        own = wrap(make_backbone(name), static_canonical=False)
        a = own.encode_audio(windows[:1])
        assert torch.equal(own.grid_density_lean(x, a, eyes[:1]), own.grid_density(x, a, eyes[:1]))


@pytest.mark.parametrize("name", ["er_nerf", "rad_nerf"])
def test_the_lean_option_reaches_the_model_and_keeps_the_grid(name, monkeypatch):
    windows, eyes, poses = bank()
    model = build(name, False)
    decades(model, name)
    lean_model = copy.deepcopy(model)
    calls = []
    original = type(lean_model).grid_density_lean

    def counted(self, *args, **kwargs):
        calls.append(args[0].shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(lean_model), "grid_density_lean", counted)
    new_refresh(model, windows, eyes, poses, 3, 4)
    new_refresh(lean_model, windows, eyes, poses, 3, 4, grid=GridUpkeep(lean=True))
    assert sum(calls) == model.grid.density_grid.numel()  # every cell by the lean form
    torch.testing.assert_close(lean_model.grid.density_grid, model.grid.density_grid,
                               rtol=RTOL[name], atol=0.0)  # fmt: skip
    occupied = model.grid.density_bitfield
    assert (lean_model.grid.density_bitfield == occupied).float().mean() > 0.999
