"""Checkpoints: atomic writes, weights-only loading, original ngp.pth layouts."""

from __future__ import annotations

import os

import pytest
import torch
from torch import nn
from toy_system import ToyDataset, ToySystem

from lokitalk_plugins.train import checkpoint as ckpt
from lokitalk_plugins.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from lokitalk_plugins.train.trainer import Trainer
from lokitalk_plugins.train.weights import load_model_weights


def _stray(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def _state(step):
    return {"step": step, "w": torch.full((3,), float(step))}


@pytest.mark.parametrize("where", ["torch.save", "os.replace"])
def test_a_crash_mid_write_keeps_the_previous_latest(tmp_path, monkeypatch, where):
    save_checkpoint(_state(10), tmp_path, "head", 10)
    real_save, real_replace = torch.save, os.replace

    def partial_save(obj, f, *a, **k):  # half a file reaches the disk, then the crash
        real_save(obj, f, *a, **k)
        with open(f, "r+b") as fh:
            fh.truncate(os.path.getsize(f) // 2)
        raise OSError("disk full")

    def failing_replace(src, dst):
        raise OSError("power cut")

    if where == "torch.save":
        monkeypatch.setattr(torch, "save", partial_save)
    else:
        monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        save_checkpoint(_state(20), tmp_path, "head", 20)
    monkeypatch.setattr(torch, "save", real_save)
    monkeypatch.setattr(os, "replace", real_replace)
    latest = load_checkpoint(tmp_path / ckpt.LATEST)
    assert latest["step"] == 10 and torch.equal(latest["w"], torch.full((3,), 10.0))
    assert not (tmp_path / "head_step0000020.pt").exists()
    assert _stray(tmp_path) == []


def test_stale_temp_files_of_a_killed_writer_are_removed_on_start(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    (folder / ".latest.pt.tmp-999").write_bytes(b"half a checkpoint")
    Trainer(ToySystem(), ToyDataset(), tmp_path, 2, progress=False, val_every=None).run()
    assert _stray(folder) == []


def test_latest_and_pruning(tmp_path):
    for step in (5, 10, 15):
        save_checkpoint(_state(step), tmp_path, "head", step, keep=2, operative_config="x = 1")
    names = sorted(p.name for p in tmp_path.glob("*.pt"))
    assert names == ["head_step0000010.pt", "head_step0000015.pt", "latest.pt"]
    assert load_checkpoint(tmp_path / "latest.pt")["step"] == 15
    assert (tmp_path / ckpt.OPERATIVE_CONFIG).read_text() == "x = 1"


class Payload:
    """A custom class: unpickling it would run code of our choosing."""

    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_a_file_with_pickled_objects_is_refused_and_not_executed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"model": {"w": torch.zeros(2)}, "extra": Payload()}, path)
    with pytest.raises(
        CheckpointError, match="arbitrary pickled objects.*nothing in it was executed"
    ):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="arbitrary pickled objects"):
        load_model_weights(nn.Linear(2, 1), path)
    assert not (tmp_path / "pwned.txt").exists()


def test_truncated_and_missing_files_are_clear_errors(tmp_path):
    path = tmp_path / "cut.pt"
    torch.save({"w": torch.zeros(100)}, path)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "absent.pt")


class TinyNGP(nn.Module):
    """Named like an original head: MLP weights plus the occupancy buffers."""

    def __init__(self):
        super().__init__()
        self.sigma_net = nn.Linear(4, 3, bias=False)
        self.color_net = nn.Linear(3, 3, bias=False)
        self.register_buffer("density_grid", torch.zeros(1, 8))
        self.register_buffer("density_bitfield", torch.zeros(1, dtype=torch.uint8))
        self.register_buffer("step_counter", torch.zeros(16, 2, dtype=torch.int32))
        self.register_buffer("aabb_train", torch.zeros(6))


def test_an_original_ngp_pth_layout_loads_strictly(tmp_path):
    torch.manual_seed(0)
    src = TinyNGP()
    weights = {k: v for k, v in src.state_dict().items() if "net" in k}  # no occupancy buffers
    path = tmp_path / "ngp.pth"
    torch.save(
        {
            "epoch": 3,
            "global_step": 1200,
            "mean_density": 0.25,
            "stats": {"loss": [0.1, 0.05], "checkpoints": ["a.pth"]},
            "optimizer": {"state": {}, "param_groups": []},
            "model": weights,
        },
        path,
    )
    dst = TinyNGP()
    info = load_model_weights(dst, path, strict=True)
    assert info["prefix"] == "" and sorted(info["missing"]) == [
        "aabb_train",
        "density_bitfield",
        "density_grid",
        "step_counter",
    ]
    assert torch.equal(dst.sigma_net.weight, src.sigma_net.weight)
    del weights["color_net.weight"]
    torch.save({"model": weights}, path)
    with pytest.raises(CheckpointError, match=r"missing \['color_net.weight'\]"):
        load_model_weights(TinyNGP(), path, strict=True)
    torch.save({"model": {"sigma_net.weight": torch.zeros(5, 4)}}, path)
    with pytest.raises(CheckpointError, match="shapes differ"):
        load_model_weights(TinyNGP(), path, strict=False)


def test_our_checkpoint_loads_into_the_bare_model_with_ema_weights(tmp_path):
    class Wrapped(ToySystem):  # a system holding its network under "model."
        pass

    torch.manual_seed(0)
    system = Wrapped()
    Trainer(system, ToyDataset(), tmp_path, 6, progress=False, val_every=None).run()
    state = load_checkpoint(tmp_path / "checkpoints" / ckpt.LATEST)
    bare = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 3))
    info = load_model_weights(bare, tmp_path / "checkpoints" / ckpt.LATEST, use_ema=True)
    assert info["prefix"] == "mlp."
    assert torch.equal(bare[0].weight, state["ema"]["shadow"]["mlp.0.weight"])
    assert not torch.equal(bare[0].weight, system.mlp[0].weight)  # EMA differs from raw
    load_model_weights(bare, tmp_path / "checkpoints" / ckpt.LATEST, use_ema=False)
    assert torch.equal(bare[0].weight, system.mlp[0].weight)


def test_every_checkpoint_loads_weights_only(tmp_path):
    Trainer(ToySystem(), ToyDataset(), tmp_path, 4, progress=False, val_every=None).run()
    state = torch.load(tmp_path / "checkpoints" / ckpt.LATEST, weights_only=True)
    assert state["step"] == 4 and state["stage"] == "head"
    assert set(state["rng"]) == {"torch_cpu", "torch_cuda", "python", "numpy", "generator"}
    assert state["rng"]["torch_cpu"].dtype == torch.uint8


def test_a_state_with_nan_is_never_written_and_the_good_one_is_kept(tmp_path):
    save_checkpoint(_state(10), tmp_path, "head", 10, keep=1)
    bad = {"step": 20, "model": {"w": torch.tensor([1.0, float("nan")]), "ok": torch.ones(2)}}
    with pytest.raises(ckpt.NonFiniteError, match=r"head step 20: 1 tensors .*\['model.w'\]"):
        save_checkpoint(bad, tmp_path, "head", 20, keep=1)
    inf = {"step": 20, "optimizer": {"state": [{"exp_avg": torch.tensor([float("inf")])}]}}
    with pytest.raises(ckpt.NonFiniteError, match=r"still holds the last good one \(step 10\)"):
        save_checkpoint(inf, tmp_path, "head", 20, keep=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["head_step0000010.pt", "latest.pt"]
    assert load_checkpoint(tmp_path / ckpt.LATEST)["step"] == 10


def test_a_failed_write_names_the_file_and_keeps_the_previous_one(tmp_path, monkeypatch):
    save_checkpoint(_state(10), tmp_path, "head", 10)

    def full_disk(obj, f, *a, **k):
        raise RuntimeError("[enforce fail at inline_container.cc:595] . unexpected pos 64 vs 32")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(ckpt.CheckpointWriteError, match="head_step0000020.pt .*disk full"):
        save_checkpoint(_state(20), tmp_path, "head", 20)
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / ckpt.LATEST)["step"] == 10 and _stray(tmp_path) == []


def test_nan_weights_with_a_finite_loss_stop_the_run_at_the_checkpoint(tmp_path, monkeypatch):
    torch.manual_seed(0)
    system = ToySystem()
    system.unused = nn.Parameter(torch.zeros(3))  # not in the loss: it stays finite
    original = system.after_step

    def poison(step, generator):
        original(step, generator)
        if step == 12:
            system.unused.data.fill_(float("nan"))

    monkeypatch.setattr(system, "after_step", poison)
    trainer = Trainer(system, ToyDataset(), tmp_path, 20, ckpt_every=10, keep_checkpoints=1,
                      val_every=None, progress=False)  # fmt: skip
    with pytest.raises(FloatingPointError, match=r"\['model.unused'\]"):
        trainer.run()
    folder = tmp_path / "checkpoints"
    assert sorted(p.name for p in folder.glob("*.pt")) == ["head_step0000010.pt", "latest.pt"]
    assert load_checkpoint(folder / ckpt.LATEST)["step"] == 10


def test_check_resume_refuses_what_the_first_stage_would_refuse_later(tmp_path):
    from lokitalk_plugins.train.resume_check import check_resume

    system = ToySystem()
    latest = tmp_path / ckpt.LATEST
    check_resume(system, latest, ("head",))  # nothing to resume: passes
    model = {k: v.clone() for k, v in system.state_dict().items()}
    torch.save({"stage": "torso", "model": model}, latest)
    with pytest.raises(ValueError, match=r"from stage 'torso', after the stages asked for"):
        check_resume(system, latest, ("head",))
    check_resume(system, latest, ("head", "torso"))
    model["codes.weight"] = torch.zeros(9, 4)
    torch.save({"stage": "head", "model": model}, latest)
    with pytest.raises(ValueError, match=r"does not fit .*other shapes: 1 .*codes.weight \(9, 4\)"):
        check_resume(system, latest, ("head",))
    model["codes.weight"] = torch.full((4, 4), float("nan"))
    torch.save({"stage": "head", "model": model}, latest)
    with pytest.raises(ValueError, match=r"1 NaN or infinite tensors .*--overwrite"):
        check_resume(system, latest, ("head",))
