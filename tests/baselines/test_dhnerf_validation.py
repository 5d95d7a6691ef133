"""The DH-NeRF code extractor's read of studio people it never saw
(baselines/dhnerf/validate.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lokitalk_plugins.baselines.dhnerf import validate
from lokitalk_plugins.data import TalkingHeadFolder
from lokitalk_plugins.data.studio import load_truth, write_identity
from lokitalk_plugins.metrics.probe import r2_probe


class PixelCode(nn.Module):
    """A stand-in extractor: C̄_ex is the first pixel's three channels (and noise channels)."""

    def forward(self, images):
        return {"ex": torch.cat([images[:, 0, 0, :], images[:, 1, 1, :]], 1)}


def _clip(factors, g, written=True):
    images = torch.from_numpy(g.uniform(0, 1, (len(factors), 4, 4, 3))).float()
    if written:
        images[:, 0, 0, :] = torch.from_numpy(factors).float()
    return validate.ValidationClip(7, images, factors.astype(np.float32))


def test_expression_read_is_the_held_out_r2_of_a_linear_map_from_c_ex():
    g = np.random.default_rng(0)
    factors = g.uniform(0, 1, (60, 3))
    model = PixelCode().train()
    assert validate.expression_read(model, [_clip(factors, g)]) == pytest.approx(1.0, abs=1e-3)
    assert model.training  # the caller's mode is kept
    blind = _clip(factors, g, written=False)
    read = validate.expression_read(model, [blind])
    codes = model(blind.images)["ex"].numpy()
    fit = np.arange(60) < 42  # the first 70%
    by_hand = np.mean([r2_probe(codes, blind.factors[:, [j]], fit) for j in range(3)])
    assert read == pytest.approx(by_hand) and read < 0.2
    both = validate.expression_read(model, [_clip(factors, g), blind])
    assert both == pytest.approx((1.0 + read) / 2, abs=1e-3)  # the mean over the clips
    with pytest.raises(ValueError, match="at least one validation clip"):
        validate.expression_read(model, [])


def test_validation_clips_are_the_studio_clips_a_user_would_read(tmp_path):
    (clip,) = validate.validation_clips([5], size=32, seconds=1.0)
    folder = write_identity(tmp_path / "id005", identity=5, seconds=1.0, size=32, seed=0,
                            lighting=True)  # fmt: skip
    ds = TalkingHeadFolder(folder, split="train", progress=False)
    truth = load_truth(folder)
    ids = np.asarray(ds.img_ids)
    assert clip.identity == 5 and clip.images.shape == (len(ds), 32, 32, 3)
    torch.testing.assert_close(clip.images, torch.stack([ds[i].image for i in range(len(ds))]))
    np.testing.assert_array_equal(clip.factors[:, 0], np.asarray(truth.jaw)[ids])
    np.testing.assert_array_equal(clip.factors[:, 2], np.asarray(truth.eye_closure)[ids])
