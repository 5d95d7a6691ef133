"""Ray sampling from a frame: random rays, patches, the lips crop."""

from __future__ import annotations

import pytest
import torch

from lokitalk_plugins.data import (
    TalkingHeadFolder,
    lips_rect,
    sample_lips_crop,
    sample_patches,
    sample_random_rays,
)
from lokitalk_plugins.render.rays import get_rays


@pytest.fixture(scope="module")
def frame(studio_folder):
    return TalkingHeadFolder(studio_folder, progress=False)[0]


def _check_pixels(frame, batch):
    R = batch.index.numel()
    assert batch.index.dtype == torch.int64
    assert batch.rays_o.shape == batch.rays_d.shape == batch.rgb.shape == (R, 3)
    assert batch.background.shape == (R, 3) and batch.masks.face.shape == (R,)
    rows, cols = batch.index // frame.W, batch.index % frame.W
    assert torch.equal(batch.rgb, frame.image[rows, cols])
    assert torch.equal(batch.background, frame.background[rows, cols])
    assert torch.equal(batch.masks.lips, frame.masks.lips[rows, cols])
    o, d = get_rays(frame.c2w, frame.intrinsics.tolist(), frame.H, frame.W, batch.index)
    assert torch.equal(batch.rays_o, o) and torch.equal(batch.rays_d, d)
    assert torch.allclose(batch.rays_d.norm(dim=-1), torch.ones(R))


def test_random_rays(frame):
    g = torch.Generator().manual_seed(0)
    batch = sample_random_rays(frame, 100, generator=g)
    assert batch.shape == (100,) and batch.index.unique().numel() == 100
    assert batch.index.min() >= 0 and batch.index.max() < frame.H * frame.W
    _check_pixels(frame, batch)
    everything = sample_random_rays(frame, 10**7)
    assert everything.index.sort().values.tolist() == list(range(frame.H * frame.W))


def test_patches(frame):
    g = torch.Generator().manual_seed(1)
    batch = sample_patches(frame, num_patches=3, patch_size=8, generator=g)
    assert batch.shape == (3, 8, 8) and batch.index.numel() == 3 * 8 * 8
    _check_pixels(frame, batch)
    idx = batch.index.reshape(3, 8, 8)
    rows, cols = idx // frame.W, idx % frame.W
    assert torch.equal(rows[:, :, 1:] - rows[:, :, :-1], torch.zeros(3, 8, 7, dtype=torch.long))
    assert torch.equal(cols[:, :, 1:] - cols[:, :, :-1], torch.ones(3, 8, 7, dtype=torch.long))
    assert torch.equal(rows[:, 1:] - rows[:, :-1], torch.ones(3, 7, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="patch_size"):
        sample_patches(frame, 1, frame.H + 1)


def test_lips_crop_inside_the_lips_box(frame):
    margin = 0.15
    batch = sample_lips_crop(frame, margin=margin)
    top, left, h, w = batch.rect
    assert batch.shape == (h, w) and batch.index.numel() == h * w
    _check_pixels(frame, batch)
    lips = frame.landmarks[48:60]
    x0, y0 = lips.min(0).values.tolist()
    x1, y1 = lips.max(0).values.tolist()
    pad = margin * max(x1 - x0, y1 - y0)
    rows, cols = batch.index // frame.W, batch.index % frame.W
    assert rows.min() >= max(y0 - pad - 1, 0) and rows.max() <= min(y1 + pad, frame.H - 1)
    assert cols.min() >= max(x0 - pad - 1, 0) and cols.max() <= min(x1 + pad, frame.W - 1)
    # the crop covers every lips-mask pixel
    assert batch.masks.lips.sum() == frame.masks.lips.sum() > 0


def test_lips_rect_clipped_to_image():
    lms = torch.zeros(68, 2)
    lms[48:60] = torch.tensor([[-5.0, -5.0], [3.0, 2.0]]).repeat(6, 1)
    top, left, h, w = lips_rect(lms, H=10, W=12, margin=0.5)
    assert (top, left) == (0, 0) and 1 <= h <= 10 and 1 <= w <= 12
