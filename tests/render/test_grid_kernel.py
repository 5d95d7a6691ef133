"""The occupancy grid's fused bookkeeping (csrc/occupancy.cpp) against its PyTorch twin: the
same values, bitfield and occupancy bit for bit, under every upkeep schedule."""

import math

import pytest
import torch

from lokitalk_plugins.encoding import grid_cpp
from lokitalk_plugins.render import OccupancyGrid
from lokitalk_plugins.render import grid as grid_module
from lokitalk_plugins.render.morton import morton_order, unpack_bits

needs_kernel = pytest.mark.skipif(not grid_cpp.kernel_available(), reason="no C++ build here")


def field(points):
    """A density with a thin shell, values near any threshold, and a dense core."""
    rad = points.norm(dim=-1)
    return 40.0 * torch.exp(-(((rad - 0.5) / 0.08) ** 2)) + 3.0 * (rad < 0.2) + 0.5 * points[:, 0]


def twins(seed, r=16, **kw):
    """Two grids in one random state (a third of the cells unseen, random values), the
    fused backend's and the reference's."""
    grids = [OccupancyGrid(resolution=r, backend=b, **kw) for b in ("auto", "torch")]
    g = torch.Generator().manual_seed(seed)
    values = torch.rand(r**3, generator=g) ** 4 * 20.0
    values[torch.rand(r**3, generator=g) < 1 / 3] = -1.0
    for grid in grids:
        grid.density_grid[0] = values
        grid._threshold()
    return grids


def same(a, b):
    assert torch.equal(a.density_grid, b.density_grid)
    assert torch.equal(a.density_bitfield, b.density_bitfield)
    assert torch.equal(a.occupancy, b.occupancy)
    assert a.occupancy.shape == b.occupancy.shape and a.occupancy.is_contiguous()
    assert math.isclose(a.mean_density, b.mean_density, rel_tol=1e-12)


SETTINGS = [
    {"upkeep": "full"},
    {"upkeep": "full", "fraction": 0.4},
    {"upkeep": "spread", "fraction": 0.25},
    {"upkeep": "sparse", "fraction": 0.25},
    {"upkeep": "sparse", "fraction": 0.25, "lattice": True},
    {"upkeep": "sparse", "fraction": 1e-9, "density_thresh": 2.0},
]


@needs_kernel
@pytest.mark.parametrize("kw", SETTINGS)
def test_the_fused_bookkeeping_matches_the_reference_bit_for_bit(kw):
    for seed in range(3):
        fused, ref = twins(seed, **kw)
        for _ in range(4):  # several updates: the occupancy each one starts from differs
            for grid in (fused, ref):
                torch.manual_seed(seed)
                assert grid.update(field, force=True)
            same(fused, ref)
        assert 0 < int(fused.occupancy.sum()) < fused.occupancy.numel()


@needs_kernel
def test_the_occupancy_follows_the_bitfield_and_unseen_cells_stay_at_minus_one():
    fused, _ = twins(1, upkeep="sparse", fraction=0.5)
    unseen = fused.density_grid[0] < 0
    fused.update(field, force=True)
    assert (fused.density_grid[0][unseen] == -1.0).all()
    bits = unpack_bits(fused.density_bitfield)
    assert torch.equal(fused.occupancy.reshape(-1), bits.index_select(0, fused.morton))
    assert not bits[unseen].any()
    valid = fused.density_grid[0][~unseen].double()
    assert math.isclose(fused.mean_density, float(valid.mean()), rel_tol=1e-12)


@needs_kernel
def test_nan_densities_propagate_as_in_pytorch():
    def with_nan(points):
        out = field(points)
        out[::7] = float("nan")
        return out

    fused, ref = twins(2, upkeep="full")
    for grid in (fused, ref):
        torch.manual_seed(0)  # the same jitter
        grid.update(with_nan, force=True)
    assert torch.equal(fused.density_grid.isnan(), ref.density_grid.isnan())
    ok = ~ref.density_grid.isnan()
    assert torch.equal(fused.density_grid[ok], ref.density_grid[ok])
    assert math.isnan(fused.mean_density) and math.isnan(ref.mean_density)
    assert torch.equal(fused.density_bitfield, ref.density_bitfield)  # nothing exceeds NaN
    assert not fused.occupancy.any()


def test_without_a_build_the_grid_uses_the_reference(monkeypatch):
    monkeypatch.setattr(grid_module, "load_kernel", lambda: None)
    a, b = twins(3, upkeep="sparse", fraction=0.25)
    for grid in (a, b):
        torch.manual_seed(0)
        grid.update(field, force=True)
    same(a, b)


def test_a_bad_backend_is_refused():
    with pytest.raises(ValueError, match="backend must be one of"):
        OccupancyGrid(resolution=8, backend="cuda")


@pytest.mark.parametrize("r", [2, 4, 8, 32])
def test_the_morton_table_is_one_part_per_axis_as_the_kernel_reads_it(r):
    m = morton_order(r).view(r, r, r)
    parts = m[:, 0, 0].view(r, 1, 1) + m[0, :, 0].view(1, r, 1) + m[0, 0, :].view(1, 1, r)
    assert torch.equal(m, parts)
