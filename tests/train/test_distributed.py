"""Distributed pre-training: identity sharding, the single-process loop, and a real
2-process gloo run under torch.distributed.run (the worker is ddp_worker.py beside this file)."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ddp_worker import ToyIdentities

from lokitalk_plugins.train.checkpoint import load_checkpoint
from lokitalk_plugins.train.distributed import (
    all_reduce_buffers_max,
    broadcast_buffers_from_main,
    init_distributed,
    shard_identities,
)
from lokitalk_plugins.train.pretrain_loop import pretrain
from lokitalk_plugins.train.weights import load_model_weights

WORKER = Path(__file__).with_name("ddp_worker.py")


@pytest.mark.parametrize(
    "identities, rank, world_size, expected",
    [
        (range(5), 0, 2, [0, 2, 4]),
        (range(5), 1, 2, [1, 3]),
        ([7, 3, 9], 2, 3, [9]),
        ([4, 5], 0, 1, [4, 5]),
    ],
)
def test_shard_identities_round_robin(identities, rank, world_size, expected):
    assert shard_identities(identities, rank, world_size) == expected


def test_shards_cover_every_identity_once():
    shards = [shard_identities(range(11), r, 4) for r in range(4)]
    assert sorted(sum(shards, [])) == list(range(11))
    assert [len(s) for s in shards] == [3, 3, 3, 2]


def test_shard_identities_errors():
    with pytest.raises(ValueError, match="3 identities cannot be shared among 4 ranks"):
        shard_identities([0, 1, 2], 0, 4)
    with pytest.raises(ValueError, match="rank 2 is not in"):
        shard_identities(range(4), 2, 2)
    with pytest.raises(ValueError, match="distinct"):
        shard_identities([1, 1], 0, 1)


def test_without_torchrun_nothing_is_initialised(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    ctx = init_distributed()
    assert (ctx.rank, ctx.world_size, ctx.backend, ctx.is_main) == (0, 1, None, True)
    assert not torch.distributed.is_initialized()
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert init_distributed().world_size == 1 and not torch.distributed.is_initialized()
    with pytest.raises(ValueError, match="backend"):
        init_distributed(backend="mpi")


def test_buffer_helpers_are_no_ops_in_one_process_but_check_names():
    system = ToyIdentities()
    system.occupancy.fill_(0.5)
    before = {k: v.clone() for k, v in system.state_dict().items()}
    all_reduce_buffers_max(system, ["occupancy"])
    broadcast_buffers_from_main(system)
    assert all(torch.equal(before[k], v) for k, v in system.state_dict().items())
    with pytest.raises(KeyError, match="no buffer named"):
        all_reduce_buffers_max(system, ["density_grid"])


def _run(tmp_path, seed=0, **kwargs):
    torch.manual_seed(3)
    system = ToyIdentities()
    before = system.full_loss([0, 1, 2])
    out = pretrain(system, [0, 1, 2], 60, seed=seed, progress=False, **kwargs)
    return system, {**out, "full_before": before, "full_after": system.full_loss([0, 1, 2])}


def test_the_toys_exact_loss_averages_its_sampled_losses():
    system, g = ToyIdentities(), torch.Generator().manual_seed(0)
    sampled = [float(system(1, 0, 1, g)[0].detach()) for _ in range(4000)]
    assert sum(sampled) / len(sampled) == pytest.approx(system.full_loss([1]), rel=0.03)


def test_single_process_pretraining_learns_and_checkpoints(tmp_path):
    system, out = _run(tmp_path, out_dir=tmp_path, checkpoint_every=20, log_every=10)
    losses = out["losses"]
    assert len(losses) == out["final_step"] == 60
    assert (out["world_size"], out["rank"], out["shard"]) == (1, 0, [0, 1, 2])
    assert out["full_after"] < 0.3 * out["full_before"]
    assert sum(losses[-10:]) < 0.6 * sum(losses[:10])
    assert set(out["identities"]) == {0, 1, 2}  # identity 3 is never trained
    folder = tmp_path / "checkpoints"
    names = sorted(p.name for p in folder.glob("*.pt"))
    assert names == ["latest.pt", *(f"pretrain_step{s:07d}.pt" for s in (20, 40, 60))]
    state = load_checkpoint(out["checkpoint"])
    assert state["step"] == 60 and state["world_size"] == 1
    assert state["optimizer"]["param_groups"][0]["name"] == "codes"
    # lr decays exponentially to lr * 0.1 at the end
    assert state["optimizer"]["param_groups"][1]["lr"] == pytest.approx(2e-2 * 0.1)
    fresh = ToyIdentities(data_seed=5)
    load_model_weights(fresh, out["checkpoint"])
    for name, value in system.state_dict().items():
        assert torch.equal(fresh.state_dict()[name], value), name
    with open(tmp_path / "logs" / "pretrain.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(10, 61, 10))
    assert float(rows[-1]["loss"]) == pytest.approx(losses[-1])
    assert float(rows[0]["lr/mlp"]) == pytest.approx(2e-2 * 0.1 ** (10 / 60))


def test_single_process_pretraining_is_deterministic_given_the_seed(tmp_path):
    a, out_a = _run(tmp_path, seed=4)
    b, out_b = _run(tmp_path, seed=4)
    _, out_c = _run(tmp_path, seed=5)
    assert out_a["losses"] == out_b["losses"] and out_a["identities"] == out_b["identities"]
    assert out_a["identities"] != out_c["identities"]
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())
    assert out_a["checkpoint"] is None and not any(tmp_path.iterdir())


def test_unknown_max_buffer_is_refused_before_training():
    with pytest.raises(KeyError, match="density_grid"):
        pretrain(ToyIdentities(), [0], 2, progress=False, max_buffers=["density_grid"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_keep_identical_weights_and_only_rank0_writes(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(_free_port()),
        str(WORKER),
        "--out",
        str(tmp_path),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    # different initial weights, made equal by DDP's broadcast and kept equal
    assert not torch.equal(r0["initial"]["trunk.0.weight"], r1["initial"]["trunk.0.weight"])
    assert r0["final"].keys() == r1["final"].keys()
    for name, value in r0["final"].items():
        assert torch.equal(value, r1["final"][name]), name
    assert r0["final"]["occupancy"].gt(0).any()
    # sharded identities: rank 0 trains [0, 2], rank 1 [1, 3]
    assert (r0["shard"], r1["shard"]) == ([0, 2], [1, 3])
    assert set(r0["identities"]) == {0, 2} and set(r1["identities"]) == {1, 3}
    for r in (r0, r1):
        assert r["world_size"] == 2 and len(r["losses"]) == 40
        assert sum(r["losses"][-8:]) < sum(r["losses"][:8])
        assert r["full_after"] < 0.5 * r0["full_before"]  # rank 0's start is everyone's
    # rank 0 alone writes checkpoints and logs; its checkpoint holds the final weights
    assert r0["checkpoint"] is not None and r1["checkpoint"] is None
    saved = load_checkpoint(r0["checkpoint"])
    assert saved["step"] == 40 and saved["world_size"] == 2
    for name, value in r0["final"].items():
        assert torch.equal(saved["model"][name], value), name
    ckpts = sorted(p.name for p in (tmp_path / "run0" / "checkpoints").glob("*.pt"))
    assert ckpts == ["latest.pt", "pretrain_step0000020.pt", "pretrain_step0000040.pt"]
    assert (tmp_path / "run0" / "logs" / "pretrain.csv").is_file()
    assert not (tmp_path / "run1").exists()


class _Stops(ToyIdentities):
    """The toy, interrupted (an exception, as a killed job) at step ``stop_at``."""

    stop_at: int | None = None

    def forward(self, identity, step, total_steps, generator):
        if step == self.stop_at:
            raise KeyboardInterrupt
        return super().forward(identity, step, total_steps, generator)


def test_single_process_pretraining_resumes_exactly(tmp_path):
    def fresh(torch_seed):
        torch.manual_seed(torch_seed)
        return _Stops()

    whole = fresh(3)
    straight = pretrain(whole, [0, 1, 2], 12, progress=False, out_dir=tmp_path / "a")
    stopped = fresh(3)
    stopped.stop_at = 7
    with pytest.raises(KeyboardInterrupt):
        pretrain(stopped, [0, 1, 2], 12, progress=False, out_dir=tmp_path / "b",
                 checkpoint_every=5)  # fmt: skip
    again = fresh(9)  # a new process: other initial weights, other global random state
    out = pretrain(again, [0, 1, 2], 12, progress=False, out_dir=tmp_path / "b", resume=True)
    assert out["start_step"] == 5 and len(out["losses"]) == 7
    assert out["losses"] == straight["losses"][5:]
    assert out["identities"] == straight["identities"][5:]
    for name, value in whole.state_dict().items():
        assert torch.equal(again.state_dict()[name], value), name
    with pytest.raises(ValueError, match="pre-trained for 12 steps on identities \\[0, 1, 2\\]"):
        pretrain(fresh(0), [0, 1], 12, progress=False, out_dir=tmp_path / "b", resume=True)
