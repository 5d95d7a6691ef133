"""``TalkingHeadFolder.train_frames``: the first N frames of the training split (GDRF's few-shot
clips), the val split untouched, a gin binding reaching it, and the one-line error."""

from __future__ import annotations

import gin
import pytest
import torch

import lokitalk_plugins.registration  # noqa: F401  (the gin names)
from lokitalk_plugins.data import TalkingHeadFolder
from lokitalk_plugins.errors import OptionError


def test_the_first_frames_of_the_training_split(studio_folder):
    full = TalkingHeadFolder(studio_folder, progress=False)
    cut = TalkingHeadFolder(studio_folder, train_frames=7, progress=False)
    assert len(cut) == 7 < len(full) and cut.img_ids == full.img_ids[:7]
    assert cut.aud_ids == full.aud_ids[:7] and torch.equal(cut.poses, full.poses[:7])
    assert torch.equal(cut[6].image, full[6].image) and torch.equal(cut[6].audio, full[6].audio)
    val = TalkingHeadFolder(studio_folder, split="val", progress=False)
    val_cut = TalkingHeadFolder(studio_folder, split="val", train_frames=1, progress=False)
    assert val_cut.img_ids == val.img_ids  # only the training split is cut


def test_a_gin_binding_cuts_the_training_split(studio_folder):
    try:
        gin.parse_config("TalkingHeadFolder.train_frames = 5")
        configured = gin.get_configurable("TalkingHeadFolder")  # what `lokitalk train` builds
        assert len(configured(studio_folder, split="train", progress=False)) == 5
        assert len(configured(studio_folder, split="val", progress=False)) > 0
    finally:
        gin.clear_config()


@pytest.mark.parametrize("n", [0, 10_000])
def test_a_count_outside_the_split_is_one_line(studio_folder, n):
    total = len(TalkingHeadFolder(studio_folder, progress=False))
    with pytest.raises(OptionError, match=rf"train_frames = {n}, but .* has {total} training "
                       rf"frames: give 1 to {total}") as err:  # fmt: skip
        TalkingHeadFolder(studio_folder, train_frames=n, progress=False)
    assert "\n" not in str(err.value) and str(studio_folder) in str(err.value)
