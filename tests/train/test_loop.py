"""The one optimisation loop (train/loop.py): its order of operations, its resume start, and
that the stage trainer, pre-training and the signal trainers all run on it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lokitalk_plugins.train.fit import fit
from lokitalk_plugins.train.loop import Update, due, finite_loss, run_steps

TRAIN = Path(__file__).resolve().parents[2] / "lokitalk_plugins" / "train"


class _Recorder:
    def __init__(self, calls, name):
        self.calls, self.name = calls, name

    def __getattr__(self, attr):
        return lambda *a, **k: self.calls.append(f"{self.name}.{attr}")


def test_each_step_runs_in_the_written_order_from_start():
    calls = []
    w = torch.nn.Parameter(torch.tensor(2.0))
    opt = torch.optim.SGD([w], lr=0.25)
    sched = torch.optim.lr_scheduler.StepLR(opt, 1, gamma=1.0)
    update = Update(opt, sched, ema=_Recorder(calls, "ema"))
    done_at = []

    def forward(step):
        calls.append(f"forward {step}")
        return w**2, {"w": float(w.detach())}

    run_steps(
        forward,
        update,
        2,
        4,
        desc="t",
        progress=False,
        after_step=lambda step: calls.append(f"after {step}"),
        on_done=lambda done, loss, out, bar: done_at.append((done, out["w"])),
    )
    assert calls == ["forward 2", "ema.update", "after 2", "forward 3", "ema.update", "after 3"]
    # w <- w - 0.25 * 2w = w / 2 each step; on_done sees what forward saw
    assert done_at == [(3, 2.0), (4, 1.0)] and float(w) == pytest.approx(0.5)
    assert update.learning_rates() == {"lr/0": 0.25}


def test_due_and_finite_loss():
    assert [d for d in range(1, 11) if due(4, d, 10)] == [4, 8, 10]
    assert not any(due(0, d) for d in range(1, 5)) and due(None, 7, 7)
    with pytest.raises(FloatingPointError, match="head step 3: loss is nan"):
        finite_loss(float("nan"), "head", 3)


def test_fit_lowers_a_loss_on_the_shared_loop():
    torch.manual_seed(0)
    x, w = torch.randn(64, 3), torch.nn.Parameter(torch.zeros(3))
    target = x @ torch.tensor([1.0, -2.0, 0.5])
    losses = fit([w], lambda step: {"loss": ((x @ w - target) ** 2).mean()}, 60, 0.1, "t", False)
    assert len(losses) == 60 and losses[-1] < 0.05 * losses[0]


@pytest.mark.parametrize("module", ["trainer.py", "pretrain_loop.py", "fit.py"])
def test_every_trainer_runs_on_the_one_loop(module):
    text = (TRAIN / module).read_text()
    assert "run_steps(" in text and "for step in" not in text and "tqdm(" not in text
