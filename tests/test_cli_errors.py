"""User errors through the ``lokitalk`` CLI: one message naming the file or option (exit 2),
the traceback only with ``--debug``, and a refused start that changes nothing on disk."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lokitalk_plugins.cli import main
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.errors import UserError

PRETRAIN = ["--config", "configs/er_nerf_odr.gin", "--config", "configs/studio_quick.gin",
            "--config", "configs/idakt.gin", "--steps", "1", "--quiet"]  # fmt: skip


@pytest.fixture(scope="module")
def identities(tmp_path_factory):
    """Two tiny studio identities whose audio features differ in K (32 and 16 mels)."""
    root = tmp_path_factory.mktemp("ids")
    return [write_identity(root / "id1", identity=1, seconds=1.0, size=32),
            write_identity(root / "id2", identity=2, seconds=1.0, size=32, n_mels=16)]  # fmt: skip


def error_lines(capsys, command: str) -> list[str]:
    """stderr of a failed command: its lines, checked to be a message and the --debug hint."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    assert lines[0].startswith(f"lokitalk {command}: error: ")
    assert lines[-1] == "(run again with --debug for the traceback)"
    return lines


def test_missing_workspace_is_one_line_and_debug_shows_the_traceback(tmp_path, capsys):
    ws = tmp_path / "nope"
    assert main(["eval", "--workspace", str(ws)]) == 2
    lines = error_lines(capsys, "eval")
    assert len(lines) == 2 and f"{ws}/run.json not found" in lines[0]
    assert "written by `lokitalk train`" in lines[0]
    with pytest.raises(FileNotFoundError, match="run.json not found"):
        main(["--debug", "eval", "--workspace", str(ws)])
    with pytest.raises(FileNotFoundError):  # --debug after the command works too
        main(["eval", "--workspace", str(ws), "--debug"])


def test_user_error_type_is_shared_by_the_package_errors():
    from lokitalk_plugins.data.audio import AudioLayoutError
    from lokitalk_plugins.data.problems import FolderReadError, FolderValidationError
    from lokitalk_plugins.idakt.hub import HubBundleError
    from lokitalk_plugins.train.checkpoint import CheckpointError
    from lokitalk_plugins.train.config import ConfigError
    from lokitalk_plugins.train.preflight import DataMismatchError

    for cls in (AudioLayoutError, FolderReadError, FolderValidationError, HubBundleError,
                CheckpointError, ConfigError, DataMismatchError):  # fmt: skip
        assert issubclass(cls, UserError), cls
    for cls in (AudioLayoutError, FolderValidationError, HubBundleError, ConfigError):
        assert issubclass(cls, ValueError), cls  # callers catching ValueError still do


def test_gin_typo_is_one_message(tmp_path, capsys, identities):
    code = main(["train", "--config", "configs/er_nerf.gin", "--data", str(identities[0]),
                 "--workspace", str(tmp_path / "ws"), "--bind", "Trainer.stepz = 3"])  # fmt: skip
    assert code == 2
    assert "Trainer.stepz" in error_lines(capsys, "train")[0]


def test_render_refuses_nan_audio_features_before_loading_anything(tmp_path, capsys):
    feats = np.zeros((6, 16, 32), np.float32)
    feats[2, 3, 4] = np.nan
    np.save(tmp_path / "nan.npy", feats)
    out = tmp_path / "out.mp4"
    args = ["render", "--workspace", str(tmp_path / "no_ws"), "--out", str(out),
            "--audio-features", str(tmp_path / "nan.npy")]  # fmt: skip
    assert main(args) == 2
    lines = error_lines(capsys, "render")
    assert f"{tmp_path / 'nan.npy'}: 1 row(s) of audio features hold NaN" in lines[0]
    assert "(row 2)" in lines[0] and "recompute the features" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nan.npy"]


def test_symlink_loop_data_folder(tmp_path, capsys):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    code = main(["train", "--config", "configs/er_nerf.gin", "--data", str(tmp_path / "a"),
                 "--workspace", str(tmp_path / "ws")])  # fmt: skip
    assert code == 2
    lines = error_lines(capsys, "train")
    assert lines[0].endswith(f"{tmp_path / 'a'}: a symbolic link loop (it points back to "
                             "itself); pass the real folder")  # fmt: skip
    assert not (tmp_path / "ws").exists()
    assert main(["validate", str(tmp_path / "a"), "--quiet"]) == 1
    assert "symbolic link loop" in capsys.readouterr().out


def test_pretrain_refuses_a_folder_with_someone_elses_readme(tmp_path, capsys, identities):
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "README.md").write_text("my notes")
    (out / "config.json").write_text("{}")
    assert main(["pretrain", str(identities[0]), *PRETRAIN, "--out", str(out)]) == 2
    lines = error_lines(capsys, "pretrain")
    assert f"{out} already holds README.md, config.json" in lines[0]
    assert "--overwrite" in lines[0]
    assert (out / "README.md").read_text() == "my notes"
    assert (out / "config.json").read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]  # no <out>.work either


def test_pretrain_with_different_audio_dims_names_the_folder(tmp_path, capsys, identities):
    out = tmp_path / "bundle"
    assert main(["pretrain", *map(str, identities), *PRETRAIN, "--out", str(out)]) == 2
    msg = error_lines(capsys, "pretrain")[0]
    assert f"{identities[1]}: audio features of 16 x 16 per window, but {identities[0]} has " \
           "32 x 16" in msg  # fmt: skip
    assert "same extractor" in msg
    assert not out.exists()


def test_bad_option_value_is_one_message(tmp_path, capsys, identities):
    code = main(["train", "--config", "configs/er_nerf.gin", "--data", str(identities[0]),
                 "--workspace", str(tmp_path / "ws"), "--quiet",
                 "--bind", "TalkingHeadFolder.background = 'grass'"])  # fmt: skip
    assert code == 2
    assert error_lines(capsys, "train") == [
        "lokitalk train: error: background must be one of ('torso', 'bc'), got 'grass' "
        "(in TalkingHeadFolder, scope head)",
        "(run again with --debug for the traceback)",
    ]


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    import lokitalk_plugins.data.validate_command as validate_command

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(validate_command, "run", interrupted)
    assert main(["validate", "somewhere"]) == 130
    assert capsys.readouterr().err == "lokitalk validate: interrupted\n"


def test_train_on_nan_audio_names_the_file(tmp_path, capsys, identities):
    import shutil

    data = tmp_path / "id"
    shutil.copytree(identities[0], data)
    aud = np.load(data / "aud.npy")
    aud[5] = np.nan
    np.save(data / "aud.npy", aud)
    code = main(["train", "--config", "configs/er_nerf.gin", "--data", str(data),
                 "--workspace", str(tmp_path / "ws"), "--quiet"])  # fmt: skip
    assert code == 2
    lines = error_lines(capsys, "train")
    assert lines[0] == (f"lokitalk train: error: {data}: 1 problem(s) in the folder: "
                        "(in TalkingHeadFolder, scope head)")  # fmt: skip
    assert lines[1] == (f"  - {data / 'aud.npy'}: 1 row(s) of audio features hold NaN or "
                        "infinite values (row 5); recompute the features (lokitalk features, "
                        "or your extractor)")  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "{missing}", "--quiet"],
        ["features", "{missing}/speech.wav", "--out", "{tmp}/f.npy"],
        ["audio2motion", "--data", "{missing}", "--out", "{tmp}/a2m.pt", "--steps", "1"],
        ["train", "--config", "configs/er_nerf.gin", "--data", "{missing}", "--workspace",
         "{tmp}/ws"],
        ["pretrain", "{missing}", *PRETRAIN, "--out", "{tmp}/bundle"],
        ["eval", "--workspace", "{missing}"],
        ["render", "--workspace", "{missing}", "--out", "{tmp}/v.mp4"],
        ["synth", "--identities", "1", "--seconds", "1", "--size", "32", "--out",
         "{tmp}/file.txt/sub"],
    ],
)  # fmt: skip
def test_every_command_names_a_missing_path_without_a_traceback(tmp_path, capsys, args):
    """A path that does not exist (or lies under a file), for every command: a non-zero exit,
    no traceback, and the path named in the last lines."""
    (tmp_path / "file.txt").write_text("not a folder")
    missing = tmp_path / "no_such_folder"
    argv = [a.format(missing=missing, tmp=tmp_path) for a in args]
    assert main(argv) != 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out
    last = (out.err.strip() or out.out.strip()).splitlines()[-2:]
    named = str(missing) if "{missing}" in " ".join(args) else str(tmp_path / "file.txt")
    assert any(named in line for line in last), last


@pytest.mark.parametrize(
    "argv, message",
    [
        (["features", "{tmp}/missing.wav"], "{tmp}/missing.wav: no such file; give a WAV file"),
        (["features", "{tmp}/junk.wav"], "{tmp}/junk.wav: cannot read"),
        (["features", "{tmp}/junk.wav", "--n-mels", "0"], "--n-mels and --fps must be positive"),
        (["audio2exp", "{tmp}/nope", "--out", "{tmp}/a.pt"], "{tmp}/nope: no such folder"),
        (["audio2exp", "{tmp}", "--out", "{tmp}/a.pt", "--steps", "0"], "--steps must be"),
        (["audio2motion", "--data", "{tmp}/nope", "--out", "{tmp}/a.pt"],
         "{tmp}/nope: no such folder; give a preprocessed folder (--data)"),
        (["audio2motion", "--data", "{tmp}", "--out", "{tmp}/a.pt", "--steps", "0"],
         "--steps, --batch, --latent and --hidden must be positive"),
        (["lipsync", "--data", "{tmp}/nope", "--out", "{tmp}/a.pt"], "{tmp}/nope: no such"),
        (["lipsync", "--data", "{tmp}", "--out", "{tmp}/a.pt", "--tau", "0"], "--tau must be"),
    ],
)  # fmt: skip
def test_signal_commands_end_in_one_error_line_and_exit_2(argv, message, tmp_path, capsys):
    (tmp_path / "junk.wav").write_bytes(b"not a wav file at all")
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    lines = error_lines(capsys, argv[0])
    assert len(lines) == 2 and message.format(tmp=tmp_path) in lines[0]
    assert not (tmp_path / "a.pt").exists()


def test_pretrain_budget_in_epochs(tmp_path, capsys, identities):
    """--epochs E trains ceil(E x the identities' training frames / ranks) steps; --epochs and
    --steps exclude each other; a non-positive --epochs is one line naming the option."""
    from lokitalk_plugins.commands.pretrain import epoch_steps, train_frames

    frames = train_frames(identities[:1])
    meta = json.loads((identities[0] / "transforms_train.json").read_text())
    assert frames == len(meta["frames"]) > 0
    assert train_frames(identities) == frames + train_frames(identities[1:])
    assert epoch_steps(50, 44) == 2200 and epoch_steps(1.5, 10, world_size=2) == 8
    with pytest.raises(ValueError, match="--epochs must be > 0"):
        epoch_steps(0, 10)
    out, configs = tmp_path / "bundle", PRETRAIN[:-3]  # without --steps 1 --quiet
    assert configs[-1] == "configs/idakt.gin"
    assert main(["pretrain", str(identities[0]), *configs, "--out", str(out),
                 "--epochs", "0"]) == 2  # fmt: skip
    assert "--epochs must be > 0, got 0.0" in error_lines(capsys, "pretrain")[0]
    with pytest.raises(SystemExit):
        main(["pretrain", str(identities[0]), *configs, "--out", str(out), "--epochs", "1",
              "--steps", "3"])  # fmt: skip
    assert "not allowed with argument" in capsys.readouterr().err
    assert not out.exists()


def test_pretrain_refuses_a_workspace_with_checkpoints_and_resumes_it_on_request(
    tmp_path, capsys, identities, monkeypatch
):
    import lokitalk_plugins.train.pretrain_loop as loop

    out, work = tmp_path / "bundle", tmp_path / "bundle.work"
    args = ["pretrain", str(identities[0]), *PRETRAIN[:-3], "--steps", "3",
            "--checkpoint-every", "1", "--quiet", "--out", str(out)]  # fmt: skip
    save = loop.ckpt.save_checkpoint

    def stop_after_step_2(state, folder, stage, done, keep):  # a stop right after a checkpoint
        save(state, folder, stage, done, keep)
        if done == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(loop.ckpt, "save_checkpoint", stop_after_step_2)
    assert main(args) == 130 and not out.exists()
    monkeypatch.undo()
    latest = work / "checkpoints" / "latest.pt"
    before = latest.read_bytes()
    capsys.readouterr()
    assert main(args) == 2  # started again without --resume: refused, nothing touched
    msg = error_lines(capsys, "pretrain")[0]
    assert f"{latest} exists: pass --resume" in msg and "another --workspace" in msg
    assert latest.read_bytes() == before and not out.exists()
    assert main([*args, "--resume"]) == 0
    printed = capsys.readouterr().out
    report = json.loads(printed[printed.index("{") :])
    assert report["start_step"] == 2 and report["steps"] == 3  # one step left, then the bundle
    assert torch.load(latest, weights_only=False)["step"] == 3
    assert (out / "model.safetensors").is_file()
