"""The occupancy grid's "spread" upkeep: schedule identities, the cells it refreshes, and its
decay (see lokitalk_plugins.render.upkeep for the math)."""

import math

import pytest
import torch

from lokitalk_plugins.render import OccupancyGrid
from lokitalk_plugins.render.upkeep import cell_points_of, spread_schedule


@pytest.mark.parametrize("fraction", [1.0, 0.5, 0.25, 0.125, 1 / 16])
def test_spread_schedule_matches_the_originals_refresh_interval_and_decay(fraction):
    E, d, n = 16, 0.95, 4096
    interval, decay, p = spread_schedule(E, d, fraction, n)
    assert interval == round(fraction * E) and p == pytest.approx(fraction)
    assert decay ** (1 / interval) == pytest.approx(d ** (1 / E), rel=1e-12)  # per wall step
    assert interval / p == pytest.approx(E)  # expected steps between two refreshes of a cell
    assert p * n / interval == pytest.approx(n / E)  # cells evaluated per wall step


def test_spread_schedule_refuses_a_bad_fraction():
    with pytest.raises(ValueError, match="fraction must be in"):
        spread_schedule(16, 0.95, 0.0, 10)
    with pytest.raises(ValueError, match="upkeep must be one of"):
        OccupancyGrid(resolution=8, upkeep="half")
    with pytest.raises(ValueError, match=r"grid fraction must be in \(0, 1\], got 1.5"):
        OccupancyGrid(resolution=8).set_upkeep("full", 1.5)


def test_spread_update_refreshes_a_share_and_decays_every_cell():
    torch.manual_seed(0)
    g = OccupancyGrid(resolution=8, fraction=0.25, upkeep="spread")
    assert g.interval == 4 and g.due(8) and not g.due(6)
    assert not g.update(lambda x: torch.ones(x.shape[0]), step=6)
    g.density_grid.fill_(10.0)
    g.density_grid[0, :8] = -1.0  # unseen cells are never refreshed
    assert g.update(lambda x: torch.full((x.shape[0],), 50.0), step=4)
    vals = g.density_grid[0]
    assert int((vals == 50.0).sum()) == math.ceil(0.25 * 504)
    assert torch.equal(vals[:8], torch.full((8,), -1.0))
    rest = vals[(vals != 50.0) & (vals >= 0)]
    torch.testing.assert_close(rest, torch.full_like(rest, 10.0 * 0.95**0.25))


def test_spread_refresh_interval_measured_over_many_updates():
    """Every cell's mean number of steps between refreshes is about update_every."""
    torch.manual_seed(1)
    g = OccupancyGrid(resolution=8, fraction=0.25, upkeep="spread", jitter=False)
    seen = []
    g.update(lambda x: seen.append(g.cell_of(x)[0]) or torch.zeros(x.shape[0]), force=True)
    counts = torch.zeros(8, 8, 8)
    updates = 400
    for _ in range(updates):
        seen.clear()
        g.update(lambda x: seen.append(g.cell_of(x)[0]) or torch.zeros(x.shape[0]), force=True)
        c = torch.cat(seen)
        counts[c[:, 0], c[:, 1], c[:, 2]] += 1
    interval = updates * g.interval / counts  # steps per refresh, each cell
    assert abs(float(interval.mean()) - 16.0) < 0.5
    assert float(counts.min()) > 0  # no cell is starved


def test_cell_points_of_builds_points_inside_the_given_cells():
    g = OccupancyGrid(resolution=8)
    cells = torch.tensor([0, 9, 100, 511])
    pts = cell_points_of(cells, 8, 1.0, True, torch.float32)
    ijk, inside = g.cell_of(pts)
    assert inside.all()
    assert torch.equal(ijk[:, 0] * 64 + ijk[:, 1] * 8 + ijk[:, 2], cells)
    centres = cell_points_of(cells, 8, 1.0, False, torch.float32)
    torch.testing.assert_close(centres, g.cell_points()[cells])


def test_every_keeps_the_decay_per_step_and_reaches_the_grid_from_the_options():
    """GridUpkeep.every: updates every N steps, decay per update 0.95^(N / 16), so a cell the
    field no longer fills decays by the same amount per training step as the originals'."""

    from lokitalk_plugins.errors import OptionError
    from lokitalk_plugins.pipeline.options import GridUpkeep

    g16, g32 = OccupancyGrid(resolution=8), OccupancyGrid(resolution=8)
    g32.set_every(32)
    assert g32.update_every == 32 and g32.decay == pytest.approx(0.95**2)
    g32.set_every(32)  # again: unchanged
    assert g32.decay == pytest.approx(0.95**2)
    assert [s for s in range(70) if g32.due(s)] == [0, 32, 64]
    for g in (g16, g32):
        g.density_grid.fill_(100.0)
    zero = lambda x: torch.zeros(x.shape[0])  # noqa: E731
    for step in range(1, 65):
        g16.update(zero, step=step)
        g32.update(zero, step=step)
    assert torch.allclose(g16.density_grid, g32.density_grid)  # 100 * 0.95^4 either way
    assert float(g32.density_grid[0, 0]) == pytest.approx(100 * 0.95**4)
    for bad in (0, 2.5, True):
        with pytest.raises(OptionError, match="GridUpkeep.every must be a whole number"):
            GridUpkeep(every=bad)
