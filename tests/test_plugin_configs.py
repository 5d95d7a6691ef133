"""Every packaged configuration (backbone x Table 2 setting) trains a few steps, and the
plug-in settings build the wrapped model."""

from __future__ import annotations

import gin
import pytest

import lokitalk_plugins.registration  # noqa: F401  (registers the configurables)
from lokitalk_plugins.adapters.wrap import WrappedModel
from lokitalk_plugins.commands.workspace import load_system, write_run
from lokitalk_plugins.rsdf import RSDF, JointDeformation
from lokitalk_plugins.train.run import train_from_config

SHORT = [
    "head/Trainer.steps = 3",
    "Trainer.val_every = 3",
    "TalkingHeadSystem.num_rays = 128",
    "RADNeRF.grid_size = 32",
    "ERNeRF.grid_size = 32",
    "RADNeRF.ind_num = 16",
    "ERNeRF.ind_num = 16",
]
SETTINGS = {"": None, "_od": JointDeformation, "_odr": RSDF}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from lokitalk_plugins.data.studio import write_identity

    return write_identity(tmp_path_factory.mktemp("studio") / "id000", seconds=0.6, size=32)


@pytest.mark.slow
@pytest.mark.parametrize("setting", sorted(SETTINGS))
@pytest.mark.parametrize("backbone", ["rad_nerf", "er_nerf"])
def test_each_configuration_trains_and_reloads(backbone, setting, folder, tmp_path):
    files = [f"configs/{backbone}{setting}.gin", "configs/studio_quick.gin"]
    write_run(tmp_path, folder, files, SHORT, "aud.npy")
    out = train_from_config(files, SHORT, data=folder, workspace=tmp_path, progress=False)
    assert out["stages"]["head"]["final_loss"] is not None
    system, _, stage = load_system(tmp_path)  # rebuilt from the gin files, EMA weights loaded
    assert stage == "head"
    plug = SETTINGS[setting]
    if plug is None:
        assert not isinstance(system.model, WrappedModel)
    else:
        assert isinstance(system.model, WrappedModel) and isinstance(system.model.rsdf, plug)
        assert system.model.rsdf.audio_dim == system.model.audio_dim
    gin.clear_config()


@pytest.mark.parametrize(
    "config,layers",
    [("er_nerf_idakt", {"aud_ch_att_net", "eye_att_net"}), ("er_nerf_idakt_static", set())],
)
def test_table4_configs_build_the_whole_idakt_or_its_static_half(config, layers):
    """Table 4's er_nerf_idakt.gin: both halves on the bare ER-NeRF; the ablation file: the
    static half alone (no F_id columns, no hyper-networks)."""
    from lokitalk_plugins.pipeline.configured import configured_system
    from lokitalk_plugins.train import parse_config_files

    try:
        parse_config_files([f"configs/{config}.gin"], ["ERNeRF.grid_size = 32"])
        model = configured_system().model
    finally:
        gin.clear_config()
    assert isinstance(model, WrappedModel) and model.rsdf is None
    assert set(model.idakt.hyper) == set(model.idakt.id_inputs) == layers
    assert model.idakt.config()["dynamic_dim"] == 16
