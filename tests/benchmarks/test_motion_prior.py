"""benchmarks/harness/motion_prior.py: the harness trains an Audio2Motion VAE once per folder
and budget (cached) and the RSDF settings take its prior mean as F_a through their gin files."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import gin
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from harness import motion_prior  # noqa: E402
from harness.experiments import resolve  # noqa: E402
from harness.table2 import build_methods  # noqa: E402


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from lokitalk_plugins.data.studio import write_identity

    return write_identity(tmp_path_factory.mktemp("studio") / "id000", seconds=1.0, size=32)


def test_the_vae_is_trained_once_and_the_odr_setting_takes_its_prior_mean(folder, tmp_path):
    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.adapters.wrap import WrappedModel
    from lokitalk_plugins.train.config import parse_config_files

    first = motion_prior.audio2motion_checkpoint(folder, tmp_path / "a2m", steps=3)
    again = motion_prior.audio2motion_checkpoint(folder, tmp_path / "a2m", steps=3)
    assert first["cached"] is False and again["cached"] is True
    assert first["path"] == again["path"] == str(tmp_path / "a2m" / "a2m_id000_3steps.pt")
    assert again["steps"] == 3 and "train" in again  # the training summary is kept
    odr = build_methods("er_nerf", "micro", [], True)[2]
    method = motion_prior.with_audio2motion(odr, first["path"])
    assert method["configs"][-1] == "benchmarks/gin-configs/shared/audio2motion.gin"
    assert odr["configs"][-1] != method["configs"][-1]
    assert method["bindings"] == [f"AUDIO2MOTION = '{first['path']}'"]
    assert method["f_a"] == "audio2motion"
    configs = [resolve(c) for c in method["configs"]]
    parse_config_files(configs, method["bindings"] + ["ERNeRF.grid_size = 16"])
    try:
        model = gin.query_parameter("TalkingHeadSystem.model").scoped_configurable_fn()
    finally:
        gin.clear_config()
    assert isinstance(model, WrappedModel) and model.audio2motion is not None
    assert model.static_canonical and model.plugin_audio_dim == model.audio2motion.latent_dim


def test_runs_say_what_f_a_was():
    args = SimpleNamespace(f_a="backbone", profile="micro")
    assert motion_prior.for_run(args, None, Path(".")) is None
    note = motion_prior.f_a_note({"audio2motion": {"steps": 50}}, "O+D+R")
    assert note[1].startswith("F_a of O+D+R: the prior mean of an Audio2Motion VAE trained 50")
    assert "`--f-a backbone`" in motion_prior.f_a_note({"audio2motion": None}, "O+D+R")[1]
    assert "own audio feature." in motion_prior.f_a_note({}, "LokiTalk")[1]  # older reports
