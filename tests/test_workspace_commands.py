"""lokitalk train -> eval -> render on a tiny studio folder, through the CLI."""

from __future__ import annotations

import json

import pytest

from lokitalk_plugins.cli import main
from lokitalk_plugins.data.studio import write_identity


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("ws")
    data = write_identity(root / "id000", seconds=1.0, size=32, seed=0)
    ws = root / "run"
    code = main([
        "train", "--config", "configs/er_nerf.gin", "--config", "configs/studio_quick.gin",
        "--data", str(data), "--workspace", str(ws), "--quiet",
        "--bind", "head/Trainer.steps = 30", "--bind", "Trainer.val_every = 30",
        "--bind", "ERNeRF.grid_size = 32", "--bind", "TalkingHeadSystem.num_rays = 256",
    ])  # fmt: skip
    assert code == 0
    return ws


@pytest.mark.slow
def test_train_writes_run_checkpoint_and_operative_config(workspace):
    run = json.loads((workspace / "run.json").read_text())
    assert run["featurizer"] == "studio" and run["audio_file"] == "aud.npy"
    assert (workspace / "checkpoints" / "latest.pt").is_file()
    assert "Trainer.lr_decay = 0.5" in (workspace / "checkpoints/operative_config.gin").read_text()
    assert (workspace / "logs" / "head.csv").is_file()


@pytest.mark.slow
def test_eval_writes_metrics(workspace, capsys):
    assert main(["eval", "--workspace", str(workspace), "--quiet"]) == 0
    result = json.loads((workspace / "eval.json").read_text())
    assert result["stage"] == "head" and result["frames"] == 3
    assert 5 < result["psnr"] < 60 and result["fps"] > 0 and result["size_mb"] > 0
    assert result["lpips"] is None or isinstance(result["lpips"], float)
    assert "PSNR" in capsys.readouterr().out


@pytest.mark.slow
def test_render_from_wav_and_from_features(workspace, tmp_path):
    run = json.loads((workspace / "run.json").read_text())
    wav = f"{run['data']}/aud.wav"
    out = tmp_path / "a.mp4"
    assert main(["render", "--workspace", str(workspace), "--audio", wav, "--out", str(out),
                 "--quiet", "--max-frames", "5"]) == 0  # fmt: skip
    assert out.stat().st_size > 0
    out2 = tmp_path / "b.mp4"
    feats = f"{run['data']}/aud.npy"
    args = ["--out", str(out2), "--quiet", "--side-by-side", "--max-frames", "5"]
    assert main(["render", "--workspace", str(workspace), "--audio-features", feats, *args]) == 0
    assert out2.stat().st_size > 0


def test_eval_of_a_folder_that_is_not_a_workspace(tmp_path, capsys):
    assert main(["eval", "--workspace", str(tmp_path)]) == 2
    assert "not a workspace written by `lokitalk train`" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="not a workspace written by `lokitalk train`"):
        main(["--debug", "eval", "--workspace", str(tmp_path)])


@pytest.mark.parametrize("extra,want", [
    ([], {"head": "torso", "lips": "torso", "torso": "bc"}),
    (["configs/lokitalk_loss.gin"], {"head": "bc", "lips": "bc", "torso": "bc"}),
    (["head/TalkingHeadFolder.background = 'bc'"], {"head": "bc", "lips": "torso", "torso": "bc"}),
])  # fmt: skip
def test_workspace_dataset_follows_the_configured_background(tmp_path, extra, want):
    """eval/render draw frames as training did: over the configured background (LokiTalk's
    torso in the 3D field: bc.jpg), else the originals' stage convention."""
    import lokitalk_plugins.registration  # noqa: F401  (the configurables gin binds)
    from lokitalk_plugins.commands.workspace import load_dataset
    from lokitalk_plugins.train.config import parse_config_files

    data = write_identity(tmp_path / "id000", seconds=1.0, size=32, seed=0)
    configs = ["configs/er_nerf.gin", "configs/studio_quick.gin"]
    configs += [e for e in extra if e.endswith(".gin")]
    parse_config_files(configs, [e for e in extra if not e.endswith(".gin")])
    run = {"data": str(data)}
    got = {s: load_dataset(run, s, "val", progress=False).background for s in want}
    assert got == want


TRAIN = ["--debug", "train", "--config", "configs/er_nerf.gin",
         "--config", "configs/studio_quick.gin", "--quiet", "--bind", "head/Trainer.steps = 2",
         "--bind", "ERNeRF.grid_size = 32",
         "--bind", "TalkingHeadSystem.num_rays = 64"]  # fmt: skip


def _files(folder):
    """{relative path: bytes} of every file under ``folder``."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _data(workspace):
    return json.loads((workspace / "run.json").read_text())["data"]


@pytest.mark.slow
@pytest.mark.parametrize("extra,error", [
    ([], "already holds a trained model .* --resume, or start again with --overwrite"),
    (["--resume", "--bind", "ERNeRF.audio_in_dim = 7"], "audio_in_dim=7"),
    (["--resume", "--overwrite"], "choose one"),
    (["--resume", "--bind", "ERNeRF.audio_dim = 16"], r"latest.pt does not fit the model .*shapes"),
    (["--resume", "--stages", "head"], None),  # a finished run: nothing more to train
])  # fmt: skip
def test_a_refused_train_changes_nothing_in_the_workspace(workspace, extra, error):
    before = _files(workspace)
    args = [*TRAIN, "--data", _data(workspace), "--workspace", str(workspace), *extra]
    if error is None:
        assert main(args) == 0
        before["run.json"] = (workspace / "run.json").read_bytes()  # rewritten, the same run
    else:
        with pytest.raises(ValueError, match=error):
            main(args)
    assert _files(workspace) == before
    assert main(["eval", "--workspace", str(workspace), "--quiet", "--max-frames", "1"]) == 0


@pytest.mark.slow
def test_resume_of_a_folder_without_a_checkpoint_is_refused(workspace, tmp_path, capsys):
    typo = tmp_path / "rnu"
    args = [*TRAIN, "--data", _data(workspace), "--workspace", str(typo), "--resume"]
    with pytest.raises(ValueError, match=r"--resume: .*latest.pt does not exist.*drop --resume"):
        main(args)
    assert main(args[1:]) == 2  # without --debug: the message alone, on stderr
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("lokitalk train: error: --resume: ") and len(err) == 2
    assert not typo.exists()


@pytest.mark.slow
@pytest.mark.parametrize("fault,error", [
    ("read-only", r"cannot write in .*Permission denied.*make it writable"),
    ("full disk", r"0.0 MB free on its disk, but training needs about .* MB"),
])  # fmt: skip
def test_a_read_only_or_full_workspace_fails_before_training(
    workspace, tmp_path, monkeypatch, fault, error
):
    import os
    from collections import namedtuple

    from lokitalk_plugins.commands import workspace_start

    if fault == "read-only":
        real_open = os.open

        def refuse(path, *args, **kw):
            if "write-probe" in str(path):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kw)

        monkeypatch.setattr(workspace_start.os, "open", refuse)
    else:
        usage = namedtuple("usage", "total used free")
        monkeypatch.setattr(workspace_start.shutil, "disk_usage", lambda p: usage(1, 1, 0))
    target = tmp_path / "new"
    with pytest.raises(ValueError, match=error):
        main([*TRAIN, "--data", _data(workspace), "--workspace", str(target)])
    assert not target.exists()


@pytest.mark.slow
def test_overwrite_starts_again_and_nan_weights_are_refused_by_eval(workspace, tmp_path):
    import shutil

    import torch

    from lokitalk_plugins.train.checkpoint import CheckpointError

    ws = tmp_path / "copy"
    shutil.copytree(workspace, ws)
    (ws / "eval.json").write_text("{}")
    mine = ws / "mine.gin"  # the user's own config, kept in the workspace folder
    mine.write_text("TalkingHeadSystem.num_rays = 32\n")
    args = ["--data", _data(workspace), "--workspace", str(ws), "--config", str(mine)]
    assert main([*TRAIN, *args, "--overwrite"]) == 0
    assert not (ws / "eval.json").exists() and mine.is_file()
    assert json.loads((ws / "run.json").read_text())["configs"][-1] == "run_configs/mine.gin"
    assert (ws / "run_configs/mine.gin").read_text() == mine.read_text()
    assert sorted(p.name for p in (ws / "checkpoints").glob("*.pt")) == [
        "head_step0000002.pt", "latest.pt"]  # fmt: skip
    assert {r.split(",")[0] for r in (ws / "logs/head.csv").read_text().split()[1:]} == {"2"}
    latest = ws / "checkpoints" / "latest.pt"
    state = torch.load(latest, weights_only=True)
    first = next(iter(state["ema"]["shadow"]))
    state["ema"]["shadow"][first].fill_(float("nan"))
    latest.unlink()
    torch.save(state, latest)
    with pytest.raises(CheckpointError, match=r"weight tensors are NaN or infinite"):
        main(["--debug", "eval", "--workspace", str(ws), "--quiet"])


def _plant(ws, tmp_path, as_copy: bool):
    """Add to ws's run.json a config that runs a shell command when gin loads it."""
    pwned = tmp_path / "pwned"
    evil = (ws / "run_configs" if as_copy else tmp_path) / "evil.gin"
    evil.parent.mkdir(exist_ok=True)
    evil.write_text(
        "from __gin__ import dynamic_registration\nimport subprocess\n"
        "import lokitalk_plugins.baselines.system\n"
        "lokitalk_plugins.baselines.system.TalkingHeadSystem.model = @subprocess.getoutput()\n"
        f"subprocess.getoutput.cmd = 'touch {pwned}'\n"
    )
    run = json.loads((ws / "run.json").read_text())
    run["configs"].append("run_configs/evil.gin" if as_copy else str(evil))
    run["config_texts"].append(evil.read_text())  # the config as it was "trained"
    (ws / "run.json").write_text(json.dumps(run))
    return pwned


@pytest.mark.slow
@pytest.mark.parametrize("as_copy,error", [
    (True, r"evil.gin, line 1 .*may not import modules"),
    (False, r"names the config '/.*evil.gin', which is neither a packaged config nor a copy"),
])  # fmt: skip
def test_a_workspace_from_someone_else_runs_none_of_their_code(workspace, tmp_path, as_copy, error):
    import shutil

    from lokitalk_plugins.train.config import ConfigError

    ws = tmp_path / "theirs"
    shutil.copytree(workspace, ws)
    pwned = _plant(ws, tmp_path, as_copy)
    for command in (["eval"], ["render", "--out", str(tmp_path / "x.mp4")]):
        with pytest.raises(ConfigError, match=error):
            main(["--debug", *command, "--workspace", str(ws), "--quiet"])
    assert not pwned.exists()
    # fine-tuning it reads only its weights (weights_only) and runs with the user's configs
    assert main([*TRAIN, "--bind", "head/Trainer.steps = 32", "--data", _data(workspace),
                 "--workspace", str(ws), "--resume"]) == 0  # fmt: skip
    assert not pwned.exists() and "evil" not in (ws / "run.json").read_text()
    assert main(["eval", "--workspace", str(ws), "--quiet", "--max-frames", "1"]) == 0


@pytest.mark.slow
def test_a_bind_is_not_shadowed_by_a_scoped_binding_of_a_file(workspace, tmp_path):
    new = tmp_path / "new"
    with pytest.raises(ValueError, match=r"Trainer.steps must be an integer >= 1, got 'abc'"):
        main([*TRAIN, "--data", _data(workspace), "--workspace", str(new),
              "--bind", "Trainer.steps = 'abc'"])  # fmt: skip
    assert not new.exists()


@pytest.mark.slow
def test_a_run_that_eval_would_refuse_is_refused_before_training(workspace, tmp_path):
    from lokitalk_plugins.train.config import ConfigError

    mine = tmp_path / "mine.gin"
    mine.write_text("import json\nTalkingHeadSystem.num_rays = 32\n")
    new = tmp_path / "new"
    with pytest.raises(ConfigError, match=r"--config mine.gin, line 1 .*eval and render would"):
        main([*TRAIN, "--data", _data(workspace), "--workspace", str(new), "--config", str(mine)])
    assert not new.exists()


@pytest.mark.slow
def test_the_fast_path_options_refuse_a_bare_backbone(workspace, tmp_path, capsys):
    args = ["eval", "--workspace", str(workspace), "--quiet", "--out", str(tmp_path / "e.json")]
    assert main([*args, "--fast-path"]) == 2
    out = capsys.readouterr().out
    assert "--fast-path: the workspace's model (ERNeRF) has no plug-in fast path" in out
    assert len(out.strip().splitlines()) == 1 and not (tmp_path / "e.json").exists()
