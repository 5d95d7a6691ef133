import math

import pytest
import torch
from torch import nn

from lokitalk_plugins.render import (
    GRID_BUFFERS,
    OccupancyGrid,
    expose_grid_buffers,
    morton3d,
    unpack_bits,
)


def box_density(lo_cell, hi_cell, res, bound=1.0, value=100.0):
    """Density `value` inside the cells [lo_cell, hi_cell) on every axis, 0 elsewhere."""
    size = 2 * bound / res
    lo = -bound + torch.tensor(lo_cell, dtype=torch.float32) * size
    hi = -bound + torch.tensor(hi_cell, dtype=torch.float32) * size

    def fn(x):
        return value * ((x >= lo) & (x < hi)).all(-1).float()

    return fn


def test_fresh_grid_buffers_and_full_occupancy():
    g = OccupancyGrid(resolution=16)
    sd = g.state_dict()
    assert sd["density_grid"].shape == (1, 16**3)
    assert (
        sd["density_bitfield"].shape == (16**3 // 8,)
        and sd["density_bitfield"].dtype == torch.uint8
    )
    assert sd["step_counter"].shape == (16, 2) and sd["aabb_train"].shape == (6,)
    assert g.query(torch.rand(100, 3) * 2 - 1).all()
    assert not g.query(torch.tensor([[1.5, 0.0, 0.0]])).any()


def test_update_marks_exactly_the_dense_cells():
    torch.manual_seed(0)
    g = OccupancyGrid(resolution=16)
    fn = box_density((3, 5, 7), (6, 9, 10), 16)
    assert g.update(fn, step=0)
    expected = torch.zeros(16, 16, 16, dtype=torch.bool)
    expected[3:6, 5:9, 7:10] = True
    assert torch.equal(g.occupancy, expected)
    # the packed bitfield holds the same cells in Morton order
    ix, iy, iz = expected.nonzero(as_tuple=True)
    bits = unpack_bits(g.density_bitfield)
    assert bits[morton3d(ix, iy, iz, 4)].all() and int(bits.sum()) == int(expected.sum())
    # query at cell centres agrees
    centres = g.cell_points().reshape(16, 16, 16, 3)
    assert torch.equal(g.query(centres), expected)


def test_update_schedule_decay_and_max_merge():
    g = OccupancyGrid(resolution=16, update_every=16)
    fn = box_density((0, 0, 0), (2, 2, 2), 16)
    assert not g.update(fn, step=5)  # not an update step
    assert g.update(fn, step=32)
    cell = morton3d(torch.tensor(1), torch.tensor(1), torch.tensor(1), 4)
    assert g.density_grid[0, cell] == 100.0
    g.update(lambda x: torch.zeros(x.shape[0]), force=True)
    torch.testing.assert_close(g.density_grid[0, cell], torch.tensor(95.0))
    g.update(lambda x: torch.full((x.shape[0],), 3.0), force=True)
    torch.testing.assert_close(g.density_grid[0, cell], torch.tensor(95.0 * 0.95))
    other = morton3d(torch.tensor(9), torch.tensor(9), torch.tensor(9), 4)
    assert g.density_grid[0, other] == 3.0
    # threshold = min(mean, 10) = mean, about 3.16: the cells at 3.0 are off
    assert g.mean_density < 10 and g.query(torch.tensor([[-0.95, -0.95, -0.95]])).all()
    assert not g.query(torch.tensor([[0.2, 0.2, 0.2]])).any()


def test_summary_reports_the_threshold_and_shares_by_hand():
    """summary(): the valid cells' mean density (unseen cells left out), the threshold
    min(mean, density_thresh) and the occupied and valid shares of all cells."""
    g = OccupancyGrid(resolution=8, density_thresh=10.0)
    grid = torch.zeros(8**3)
    grid[:8] = 50.0  # 8 dense cells
    grid[8:24] = -1.0  # 16 unseen cells
    g.density_grid[0] = grid
    g._threshold()
    s = g.summary()
    assert s["mean_density"] == pytest.approx(8 * 50.0 / (512 - 16))
    assert s["threshold"] == pytest.approx(8 * 50.0 / 496)  # below density_thresh
    assert s["occupied_share"] == pytest.approx(8 / 512)
    assert s["valid_share"] == pytest.approx(496 / 512)
    g.density_grid[0, 24:] = 20.0  # denser everywhere: the threshold caps at density_thresh
    g._threshold()
    s = g.summary()
    assert s["threshold"] == 10.0 and s["occupied_share"] == pytest.approx(496 / 512)


def camera_looking_down_z(z=-3.0):
    c2w = torch.eye(4)
    c2w[2, 3] = z
    return c2w


def test_mark_unseen_is_conservative_and_sticks():
    torch.manual_seed(0)
    g = OccupancyGrid(resolution=16)
    H = W = 32
    K = (200.0, 200.0, 16.0, 16.0)  # narrow view: about +-0.32 wide at the box centre
    c2w = camera_looking_down_z()[None]
    n_unseen = g.mark_unseen(c2w, K, H, W)
    assert 0 < n_unseen < 16**3
    unseen = g.dense_values() < 0
    # every point that projects inside the image lies in a seen cell
    pts = torch.rand(20000, 3) * 2 - 1
    cam_z = pts[:, 2] + 3.0
    u = 200.0 * pts[:, 0] / cam_z + 16.0
    v = 200.0 * pts[:, 1] / cam_z + 16.0
    vis = (u >= 0) & (u <= W) & (v >= 0) & (v <= H)
    cells, _ = g.cell_of(pts[vis])
    assert not unseen[cells[:, 0], cells[:, 1], cells[:, 2]].any()
    # cells well outside the frustum are unseen (corner cell of the cube)
    assert unseen[0, 0, 0] and unseen[15, 15, 15]
    # updates leave unseen cells at -1 and off
    g.update(lambda x: torch.full((x.shape[0],), 50.0), force=True)
    assert torch.equal(g.dense_values() < 0, unseen)
    assert torch.equal(g.occupancy, ~unseen)


def test_state_dict_roundtrip_and_top_level_names():
    torch.manual_seed(0)
    g = OccupancyGrid(resolution=16)
    g.update(box_density((2, 2, 2), (5, 6, 7), 16), force=True)
    g2 = OccupancyGrid(resolution=16)
    g2.load_state_dict(g.state_dict())
    assert torch.equal(g2.occupancy, g.occupancy)

    class Owner(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.grid = OccupancyGrid(resolution=16)
            expose_grid_buffers(self)

    a = Owner()
    a.grid.load_state_dict(g.state_dict())
    sd = a.state_dict()
    assert set(GRID_BUFFERS) <= set(sd)
    assert not any(k.startswith("grid.") for k in sd)
    b = Owner()
    b.load_state_dict(sd, strict=True)
    assert torch.equal(b.grid.occupancy, g.occupancy)


def test_cell_points_jitter_stays_in_cell():
    g = OccupancyGrid(resolution=8)
    pts = g.cell_points(jitter=True)
    cells, inside = g.cell_of(pts)
    r = torch.arange(8)
    ijk = torch.stack(torch.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)
    assert inside.all() and torch.equal(cells, ijk)
    assert math.isclose(g.cell_size, 0.25)


def test_partial_update_decays_the_cells_it_skips():
    torch.manual_seed(0)
    g = OccupancyGrid(resolution=8, fraction=0.25)
    g.density_grid.fill_(10.0)
    g.update(lambda x: torch.full((x.shape[0],), 50.0), force=True)
    vals = g.density_grid[0]
    assert int((vals == 50.0).sum()) == 128  # a quarter of 512 cells evaluated
    torch.testing.assert_close(vals[vals != 50.0], torch.full((384,), 9.5))


def test_mark_unseen_block_pass_equals_per_cell_test():
    from lokitalk_plugins.render import visible_mask

    g = OccupancyGrid(resolution=32)
    c2w = torch.eye(4).repeat(3, 1, 1)
    for m, a in enumerate((-0.4, 0.0, 0.5)):
        rot = torch.tensor(
            [[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]]
        )
        c2w[m, :3, :3] = rot
        c2w[m, :3, 3] = rot @ torch.tensor([0.0, 0.1, -2.5])
    K, H, W = (300.0, 280.0, 30.0, 26.0), 50, 64
    g.mark_unseen(c2w, K, H, W)
    radius = math.sqrt(3.0) * 0.5 * g.cell_size
    flat = visible_mask(g.cell_points(), c2w, K, H, W, radius).view(32, 32, 32)
    assert torch.equal(g.dense_values() >= 0, flat)
    assert 0 < int(flat.sum()) < 32**3


def _reference_update(values, morton, new_dense, decay, evaluated, thresh_cap):
    """The refresh rule by advanced indexing, the grid's layout spelled out: values [n] in Morton
    order (-1 unseen); new_dense [n] density at each cell ([ix, iy, iz] order); evaluated [n]
    bool (dense) -> (values, dense occupancy) after one update where every valid cell decays
    and the evaluated ones take max(decayed, new)."""
    out = values.clone()
    valid = out >= 0
    out[valid] = out[valid] * decay
    cells = (evaluated & (values[morton] >= 0)).nonzero().flatten()
    out[morton[cells]] = torch.maximum(out[morton[cells]], new_dense[cells])
    valid = out >= 0
    thresh = min(float(out[valid].double().mean()), thresh_cap)
    r = round(values.numel() ** (1 / 3))
    return out, ((out > thresh) & valid)[morton].view(r, r, r)


def test_every_upkeep_mode_equals_the_rule_by_advanced_indexing():
    """The grid's gathers and scatters (index_select / index_copy_ over the Morton order) give
    what advanced indexing gives: the full, partial and sparse updates against a reference on
    a grid with unseen cells and a density only some cells see."""
    from lokitalk_plugins.render.upkeep import sparse_cells

    r = 16
    fn = box_density((2, 3, 4), (9, 12, 7), r, value=30.0)
    for upkeep, fraction in (("full", 1.0), ("full", 0.5), ("sparse", 0.3)):
        g = OccupancyGrid(resolution=r, jitter=False, upkeep=upkeep, fraction=fraction)
        gen = torch.Generator().manual_seed(1)
        start = torch.rand(r**3, generator=gen) * 40
        start[torch.rand(r**3, generator=gen) < 0.2] = -1.0  # unseen cells
        g.density_grid[0].copy_(start)
        g._threshold()
        occupied = g.occupancy.clone()
        new_dense = fn(g.cell_points())
        torch.manual_seed(5)
        g.update(fn)
        torch.manual_seed(5)  # the same cells drawn again for the reference
        valid = (start[g.morton] >= 0).view(r, r, r)
        if upkeep == "sparse":
            evaluated = torch.zeros(r**3, dtype=torch.bool)
            evaluated[sparse_cells(occupied & valid, valid, fraction)] = True
        elif fraction < 1.0:
            cells = valid.reshape(-1).nonzero().flatten()
            keep = max(1, round(fraction * cells.numel()))
            evaluated = torch.zeros(r**3, dtype=torch.bool)
            evaluated[cells[torch.randperm(cells.numel())[:keep]]] = True
        else:
            evaluated = torch.ones(r**3, dtype=torch.bool)
        want, occ = _reference_update(start, g.morton, new_dense, g.decay, evaluated, 10.0)
        assert 0 < int(evaluated.sum()) and torch.equal(g.density_grid[0], want), upkeep
        assert torch.equal(g.occupancy, occ) and torch.equal(g.dense_values().reshape(-1),
                                                             want[g.morton])  # fmt: skip
        # the lookup of the training rays: the dense occupancy at each point's cell
        pts = torch.rand(500, 3, generator=gen) * 2.2 - 1.1
        cells, inside = g.cell_of(pts)
        assert torch.equal(g.query(pts), occ[cells[:, 0], cells[:, 1], cells[:, 2]] & inside)
