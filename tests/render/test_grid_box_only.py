"""OccupancyGrid(box_only=True): cells outside the ray-marching box are marked unseen."""

import torch

from lokitalk_plugins.render import OccupancyGrid
from lokitalk_plugins.render.grid import HEAD_AABB


def wide_camera():
    c2w = torch.eye(4)
    c2w[2, 3] = -4.0
    return c2w[None], (8.0, 8.0, 16.0, 16.0), 32, 32  # about +-8 wide at the origin: sees all


def test_cells_meeting_the_head_box_by_hand():
    g = OccupancyGrid(resolution=8)  # cells of 0.25 from -1
    inside = g.cells_meeting(torch.tensor(HEAD_AABB))
    # y in [-0.5, 0.5]: rows 2..5 (row 1 ends at -0.5, row 6 starts at 0.5: no overlap)
    assert inside[:, 2:6, :].all() and not inside[:, :2, :].any() and not inside[:, 6:, :].any()
    assert int(inside.sum()) == 8 * 4 * 8


def test_box_only_marks_the_rest_unseen_and_the_default_keeps_it():
    c2w, K, H, W = wide_camera()
    plain, boxed = OccupancyGrid(resolution=8), OccupancyGrid(resolution=8, box_only=True)
    assert plain.mark_unseen(c2w, K, H, W) == 0
    assert boxed.mark_unseen(c2w, K, H, W) == 8**3 - 8 * 4 * 8
    values = boxed.dense_values()
    assert (values[:, :2, :] == -1).all() and (values[:, 2:6, :] == 0).all()
    assert not boxed.occupancy[:, 6:, :].any() and boxed.occupancy[:, 2:6, :].all()
    # a refresh leaves them at -1 and evaluates only the box's cells
    seen = []
    boxed.update(lambda p: (seen.append(p), torch.full((p.shape[0],), 50.0))[1], force=True)
    pts = torch.cat(seen)
    assert pts.shape[0] == 8 * 4 * 8 and (pts[:, 1].abs() <= 0.5 + 1e-6).all()
    assert (boxed.dense_values()[:, 6:, :] == -1).all()


def test_the_system_option_reaches_the_grid():
    from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
    from lokitalk_plugins.pipeline import TalkingHeadSystem

    model = ERNeRF(audio_in_dim=8, grid_size=16)
    assert not TalkingHeadSystem(model, num_rays=64).model.grid.box_only
    assert TalkingHeadSystem(model, num_rays=64, grid_box_only=True).model.grid.box_only
