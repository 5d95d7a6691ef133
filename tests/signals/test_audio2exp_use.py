"""Audio2Exp from outside: ``lokitalk audio2exp`` (pre-train, fine-tune, errors), the
condition as a wrapped backbone's RSDF F_a (frozen), and ``configs/audio2exp.gin``."""

import shlex
from pathlib import Path

import gin
import pytest
import torch

from lokitalk_plugins.adapters import wrap
from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
from lokitalk_plugins.baselines.system import TalkingHeadSystem
from lokitalk_plugins.cli import main
from lokitalk_plugins.data import TalkingHeadFolder
from lokitalk_plugins.rsdf import RSDF
from lokitalk_plugins.signals.audio2exp import Audio2ExpCondition
from lokitalk_plugins.train.audio2exp import load_audio2exp, load_audio2exp_model

SMALL_GRID = dict(num_levels=4, level_dim=2, base_resolution=8, desired_resolution=32,
                  log2_hashmap_size=10, backend="torch")  # fmt: skip


def _run(argv):
    return main(["audio2exp", *(str(a) for a in argv)])


def _error(capsys) -> str:
    """The message of the one ``lokitalk audio2exp: error:`` line (then the --debug hint)."""
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("lokitalk audio2exp: error: ")
    return lines[0].removeprefix("lokitalk audio2exp: error: ")


def test_command_pretrains_then_finetunes(a2e_aux, a2e_target, tmp_path, capsys):
    pre, tuned = tmp_path / "pre.pt", tmp_path / "a2e.pt"
    small = ["--bind", "train_audio2exp.hidden = 16", "--bind", "train_audio2exp.seq_len = 8"]
    assert _run([*a2e_aux, "--out", pre, "--steps", 20, "--no-progress", *small]) == 0
    text = capsys.readouterr().out
    assert text.count(" train ") == 2 and "exp model" in text and "windows of 8 frames" in text
    assert load_audio2exp_model(pre).hidden == 16
    # fine-tuning reads configs/audio2exp_finetune.gin (lr 2e-4) and the sizes of --init
    assert _run([a2e_target, "--init", pre, "--out", tuned, "--steps", 5, "--no-progress"]) == 0
    assert "over 5 steps, windows of 8 frames" in capsys.readouterr().out
    assert load_audio2exp_model(tuned).config() == load_audio2exp_model(pre).config()


def test_command_errors_are_one_line(a2e_target, tmp_path, capsys):
    out = tmp_path / "x.pt"
    assert _run([tmp_path / "nope", "--out", out]) == 2
    assert _error(capsys) == f"{tmp_path / 'nope'}: no such folder; give preprocessed folders"
    assert _run([a2e_target, "--out", out, "--steps", 0]) == 2
    assert _error(capsys) == "--steps must be positive, got 0"
    assert _run([a2e_target, "--out", out, "--bind", "train_audio2exp.seq_len = 60"]) == 2
    assert "fewer than the LSTM window of 60" in _error(capsys)
    assert _run([a2e_target, "--out", out, "--bind", "train_audio2exp.hiden = 3"]) == 2
    assert "did you mean ['hidden']" in _error(capsys)
    assert _run([a2e_target, "--out", out, "--init", tmp_path / "none.pt"]) == 2
    text = _error(capsys)
    assert "none.pt" in text and "configurable" not in text
    assert not out.exists()


def test_condition_is_rsdf_f_a_and_stays_frozen(a2e_pretrained, a2e_target):
    data = TalkingHeadFolder(a2e_target, background="bc", preload=True, progress=False)
    cond = load_audio2exp(a2e_pretrained[0], dim=8)
    torch.manual_seed(0)
    backbone = ERNeRF(audio_in_dim=32, ind_num=len(data), grid_size=32)
    model = wrap(backbone, rsdf=RSDF(audio_dim=8, hidden=16, grid=SMALL_GRID), audio2motion=cond)
    frame = data[3]
    windows = frame.audio.unsqueeze(0).float()
    backbone_fa, plugin_fa = model.split_audio(model.encode_audio(windows))
    assert torch.equal(backbone_fa, backbone.encode_audio(windows))
    torch.testing.assert_close(plugin_fa, cond.feature(windows))
    system = TalkingHeadSystem(model, num_rays=128)
    system.prepare(data)
    system.set_stage("head")
    out = system.training_step(frame, 1, 10, torch.Generator().manual_seed(0))
    out.loss.backward()
    assert all(p.grad is None for p in cond.parameters())  # frozen: no gradient reaches it
    with pytest.raises(ValueError, match="rsdf.audio_dim=32 but F_a .* has 8 channels"):
        wrap(ERNeRF(audio_in_dim=32), rsdf=RSDF(audio_dim=32, grid=SMALL_GRID), audio2motion=cond)


def test_condition_is_a_wrapped_backbones_own_audio_feature(a2e_pretrained, a2e_target):
    """GDRF's LSTM in place of the backbone's audio network (no deformation field): the
    backbone's field reads it, exactly, it stays frozen and the backbone still trains."""
    data = TalkingHeadFolder(a2e_target, background="bc", preload=True, progress=False)
    cond = load_audio2exp(a2e_pretrained[0], dim=32)  # ER-NeRF's F_a has 32 channels
    torch.manual_seed(0)
    backbone = ERNeRF(audio_in_dim=32, ind_num=len(data), grid_size=32)
    model = wrap(backbone, audio_condition=cond)
    frame = data[3]
    windows = frame.audio.unsqueeze(0).float()
    enc_a = model.encode_audio(windows)
    with torch.no_grad():  # as the wrap runs it (a frozen signal)
        torch.testing.assert_close(enc_a, cond.feature(windows), rtol=0, atol=0)
    assert not torch.allclose(enc_a, backbone.encode_audio(windows))
    g = torch.Generator().manual_seed(1)
    x, d = torch.rand(32, 3, generator=g) * 0.8 - 0.4, torch.ones(32, 3) / 3**0.5
    eye, code = torch.rand(1, 1, generator=g), model.individual_code(2)
    with torch.no_grad():
        torch.testing.assert_close(
            model(x, d, enc_a, eye, code)["sigma"],
            backbone(x, d, enc_a, eye, code)["sigma"],
            rtol=0,
            atol=0,
        )
    before = {k: v.clone() for k, v in cond.state_dict().items()}
    system = TalkingHeadSystem(model, num_rays=128)
    system.prepare(data)
    system.set_stage("head")
    trained = {id(p) for grp in system.parameter_groups() for p in grp["params"]}
    assert not trained & {id(p) for p in cond.parameters()}
    opt = torch.optim.Adam(system.parameter_groups(), betas=(0.9, 0.99), eps=1e-15)
    losses = []
    for step in range(20):
        out = system.training_step(data[step % len(data)], step, 20, g)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        losses.append(float(out.loss.detach()))
    assert all(p.grad is None for p in cond.parameters())
    assert all(torch.equal(v, before[k]) for k, v in cond.state_dict().items())
    assert sum(losses[-4:]) < sum(losses[:4])
    with pytest.raises(ValueError, match=r"gives 32 channels but the backbone's F_a has 64: "
                       r"build it with 64 \(load_audio2exp.dim\)") as err:  # fmt: skip
        from lokitalk_plugins.baselines.rad_nerf.network import RADNeRF

        wrap(RADNeRF(audio_in_dim=32), audio_condition=cond)
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_audio2exp_gin_trains_a_wrapped_backbone(a2e_pretrained, a2e_target, tmp_path):
    from lokitalk_plugins.commands.workspace import load_system, write_run
    from lokitalk_plugins.train.run import train_from_config

    files = ["configs/er_nerf_odr.gin", "configs/studio_quick.gin", "configs/audio2exp.gin"]
    binds = ["head/Trainer.steps = 3", "Trainer.val_every = 3", "TalkingHeadSystem.num_rays = 128",
             "ERNeRF.grid_size = 32", "ERNeRF.ind_num = 64",
             f"load_audio2exp.path = '{a2e_pretrained[0]}'"]  # fmt: skip
    write_run(tmp_path, a2e_target, files, binds, "aud.npy")
    try:
        out = train_from_config(files, binds, data=a2e_target, workspace=tmp_path, progress=False)
        assert out["stages"]["head"]["final_loss"] is not None
        system, _, _ = load_system(tmp_path)
        cond = system.model.audio2motion
        assert isinstance(cond, Audio2ExpCondition) and cond.latent_dim == 32
        assert system.model.rsdf.audio_dim == 32
        fresh = load_audio2exp(a2e_pretrained[0], dim=32)
        for a, b in zip(cond.state_dict().values(), fresh.state_dict().values()):
            assert torch.equal(a, b)  # frozen through training
    finally:
        gin.clear_config()


def _readme_block(marker: str) -> str:
    """The fenced block right after ``<!-- marker -->`` in the README."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    after = text.split(f"<!-- {marker} -->\n", 1)[1]
    return after.split("```", 2)[1].split("\n", 1)[1]


def test_readme_examples_run(a2e_aux, a2e_target, tmp_path, monkeypatch, capsys):
    from lokitalk_plugins.cli import main

    for i in range(1, 5):  # the README's four pre-training folders: the two fixtures, twice
        (tmp_path / "runs/aux").mkdir(parents=True, exist_ok=True)
        (tmp_path / f"runs/aux/id00{i}").symlink_to(a2e_aux[(i - 1) % 2])
    (tmp_path / "runs/studio").mkdir()
    (tmp_path / "runs/studio/id000").symlink_to(a2e_target)
    monkeypatch.chdir(tmp_path)
    commands = [ln for ln in _readme_block("audio2exp-bash").splitlines()
                if ln.startswith("lokitalk audio2exp ")]  # fmt: skip
    assert len(commands) == 2
    for line in commands:
        assert main(shlex.split(line)[1:] + ["--steps", "3", "--no-progress"]) == 0
    assert "wrote runs/a2e.pt" in capsys.readouterr().out
    code = _readme_block("audio2exp-python")
    for steps in ("steps=2000", "steps=500"):
        assert steps in code
        code = code.replace(steps, "steps=3")
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["exp"].shape == (5, 79) and scope["pose"].shape == (5, 6)
    assert scope["model"].plugin_audio_dim == 32
    assert scope["own"].audio_condition is scope["f_a"]
