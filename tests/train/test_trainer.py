"""The trainer on a toy system: it learns, logs, validates, freezes by stage, resumes exactly."""

from __future__ import annotations

import csv

import pytest
import torch
from toy_system import ToyDataset, ToySystem

from lokitalk_plugins.train.checkpoint import LATEST, load_checkpoint
from lokitalk_plugins.train.trainer import Trainer


def _trainer(system, ws, steps, **kw):
    kw = {"log_every": 5, "val_every": 10, "ckpt_every": 10, "progress": False, **kw}
    return Trainer(system, ToyDataset(), ws, steps, **kw)


def test_loss_goes_down_over_100_steps(tmp_path):
    torch.manual_seed(0)
    system = ToySystem()
    data = ToyDataset()
    before = torch.stack(
        [
            ((system.render_frame(data[i])["rgb"] - data[i]["image"]) ** 2).mean()
            for i in range(len(data))
        ]
    ).mean()
    summary = _trainer(system, tmp_path, 100, log_every=10, val_every=50).run()
    after = torch.stack(
        [
            ((system.render_frame(data[i])["rgb"] - data[i]["image"]) ** 2).mean()
            for i in range(len(data))
        ]
    ).mean()
    assert after < 0.5 * before
    assert summary["steps"] == 100 and summary["start_step"] == 0
    assert summary["final_loss"] is not None and summary["val_psnr"] > 15.0
    rows = list(csv.DictReader(open(tmp_path / "logs" / "head.csv")))
    losses = [float(r["loss"]) for r in rows if r["loss"]]
    assert len(losses) == 10 and sum(losses[-3:]) < sum(losses[:3])


def test_csv_log_columns_val_images_and_checkpoints(tmp_path):
    _trainer(ToySystem(), tmp_path, 20, keep_checkpoints=1).run()
    with open(tmp_path / "logs" / "head.csv") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames[:2] == ["step", "wall_time"]
    for col in ("loss", "psnr", "mse", "lr/grid", "lr/mlp", "val_psnr"):
        assert col in reader.fieldnames
    train_rows = [r for r in rows if r["loss"]]
    assert [int(r["step"]) for r in train_rows] == [5, 10, 15, 20]
    # logged lr is the schedule's value after the step: 1e-2 * 0.1 ** (5 / 20) at step 5
    assert float(train_rows[0]["lr/grid"]) == pytest.approx(1e-2 * 0.1 ** (5 / 20))
    assert [int(r["step"]) for r in rows if r["val_psnr"]] == [10, 20]
    pngs = sorted(p.name for p in (tmp_path / "val").glob("*.png"))
    assert pngs == ["head_step0000010.png", "head_step0000020.png"]
    from PIL import Image

    assert Image.open(tmp_path / "val" / pngs[0]).size == (3 * 8, 6)  # pred | gt | depth
    ckpts = sorted(p.name for p in (tmp_path / "checkpoints").glob("head_step*.pt"))
    assert ckpts == ["head_step0000020.pt"]  # keep_checkpoints=1 pruned step 10
    assert load_checkpoint(tmp_path / "checkpoints" / LATEST)["step"] == 20


class _Interrupt(Exception):
    pass


def test_exact_resume_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    torch.manual_seed(0)
    straight = ToySystem()
    init = {k: v.clone() for k, v in straight.state_dict().items()}
    t = _trainer(straight, tmp_path / "a", 20)
    t.run()

    # same start, interrupted during step 13 (after the step-10 checkpoint)
    first = ToySystem()
    first.load_state_dict(init)
    original = first.after_step

    def crash(step, generator):
        if step == 12:
            raise _Interrupt
        original(step, generator)

    monkeypatch.setattr(first, "after_step", crash)
    with pytest.raises(_Interrupt):
        _trainer(first, tmp_path / "b", 20).run()
    assert load_checkpoint(tmp_path / "b" / "checkpoints" / LATEST)["step"] == 10

    # a new process would build a fresh system (other init, other global RNG state)
    torch.manual_seed(123)
    resumed = ToySystem()
    summary = _trainer(resumed, tmp_path / "b", 20, resume=True).run()
    assert summary["start_step"] == 10
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), name
    ema_a = load_checkpoint(tmp_path / "a" / "checkpoints" / LATEST)
    ema_b = load_checkpoint(tmp_path / "b" / "checkpoints" / LATEST)
    for name, v in ema_a["ema"]["shadow"].items():
        assert torch.equal(v, ema_b["ema"]["shadow"][name]), name
    assert (
        ema_a["optimizer"]["param_groups"][0]["lr"] == ema_b["optimizer"]["param_groups"][0]["lr"]
    )
    # the resumed log reads as one run: rows after step 10 of the interrupted run are gone
    cols = ("step", "loss", "psnr", "val_psnr")
    rows_a = [[r[c] for c in cols] for r in csv.DictReader(open(tmp_path / "a/logs/head.csv"))]
    rows_b = [[r[c] for c in cols] for r in csv.DictReader(open(tmp_path / "b/logs/head.csv"))]
    assert rows_a == rows_b


def test_torso_stage_freezes_the_head_and_resumes_from_the_head_stage(tmp_path):
    torch.manual_seed(0)
    system = ToySystem()
    _trainer(system, tmp_path, 10).run()
    head_mlp = [p.detach().clone() for p in system.mlp.parameters()]
    codes = system.codes.weight.detach().clone()
    fresh = ToySystem()  # a new process: weights come from the head stage's latest.pt
    summary = _trainer(fresh, tmp_path, 10, stage="torso", resume=True).run()
    assert summary["start_step"] == 0
    for before, after in zip(head_mlp, fresh.mlp.parameters()):
        assert torch.equal(before, after)  # frozen in the torso stage
    assert not torch.equal(codes, fresh.codes.weight)  # trained in the torso stage
    state = load_checkpoint(tmp_path / "checkpoints" / LATEST)
    assert state["stage"] == "torso"
    assert [g["name"] for g in state["optimizer"]["param_groups"]] == ["grid"]
    with pytest.raises(ValueError, match="comes after 'head'"):
        _trainer(ToySystem(), tmp_path, 10, stage="head", resume=True).run()


def test_bad_learning_rate_names_and_inputs_fail_before_any_step(tmp_path):
    system = ToySystem()
    before = {k: v.clone() for k, v in system.state_dict().items()}
    with pytest.raises(ValueError, match=r"learning rates configured for \['mpl'\]"):
        _trainer(system, tmp_path, 5, lr={"grid": 1e-2, "mpl": 1e-3}).run()
    with pytest.raises(ValueError, match="stage must be one of"):
        _trainer(system, tmp_path, 5, stage="neck")
    with pytest.raises(ValueError, match="no frame"):
        Trainer(system, [], tmp_path, 5, progress=False)
    with pytest.raises(TypeError, match="does not implement TrainableSystem"):
        Trainer(torch.nn.Linear(2, 2), ToyDataset(), tmp_path, 5)
    assert all(torch.equal(v, system.state_dict()[k]) for k, v in before.items())
    assert not (tmp_path / "checkpoints" / LATEST).exists()


def test_audio_dim_mismatch_is_a_clear_error(tmp_path):
    from lokitalk_plugins.train.preflight import DataMismatchError

    class Features(ToyDataset):
        audio_features = torch.zeros(4, 44, 16)  # [N, K, T]: wav2vec windows
        root = "data/obama"

    system = ToySystem()
    system.audio_net = torch.nn.Module()
    system.audio_net.audio_in_dim = 29  # the model expects DeepSpeech
    with pytest.raises(DataMismatchError, match=r"K=44 .* audio_in_dim=29"):
        Trainer(system, Features(), tmp_path, 5, progress=False)


def test_validation_leaves_every_random_state_and_the_weights_as_they_were(tmp_path):
    import random

    import numpy as np

    from lokitalk_plugins.train.ema import EMA
    from lokitalk_plugins.train.validation import validate_frame

    class Noisy(ToySystem):
        def render_frame(self, frame):
            torch.rand(3), np.random.rand(), random.random()  # a renderer drawing noise
            return super().render_frame(frame)

    system = Noisy()
    ema = EMA(system.named_parameters(), 0.95)
    with torch.no_grad():
        system.codes.weight.add_(1.0)  # raw weights now differ from the EMA shadow
    raw = system.codes.weight.detach().clone()
    before = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    out = validate_frame(system, ToyDataset()[0], ema, tmp_path / "v.png")
    assert torch.equal(torch.get_rng_state(), before[0])
    assert (np.random.get_state()[1] == before[1]).all() and random.getstate() == before[2]
    assert torch.equal(system.codes.weight, raw) and system.training
    assert out["val_psnr"] > 0 and (tmp_path / "v.png").is_file()


def test_settings_are_one_checked_config(tmp_path):
    from lokitalk_plugins.train.trainer_config import TrainerConfig

    config = TrainerConfig(steps=7, lr={"mlp": 0.5}, betas=[0.0, 0.99])
    t = Trainer(ToySystem(), ToyDataset(), tmp_path, config=config, ema_decay=None)
    assert (t.steps, t.ema_decay, t.optim_args["betas"]) == (7, None, (0.0, 0.99))
    assert t.settings()["lr"] == {"mlp": 0.5} and config.ema_decay == 0.95  # not mutated
    with pytest.raises(TypeError, match=r"unknown setting\(s\) \['lr_decy'\]"):
        Trainer(ToySystem(), ToyDataset(), tmp_path, 5, lr_decy=0.5)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        TrainerConfig(steps=0)


def test_a_new_learning_rate_on_resume_is_applied_from_the_resumed_step(tmp_path):
    torch.manual_seed(0)
    _trainer(ToySystem(), tmp_path, 10, lr={"grid": 1e-2, "mlp": 5e-3}).run()
    resumed = _trainer(ToySystem(), tmp_path, 20, resume=True, lr={"grid": 4e-2, "mlp": 5e-3})
    with pytest.warns(UserWarning, match=r"resuming with grid.lr 0.01 -> 0.04"):
        assert resumed.run()["start_step"] == 10
    groups = load_checkpoint(tmp_path / "checkpoints" / LATEST)["optimizer"]["param_groups"]
    lrs = {g["name"]: (g["initial_lr"], g["lr"]) for g in groups}
    assert lrs["grid"] == (4e-2, pytest.approx(4e-2 * 0.1))  # lr_0 * decay at the last step
    assert lrs["mlp"] == (5e-3, pytest.approx(5e-3 * 0.1))
    rows = list(csv.DictReader(open(tmp_path / "logs" / "head.csv")))
    first = next(r for r in rows if r["loss"] and int(r["step"]) == 15)
    assert float(first["lr/grid"]) == pytest.approx(4e-2 * 0.1 ** (15 / 20))


def test_another_optimizer_on_resume_and_a_non_finite_lr_are_refused(tmp_path):
    _trainer(ToySystem(), tmp_path, 10).run()
    with pytest.raises(ValueError, match="trained with optimizer='adam', the config now says"):
        _trainer(ToySystem(), tmp_path, 20, resume=True, optimizer="adamw").run()
    with pytest.raises(ValueError, match="group 'grid' is inf: it must be a finite number"):
        _trainer(ToySystem(), tmp_path / "b", 5, lr={"grid": float("1e400")}).run()
    assert not (tmp_path / "b" / "checkpoints" / LATEST).exists()
    assert load_checkpoint(tmp_path / "checkpoints" / LATEST)["step"] == 10


def test_a_trained_workspace_is_refused_without_resume_or_overwrite(tmp_path):
    from lokitalk_plugins.errors import UserError

    torch.manual_seed(0)
    system = ToySystem()
    _trainer(system, tmp_path, 4).run()
    before = (tmp_path / "checkpoints" / LATEST).read_bytes()
    again = _trainer(ToySystem(), tmp_path, 4)
    with pytest.raises(UserError, match=r"already holds a trained 'head' stage; .*resume=True"):
        again.check()  # refused before anything is written
    with pytest.raises(UserError, match="overwrite=True"):
        again.run()
    assert (tmp_path / "checkpoints" / LATEST).read_bytes() == before
    # a later stage starts from the finished earlier one; overwrite starts the stage again
    assert _trainer(system, tmp_path, 2, stage="torso").run()["start_step"] == 0
    with pytest.raises(UserError, match="'torso' stage"):
        _trainer(system, tmp_path, 2, stage="head").check()
    assert _trainer(ToySystem(), tmp_path, 3, overwrite=True).run()["start_step"] == 0
    assert load_checkpoint(tmp_path / "checkpoints" / LATEST)["stage"] == "head"
