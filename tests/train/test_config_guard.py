"""A workspace's run.json runs no code; --bind wins; one backbone config at a time."""

from __future__ import annotations

import json

import gin
import pytest
import torch

import lokitalk_plugins.registration  # noqa: F401  (registers the configurables)
from lokitalk_plugins.commands.workspace import load_system, write_run
from lokitalk_plugins.commands.workspace_configs import checked_run_configs
from lokitalk_plugins.train.config import ConfigError, parse_config_files


def _workspace(tmp_path, configs=("configs/er_nerf.gin",), bindings=(), copies=None):
    ws = tmp_path / "ws"
    (ws / "checkpoints").mkdir(parents=True)
    torch.save({"model": {}}, ws / "checkpoints" / "latest.pt")
    for name, text in (copies or {}).items():
        (ws / name).parent.mkdir(parents=True, exist_ok=True)
        (ws / name).write_text(text)
    run = {"data": str(tmp_path), "configs": list(configs), "bindings": list(bindings)}
    (ws / "run.json").write_text(json.dumps(run))
    return ws


EXPLOIT = [
    "TalkingHeadSystem.model = @subprocess.getoutput()",
    "subprocess.getoutput.cmd = 'touch {pwned}'",
]


@pytest.mark.parametrize("how", ["bindings", "config copy"])
def test_a_run_json_importing_code_is_refused_before_gin_sees_it(tmp_path, how):
    pwned = tmp_path / "pwned"
    lines = ["from __gin__ import dynamic_registration", "import subprocess"]
    lines += [e.format(pwned=pwned) for e in EXPLOIT]
    if how == "bindings":
        ws = _workspace(tmp_path, bindings=lines)
        where = "run.json: binding 'from __gin__ import dynamic_registration'"
    else:
        text = "include 'lokitalk_plugins/configs/er_nerf.gin'\n" + "\n".join(lines) + "\n"
        ws = _workspace(tmp_path, ["run_configs/mine.gin"], copies={"run_configs/mine.gin": text})
        where = "mine.gin, line 2"
    with pytest.raises(ConfigError, match="may not import modules") as err:
        load_system(ws)
    assert where in str(err.value) and "nothing in it was run" in str(err.value)
    assert not pwned.exists()


@pytest.mark.parametrize("binding,what", [
    ("TalkingHeadSystem.model = @constant()", "'constant' is not a configurable that"),
    ("os.system.command = 'ls'", "'os.system' is not a configurable that lokitalk_plugins"),
    ("TalkingHeadSystem.model = @train()", "refers to @train, which starts training"),
    ("include '/etc/evil.gin'", "includes '/etc/evil.gin', which is neither a packaged"),
])  # fmt: skip
def test_unregistered_configurables_and_foreign_includes_are_refused(tmp_path, binding, what):
    ws = _workspace(tmp_path, bindings=["Trainer.steps = 3", binding])
    with pytest.raises(ConfigError, match=what):
        checked_run_configs(ws, json.loads((ws / "run.json").read_text()))


def test_a_config_outside_the_package_and_the_workspace_is_refused(tmp_path):
    mine = tmp_path / "mine.gin"
    mine.write_text("include 'configs/er_nerf.gin'\n")
    for name in (str(mine), "configs/../../mine.gin"):
        ws = _workspace(tmp_path / name.count("/").__str__(), configs=[name])
        with pytest.raises(ConfigError, match="neither a packaged config nor a copy"):
            load_system(ws)


def test_write_run_saves_self_contained_copies_that_load_safely(tmp_path):
    (tmp_path / "base_mine.gin").write_text("ERNeRF.grid_size = 48\n")
    mine = tmp_path / "mine.gin"
    mine.write_text("include 'configs/er_nerf.gin'\ninclude 'base_mine.gin'\nERNeRF.torso = True\n")
    ws = tmp_path / "ws"
    run = write_run(ws, tmp_path, [mine, "configs/studio_quick.gin"], ["Trainer.steps = 3"], "x")
    assert run["configs"] == ["run_configs/mine.gin", "configs/studio_quick.gin"]
    copy = (ws / "run_configs" / "mine.gin").read_text()
    assert copy.splitlines() == [
        "include 'lokitalk_plugins/configs/er_nerf.gin'",
        "ERNeRF.grid_size = 48",
        "ERNeRF.torso = True",
    ]
    mine.unlink()  # the workspace no longer needs the user's files
    parse_config_files(texts=checked_run_configs(ws, run), bindings=run["bindings"])
    assert gin.query_parameter("ERNeRF.torso") is True
    assert gin.query_parameter("ERNeRF.grid_size") == 64  # studio_quick.gin came after


def test_a_bind_wins_over_scoped_bindings_of_the_files(caplog):
    with caplog.at_level("INFO", logger="lokitalk_plugins.train.config_rules"):
        parse_config_files(
            ["configs/er_nerf.gin", "configs/studio_quick.gin"],
            ["Trainer.steps = 'abc'", "lips/Trainer.steps = 7"],
        )
    assert "replaces the scoped" in caplog.text and "head/Trainer.steps = 2000" in caplog.text
    steps = {s: gin.query_parameter(f"{s}/Trainer.steps") for s in ("head", "lips", "torso")}
    assert steps == {"head": "abc", "lips": 7, "torso": "abc"}


@pytest.mark.parametrize("configs", [
    ["configs/rad_nerf.gin", "configs/er_nerf.gin"],
    ["configs/rad_nerf_odr.gin", "configs/studio_quick.gin", "configs/er_nerf.gin"],
    ["configs/er_nerf_odr.gin", "configs/er_nerf.gin"],
])  # fmt: skip
def test_two_backbone_configs_are_refused(configs):
    with pytest.raises(ConfigError, match="each choose a backbone"):
        parse_config_files(configs)


def test_one_backbone_config_with_its_includes_is_accepted():
    parse_config_files(["configs/er_nerf_odr.gin", "configs/studio_quick.gin", "configs/idakt.gin"])
    assert "wrap" in str(gin.query_parameter("TalkingHeadSystem.model"))


def test_every_packaged_config_passes_the_workspace_checks():
    from lokitalk_plugins.train.config import CONFIG_DIR, packaged_config, packaged_configs
    from lokitalk_plugins.train.config_guard import check_gin_file

    for name in packaged_configs():
        check_gin_file(CONFIG_DIR / name, packaged_config)


def test_a_workspace_loads_the_packaged_includes_not_same_named_files_here(tmp_path, monkeypatch):
    """gin looks for an include in the current folder first: running eval inside someone's
    folder holding lokitalk_plugins/configs/base.gin must not read that file."""
    planted = tmp_path / "lokitalk_plugins" / "configs" / "base.gin"
    planted.parent.mkdir(parents=True)
    planted.write_text("import json\nTalkingHeadFolder.preload = 'planted'\n")
    ws = _workspace(tmp_path, ["configs/er_nerf_odr.gin"])
    monkeypatch.chdir(tmp_path)
    parse_config_files(texts=checked_run_configs(ws, json.loads((ws / "run.json").read_text())))
    assert gin.query_parameter("TalkingHeadFolder.preload") is False  # configs/base.gin's
    assert "wrap" in str(gin.query_parameter("TalkingHeadSystem.model"))


def test_only_modules_the_user_names_with_import_are_accepted(tmp_path, monkeypatch):
    from lokitalk_plugins.train.config import packaged_config
    from lokitalk_plugins.train.config_guard import check_gin_text, trust_modules

    (tmp_path / "my_backbone_mod.py").write_text(
        "import gin\n\n\ndef my_net(width=4):\n    return width\n\n\n"
        "gin.external_configurable(my_net, 'MyNetForGuardTest')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    text = "import my_backbone_mod\nMyNetForGuardTest.width = 8\n"
    try:
        trust_modules([])
        with pytest.raises(ConfigError, match="pass --import my_backbone_mod"):
            check_gin_text(text, "my.gin", packaged_config)
        trust_modules(["my_backbone_mod"])
        assert check_gin_text(text, "my.gin", packaged_config) == []
        with pytest.raises(ConfigError, match="subprocess"):  # still nothing else
            check_gin_text("import subprocess\n", "my.gin", packaged_config)
        trust_modules([])  # each command trusts exactly what it was given
        with pytest.raises(ConfigError, match="may not import"):
            check_gin_text(text, "my.gin", packaged_config)
        with pytest.raises(ConfigError, match="--import no_such_module_xyz: cannot import"):
            trust_modules(["no_such_module_xyz"])
    finally:
        trust_modules([])


def _recorded(tmp_path):
    """A workspace whose run.json records its config texts: a copy of the user's mine.gin
    (grid 48) and the packaged studio_quick.gin."""
    mine = tmp_path / "mine.gin"
    mine.write_text("include 'configs/er_nerf.gin'\nERNeRF.grid_size = 48\n")
    ws = tmp_path / "ws"
    run = write_run(ws, tmp_path, [mine, "configs/studio_quick.gin"], [], "x")
    return ws, run


def test_run_json_records_each_config_as_trained_and_loading_reads_that(tmp_path):
    import warnings

    ws, run = _recorded(tmp_path)
    texts = run["config_texts"]
    lines = [line for t in texts for line in t.splitlines()]
    assert len(texts) == 2 and not any(line.startswith("include") for line in lines)  # inlined
    assert "ERNeRF.grid_size = 48" in texts[0] and "TalkingHeadSystem.model" in texts[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # unchanged configs: no warning
        assert [t for _, t in checked_run_configs(ws, run)] == texts
    # the copy edited and a packaged config gone (renamed in a later version, say): the
    # workspace still loads as it was trained, and says which configs differ today
    (ws / "run_configs" / "mine.gin").write_text("ERNeRF.grid_size = 16\n")
    run["configs"][1] = "configs/gone_in_a_later_version.gin"
    with pytest.warns(UserWarning, match=r"run_configs/mine.gin, configs/gone_in_a_later_versi"
                      r"on.gin changed or no longer exist since it was trained"):  # fmt: skip
        parse_config_files(texts=checked_run_configs(ws, run))
    assert gin.query_parameter("ERNeRF.grid_size") == 64  # studio_quick.gin's, as trained


def test_recorded_config_texts_are_checked_like_files(tmp_path):
    ws, run = _recorded(tmp_path)
    bad = dict(run, config_texts=[run["config_texts"][0] + "import subprocess\n",
                                  run["config_texts"][1]])  # fmt: skip
    with pytest.raises(
        ConfigError,
        match=r"run.json \[config_texts\] run_configs/mine.gin, "
        r"line \d+ \('import subprocess'\): a workspace's config may not import",
    ):
        checked_run_configs(ws, bad)
    with pytest.raises(ConfigError, match="includes 'configs/er_nerf.gin', which is neither"):
        checked_run_configs(ws, dict(run, config_texts=["include 'configs/er_nerf.gin'\n",
                                                        run["config_texts"][1]]))  # fmt: skip
    with pytest.raises(ConfigError, match=r"'config_texts' must hold one text per entry of "
                       r"'configs' \(2\); re-create the workspace") as err:  # fmt: skip
        checked_run_configs(ws, dict(run, config_texts=run["config_texts"][:1]))
    assert "\n" not in str(err.value)
    # a name that is neither a copy nor a packaged config is refused even with a text
    outside = dict(run, configs=[str(tmp_path / "mine.gin"), run["configs"][1]])
    with pytest.raises(ConfigError, match="neither a packaged config nor a copy"):
        checked_run_configs(ws, outside)
