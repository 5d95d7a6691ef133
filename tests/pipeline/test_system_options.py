"""TalkingHeadSystem's options come in small frozen groups (lokitalk_plugins.pipeline.options),
each gin-configurable, while the former flat names keep working in Python and in gin files."""

from __future__ import annotations

import inspect

import gin
import pytest
import torch

import lokitalk_plugins.registration  # noqa: F401  (the gin names)
from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
from lokitalk_plugins.pipeline import TalkingHeadSystem
from lokitalk_plugins.pipeline.configured import configured_system
from lokitalk_plugins.pipeline.options import FLAT_NAMES, GridUpkeep, GroupRates, LipsSampling
from lokitalk_plugins.pipeline.system import OPTIONS
from lokitalk_plugins.train import parse_config_files
from lokitalk_plugins.train.config import ConfigError, packaged_configs

SMALL = ["ERNeRF.grid_size = 16", "ERNeRF.ind_num = 4"]


def _model():
    return ERNeRF(audio_in_dim=32, grid_size=16, ind_num=4)


def test_the_constructor_is_narrow_and_lists_its_options():
    params = [p for p in inspect.signature(TalkingHeadSystem).parameters if p != "flat"]
    assert params == list(OPTIONS) and len(params) == 16
    assert not set(FLAT_NAMES) & set(params)  # a former name is never a parameter too


def test_groups_and_former_flat_keywords_in_python():
    s = TalkingHeadSystem(_model(), grid=GridUpkeep(fraction=0.5, frames=2),
                          rates=GroupRates(grid=1e-2), lips_patches=4, lr_id=2e-3)  # fmt: skip
    assert s.lrs == {"grid": 1e-2, "mlp": 5e-4, "audio_att": 5e-4, "id_embeddings": 2e-3,
                     "idakt": 1e-4, "camera": 1e-5, "neural": 5e-4}  # fmt: skip
    assert s.lips == LipsSampling(patches=4) and s.lips_weight == 0.01
    assert s.grid_upkeep == GridUpkeep(fraction=0.5, frames=2)
    assert s.model.grid.fraction == 0.5 and s.model.grid.upkeep == "full"
    assert s.model.grid.update_every == 16 and s.model.grid.decay == 0.95  # the originals'
    s = TalkingHeadSystem(_model(), grid=GridUpkeep(mode="sparse", every=32))
    assert s.model.grid.update_every == 32 and s.model.grid.decay == pytest.approx(0.95**2)
    # a flat keyword wins over its group's value
    s = TalkingHeadSystem(_model(), grid=GridUpkeep(fraction=0.5), grid_fraction=0.25)
    assert s.grid_upkeep.fraction == 0.25 and s.model.grid.fraction == 0.25
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['grid_fractoin'\] \(did you mean "
                       r"\['grid_fraction', 'grid_frames'\]\?\)"):  # fmt: skip
        TalkingHeadSystem(_model(), grid_fractoin=0.25)
    with pytest.raises(ValueError, match="grid_frames must be >= 1, got 0"):
        TalkingHeadSystem(_model(), grid_frames=0)


def test_old_style_gin_bindings_still_work():
    configs = ["configs/er_nerf.gin", "configs/studio_quick.gin"]
    parse_config_files(configs, [*SMALL, "TalkingHeadSystem.grid_fraction = 0.5",
                                 "TalkingHeadSystem.lips_patches = 4"])  # fmt: skip
    try:
        old = configured_system()
    finally:
        gin.clear_config()
    assert old.model.grid.fraction == 0.5 and old.lips.patches == 4
    assert old.lips.patch_weight == 0.1  # from er_nerf.gin, now LipsSampling.patch_weight
    parse_config_files(configs, [*SMALL, "GridUpkeep.fraction = 0.5", "LipsSampling.patches = 4"])
    try:
        new = configured_system()
    finally:
        gin.clear_config()
    assert (new.grid_upkeep, new.lips) == (old.grid_upkeep, old.lips)
    parse_config_files(configs, SMALL)
    try:  # the packaged values: studio_quick's fraction, ER-NeRF's 64 lips patches
        packaged = configured_system()
    finally:
        gin.clear_config()
    assert packaged.model.grid.fraction == 0.25 and packaged.lips.patches == 64


def test_a_misspelt_option_fails_to_parse_with_a_hint():
    with pytest.raises(ConfigError) as err:
        parse_config_files(["configs/er_nerf.gin"], ["TalkingHeadSystem.grid_fractoin = 0.25"])
    gin.clear_config()
    first = str(err.value).splitlines()[0]
    assert first.startswith("gin config error in binding 'TalkingHeadSystem.grid_fractoin")
    assert "(did you mean ['grid_fraction', 'grid_frames']?)" in first


@pytest.mark.parametrize("name", packaged_configs())
def test_every_packaged_config_still_parses(name):
    parse_config_files([f"configs/{name}"], [])
    gin.clear_config()


def test_float32_layers_reach_the_model_and_a_wrong_name_is_one_line():
    from lokitalk_plugins.errors import OptionError
    from lokitalk_plugins.layers import Float32Linear

    model = _model()
    name = next(n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear))
    TalkingHeadSystem(model, float32_layers=(name,))
    assert type(model.get_submodule(name)) is Float32Linear
    with pytest.raises(OptionError, match="TalkingHeadSystem.float32_layers: the model has no"):
        TalkingHeadSystem(_model(), float32_layers=("no.such.layer",))
