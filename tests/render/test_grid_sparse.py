"""The "sparse" upkeep: occupied cells and their neighbours every update, the rest by chance."""

import torch

from lokitalk_plugins.render import OccupancyGrid
from lokitalk_plugins.render.upkeep import sparse_cells


def test_sparse_cells_by_hand():
    r = 6
    occupied = torch.zeros(r, r, r, dtype=torch.bool)
    occupied[2, 2, 2] = True
    valid = torch.ones(r, r, r, dtype=torch.bool)
    valid[1, 1, 1] = False  # an unseen neighbour is never evaluated
    cells = sparse_cells(occupied, valid, 1e-12)
    expected = sorted(i * r * r + j * r + k for i in (1, 2, 3) for j in (1, 2, 3)
                      for k in (1, 2, 3) if (i, j, k) != (1, 1, 1))  # fmt: skip
    assert cells.tolist() == expected
    torch.manual_seed(0)
    assert sparse_cells(occupied, valid, 1.0).numel() == r**3 - 1  # all valid cells
    half = sparse_cells(occupied, valid, 0.5).numel() - 26
    assert 0.4 * (r**3 - 27) < half < 0.6 * (r**3 - 27)


def sigma_of(points):
    """A fixed density: 100 inside the ball of radius 0.3, 1 elsewhere."""
    return torch.where(points.norm(dim=-1) < 0.3, 100.0, 1.0)


def test_a_sparse_update_follows_the_full_rule_on_the_cells_that_matter():
    torch.manual_seed(0)
    full = OccupancyGrid(resolution=16, jitter=False)
    sparse = OccupancyGrid(resolution=16, jitter=False, upkeep="sparse", fraction=1e-9)
    for g in (full, sparse):
        g.update(sigma_of, force=True)  # fresh grids are fully occupied: both evaluate all
    assert torch.equal(full.density_grid, sparse.density_grid)
    assert torch.equal(full.density_bitfield, sparse.density_bitfield)
    seen = []

    def counting(points):
        seen.append(points.shape[0])
        return sigma_of(points)

    for g in (full, sparse):
        g.update(counting, force=True)
    assert seen[0] == 16**3 and seen[1] < 16**3 // 4  # the ball and its ring only
    occupied = full.occupancy
    # occupied cells (and their ring) got the same value; the rest only decayed
    assert torch.equal(full.dense_values()[occupied], sparse.dense_values()[occupied])
    assert torch.equal(full.occupancy, sparse.occupancy)
    assert sparse.interval == full.interval == 16


def test_dilate_is_the_3x3x3_max_pool():
    from lokitalk_plugins.render.upkeep import dilate

    g = torch.Generator().manual_seed(0)
    for density in (0.002, 0.05, 0.3):
        mask = torch.rand(12, 9, 7, generator=g) < density
        pooled = torch.nn.functional.max_pool3d(
            mask[None, None].float(), kernel_size=3, stride=1, padding=1
        )[0, 0].bool()
        assert torch.equal(dilate(mask), pooled)


def test_cell_indices_by_shifts_equal_the_divisions():
    from lokitalk_plugins.render.upkeep import cell_indices

    for r in (2, 8, 128, 6):  # 6: not a power of two, the divisions
        cells = torch.arange(r**3)
        ijk = cell_indices(cells, r)
        assert torch.equal(ijk, torch.stack([cells // (r * r), (cells // r) % r, cells % r], -1))
        assert torch.equal((ijk[:, 0] * r + ijk[:, 1]) * r + ijk[:, 2], cells)
