"""Consecutive-frame ray sampling for the velocity loss: clips, the first frame, same pixels."""

from __future__ import annotations

import pytest
import torch

from lokitalk_plugins.data import (
    TalkingHeadFolder,
    clip_starts,
    consecutive_pair,
    sample_consecutive_rays,
)
from lokitalk_plugins.losses import velocity_loss
from lokitalk_plugins.render.rays import get_rays


@pytest.fixture(scope="module")
def data(studio_folder):
    return TalkingHeadFolder(studio_folder, progress=False)


def test_clips_and_pairs():
    ids = [0, 1, 2, 5, 6, 9]  # three clips: 0-2, 5-6, and 9 alone
    assert clip_starts(ids) == [True, False, False, True, False, True]
    assert consecutive_pair(ids, 2) == (1, 2)
    assert consecutive_pair(ids, 4) == (3, 4)
    # a clip's first frame pairs with its successor, never with the previous clip's last
    assert consecutive_pair(ids, 0) == (0, 1)
    assert consecutive_pair(ids, 3) == (3, 4)
    with pytest.raises(ValueError, match="frame 5 .img_id 9. is a clip of one frame"):
        consecutive_pair(ids, 5)
    with pytest.raises(IndexError, match="out of range"):
        consecutive_pair(ids, 6)


def test_same_pixels_of_two_frames(data):
    g = torch.Generator().manual_seed(0)
    pair = sample_consecutive_rays(data, 5, 200, generator=g)
    assert (pair.prev_index, pair.index) == (4, 5)
    assert torch.equal(pair.prev.index, pair.cur.index)
    assert pair.cur.index.unique().numel() == 200
    rows, cols = pair.cur.index // data.W, pair.cur.index % data.W
    f4, f5 = data[4], data[5]
    assert torch.equal(pair.prev.rgb, f4.image[rows, cols])
    assert torch.equal(pair.cur.rgb, f5.image[rows, cols])
    # each frame's own camera
    o, d = get_rays(f4.c2w, f4.intrinsics.tolist(), f4.H, f4.W, pair.prev.index)
    assert torch.equal(pair.prev.rays_d, d) and torch.equal(pair.prev.rays_o, o)
    assert not torch.equal(pair.prev.rays_d, pair.cur.rays_d)  # the studio head moves
    # the same generator state gives the same pixels
    again = sample_consecutive_rays(data, 5, 200, generator=torch.Generator().manual_seed(0))
    assert torch.equal(again.cur.index, pair.cur.index)
    # ground truth against itself: no velocity error; against a frozen frame: the motion
    gt = velocity_loss(pair.cur.rgb, pair.prev.rgb, pair.cur.rgb, pair.prev.rgb, squared=True)
    assert gt.item() == 0.0
    frozen = velocity_loss(pair.prev.rgb, pair.prev.rgb, pair.cur.rgb, pair.prev.rgb, weight=1.0)
    assert frozen.item() > 0.0


def test_first_frame_and_all_pixels(data):
    pair = sample_consecutive_rays(data, 0, 10**6)
    assert (pair.prev_index, pair.index) == (0, 1)
    assert pair.cur.index.numel() == data.H * data.W


def test_dataset_without_img_ids():
    with pytest.raises(TypeError, match="no img_ids"):
        sample_consecutive_rays([object()], 0, 4)
