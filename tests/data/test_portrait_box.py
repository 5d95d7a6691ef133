"""The portrait box (issue 14, fix 1): with the torso in the 3D field the rays through neck and
torso pixels enter the rendering box; the head-only settings keep the originals' head box."""

from __future__ import annotations

import gin
import pytest
import torch

import lokitalk_plugins.registration  # noqa: F401  (registers the configurables)
from lokitalk_plugins.baselines.common import head_box
from lokitalk_plugins.data.portrait import portrait_bound, portrait_box, ray_coverage
from lokitalk_plugins.render.grid import HEAD_AABB
from lokitalk_plugins.train.config import parse_config_files


@pytest.fixture(scope="module")
def portrait(studio_folder):
    if not studio_folder.with_name(studio_folder.name + ".truth").exists():
        pytest.skip("needs the synthetic studio (a torso in the parsing images)")
    return portrait_box(studio_folder, split="train")


def _gin_model(files):
    parse_config_files(files, ["ERNeRF.grid_size = 16", "ERNeRF.ind_num = 4"])
    try:
        return gin.query_parameter("TalkingHeadSystem.model").scoped_configurable_fn()
    finally:
        gin.clear_config()


def test_the_head_box_misses_torso_rays_the_portrait_box_covers(studio_folder, portrait):
    head = ray_coverage(studio_folder, HEAD_AABB, split="val")
    covered = ray_coverage(studio_folder, portrait, split="val")  # box from train, scored on val
    assert head < 0.9  # the defect: about half of them miss the head box
    assert covered >= 0.99
    assert ray_coverage(studio_folder, portrait, split="val", region="face") == 1.0
    assert portrait[:3] <= HEAD_AABB[:3] and portrait[3:] >= HEAD_AABB[3:]
    assert portrait_bound(portrait) >= max(abs(v) for v in portrait)


def test_the_configured_box_covers_torso_and_neck_rays(studio_folder, portrait):
    model = _gin_model(["configs/er_nerf.gin", "configs/lokitalk_loss.gin"])
    box = tuple(model.grid.aabb_train.tolist())
    assert model.bound == 1.5 and model.grid.bound == 1.5
    assert torch.equal(model.grid.aabb_infer, model.grid.aabb_train)
    for split in ("train", "val"):
        assert ray_coverage(studio_folder, box, split=split) >= 0.99
    assert all(c <= p + 1e-6 for c, p in zip(box[:3], portrait[:3]))
    assert all(c >= p - 1e-6 for c, p in zip(box[3:], portrait[3:]))


def test_head_only_settings_keep_the_head_box():
    model = _gin_model(["configs/er_nerf.gin", "configs/torso.gin"])
    assert model.bound == 1.0
    assert tuple(model.grid.aabb_train.tolist()) == HEAD_AABB == head_box(1.0)


def test_a_box_outside_the_bound_is_refused():
    from lokitalk_plugins.baselines.rad_nerf.network import RADNeRF

    with pytest.raises(ValueError, match=r"outside \[-bound, bound\]\^3 with bound=1.0: raise"):
        RADNeRF(audio_in_dim=8, grid_size=16, ind_num=2, aabb=(-1.4, -0.5, -1, 1, 0.5, 1))
    with pytest.raises(ValueError, match="aabb must be"):
        RADNeRF(audio_in_dim=8, grid_size=16, ind_num=2, aabb=(0, 0, 0, 0, 1, 1))
