"""The packaged gin files drive the real backbones on a tiny studio folder."""

from __future__ import annotations

import pytest

import lokitalk_plugins.registration  # noqa: F401  (registers the configurables)
from lokitalk_plugins.train.checkpoint import LATEST
from lokitalk_plugins.train.preflight import DataMismatchError
from lokitalk_plugins.train.run import train_from_config
from lokitalk_plugins.train.weights import load_model_weights

SHORT = [
    "head/Trainer.steps = 2",
    "lips/Trainer.steps = 1",
    "torso/Trainer.steps = 1",
    "Trainer.val_every = 2",
    "TalkingHeadSystem.num_rays = 128",
    "RADNeRF.grid_size = 32",
    "ERNeRF.grid_size = 32",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from lokitalk_plugins.data.studio import write_identity

    return write_identity(tmp_path_factory.mktemp("studio") / "id000", seconds=0.6, size=32)


@pytest.mark.slow
@pytest.mark.parametrize("backbone", ["rad_nerf", "er_nerf"])
def test_three_stages_from_the_packaged_configs(backbone, folder, tmp_path):
    files = [f"configs/{backbone}.gin", "configs/torso.gin", "configs/studio_quick.gin"]
    out = train_from_config(files, SHORT, data=folder, workspace=tmp_path, progress=False)
    assert list(out["stages"]) == ["head", "lips", "torso"]
    for summary in out["stages"].values():
        assert summary["final_loss"] is not None and summary["val_psnr"] > 5.0
    from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
    from lokitalk_plugins.baselines.rad_nerf.network import RADNeRF

    cls = {"rad_nerf": RADNeRF, "er_nerf": ERNeRF}[backbone]
    model = cls(audio_in_dim=32, torso=True, grid_size=32)
    info = load_model_weights(model, tmp_path / "checkpoints" / LATEST, strict=True)
    assert info["prefix"] == "model." and info["unexpected"] == []


@pytest.mark.slow
def test_features_of_another_dim_are_refused_before_any_step(folder, tmp_path):
    # the studio writes 32-band features; rad_nerf.gin alone expects DeepSpeech (29)
    with pytest.raises(DataMismatchError, match=r"audio features of .*K=32 .*audio_in_dim=29"):
        train_from_config(
            ["configs/rad_nerf.gin"], SHORT[:1], data=folder, workspace=tmp_path, progress=False
        )
    assert not (tmp_path / "checkpoints" / LATEST).exists()
