"""gin: packaged configs, clear errors for unknown bindings, train_from_config end to end."""

from __future__ import annotations

import gin
import pytest
import torch
from toy_system import toy_dataset, toy_system

import lokitalk_plugins.registration  # noqa: F401  (registers the configurables)
from lokitalk_plugins.errors import UserError
from lokitalk_plugins.train.checkpoint import LATEST, OPERATIVE_CONFIG, load_checkpoint
from lokitalk_plugins.train.config import ConfigError, packaged_configs, parse_config_files
from lokitalk_plugins.train.run import train_from_config

if "toy_system" not in {k.split(".")[-1] for k, _ in gin.config._REGISTRY.items()}:
    gin.external_configurable(toy_system, name="toy_system", module="tests.train")
    gin.external_configurable(toy_dataset, name="toy_dataset", module="tests.train")

TOY = [
    "train.system = @toy_system",
    "train.dataset = @toy_dataset",
    "Trainer.log_every = 2",
    "Trainer.val_every = 5",
    "Trainer.ckpt_every = 5",
    "Trainer.lr = {'grid': 2e-2, 'mlp': 4e-3}",
    "head/Trainer.steps = 10",
    "torso/Trainer.steps = 4",
    "torso/Trainer.lr = {'grid': 1e-2}",
]


def test_packaged_configs_parse_with_the_originals_settings():
    assert {"base.gin", "rad_nerf.gin", "er_nerf.gin", "studio_quick.gin"} <= set(
        packaged_configs()
    )
    parse_config_files(["configs/rad_nerf.gin"])
    assert gin.query_parameter("Trainer.optimizer") == "adam"
    assert gin.query_parameter("Trainer.betas") == (0.9, 0.99)
    assert gin.query_parameter("Trainer.eps") == 1e-15
    assert gin.query_parameter("Trainer.lr") == {"grid": 5e-3, "mlp": 5e-4, "audio_att": 5e-4}
    assert gin.query_parameter("Trainer.lr_decay") == 0.1
    assert gin.query_parameter("Trainer.ema_decay") == 0.95
    assert gin.query_parameter("head/Trainer.steps") == 200000
    assert gin.query_parameter("lips/Trainer.steps") == 50000
    assert gin.query_parameter("torso/Trainer.steps") == 200000
    parse_config_files(["er_nerf"])  # a bare name works too
    assert gin.query_parameter("Trainer.optimizer") == "adamw"
    assert gin.query_parameter("Trainer.betas") == (0.0, 0.99)
    assert gin.query_parameter("Trainer.lr") == {"grid": 1e-2, "mlp": 1e-3, "audio_att": 5e-3}
    assert gin.query_parameter("Trainer.lr_decay") == 0.5
    assert gin.query_parameter("head/Trainer.steps") == 100000
    assert gin.query_parameter("lips/Trainer.steps") == 25000
    parse_config_files(["rad_nerf.gin", "configs/torso.gin", "studio_quick"])
    assert gin.query_parameter("head/Trainer.steps") == 2000
    assert gin.query_parameter("train.stages") == ("head", "lips", "torso")


def test_a_typo_in_a_file_names_the_file_line_and_the_right_name(tmp_path):
    cfg = tmp_path / "mine.gin"
    cfg.write_text("include 'configs/rad_nerf.gin'\n\nTrainer.log_evry = 10\n")
    with pytest.raises(ConfigError) as err:
        parse_config_files([cfg])
    msg = str(err.value)
    assert f"{cfg}, line 3" in msg and "log_evry" in msg and "did you mean ['log_every'" in msg
    with pytest.raises(ConfigError, match=r"binding 'Trainr.steps = 3'.*did you mean \['Trainer'"):
        parse_config_files(["rad_nerf"], ["Trainr.steps = 3"])
    with pytest.raises(ConfigError, match="not found .* packaged configs"):
        parse_config_files(["configs/radnerf.gin"])
    # the run sets the stage: Trainer (the stage's settings) has no such parameter
    with pytest.raises(ConfigError, match="doesn't have a parameter named 'stage'"):
        parse_config_files(["rad_nerf"], ["Trainer.stage = 'lips'"])


def test_train_from_config_runs_stages_and_saves_the_operative_config(tmp_path):
    torch.manual_seed(0)
    ws = tmp_path / "ws"
    bindings = [*TOY, "train.stages = ('head', 'torso')"]
    out = train_from_config(
        ["configs/base.gin"], bindings, data="unused", workspace=ws, progress=False
    )
    assert list(out["stages"]) == ["head", "torso"] and out["skipped"] == []
    assert out["stages"]["head"]["steps"] == 10 and out["stages"]["torso"]["steps"] == 4
    operative = (ws / "checkpoints" / OPERATIVE_CONFIG).read_text()
    assert "torso/Trainer.steps = 4" in operative and "head/Trainer.seed = %SEED" in operative
    latest = load_checkpoint(ws / "checkpoints" / LATEST)
    assert latest["gin_config"] == operative and latest["stage"] == "torso"
    assert [g["lr"] for g in latest["optimizer"]["param_groups"]] == [pytest.approx(1e-3)]
    assert sorted(p.name for p in (ws / "logs").iterdir()) == ["head.csv", "torso.csv"]
    # the Python API, as the CLI, refuses to restart a trained workspace silently
    with pytest.raises(UserError, match="resume=True, or start again"):
        train_from_config(["configs/base.gin"], bindings, data="unused", workspace=ws,
                          progress=False)  # fmt: skip
    assert load_checkpoint(ws / "checkpoints" / LATEST)["gin_config"] == operative
    # resuming a finished run skips the done stage and trains nothing more
    again = train_from_config(
        ["configs/base.gin"], bindings, data="unused", workspace=ws, resume=True, progress=False
    )
    assert again["skipped"] == ["head"] and again["stages"]["torso"]["start_step"] == 4


def test_bad_inputs_fail_before_any_step(tmp_path):
    ws = tmp_path / "ws"
    with pytest.raises(ValueError, match=r"configured for \['mpl'\]"):
        train_from_config(
            ["base"], [*TOY, "Trainer.lr = {'mpl': 1e-3}"], "unused", ws, progress=False
        )
    # a bad torso-stage setting is found before the head stage trains
    with pytest.raises(ValueError, match=r"configured for \['mlp'\]"):
        train_from_config(
            ["base"],
            [*TOY, "train.stages = ('head', 'torso')", "torso/Trainer.lr = {'mlp': 1e-3}"],
            "unused",
            ws,
            progress=False,
        )
    assert not (ws / "checkpoints" / LATEST).exists()


def test_a_folder_that_fails_validation_is_refused_before_training(tmp_path):
    from lokitalk_plugins.data import FolderValidationError

    (tmp_path / "empty").mkdir()
    with pytest.raises(FolderValidationError):
        train_from_config(
            ["rad_nerf"], [], data=tmp_path / "empty", workspace=tmp_path / "ws", progress=False
        )
    assert not (tmp_path / "ws" / "checkpoints").exists()


def test_the_former_module_qualified_pipeline_name_is_an_alias(tmp_path):
    # users' gin files from before the pipeline left baselines/ name it by that module
    old = tmp_path / "old.gin"
    old.write_text(
        "include 'configs/rad_nerf.gin'\n"
        "train.system = @lokitalk_plugins.baselines.TalkingHeadSystem\n"
        "lokitalk_plugins.baselines.TalkingHeadSystem.num_rays = 77\n"
    )
    parse_config_files([old])
    assert gin.query_parameter("TalkingHeadSystem.num_rays") == 77  # the short name, unchanged
    assert gin.query_parameter("lokitalk_plugins.pipeline.TalkingHeadSystem.num_rays") == 77
    system = gin.query_parameter("train.system")
    assert system.configurable.selector == "lokitalk_plugins.pipeline.TalkingHeadSystem"
    with pytest.raises(ConfigError, match="TalkingHeadSystm"):  # other names stay errors
        parse_config_files([], ["lokitalk_plugins.baselines.TalkingHeadSystm.num_rays = 1"])
