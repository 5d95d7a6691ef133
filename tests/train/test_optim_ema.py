"""EMA arithmetic, the exponential LR schedule, learning rates by group name, precision."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lokitalk_plugins.train.ema import EMA
from lokitalk_plugins.train.optim import build_optimizer, build_scheduler, lr_multiplier
from lokitalk_plugins.train.runtime import Precision


def test_ema_matches_a_hand_computed_example():
    p = nn.Parameter(torch.tensor([1.0, 2.0]))
    ema = EMA([("p", p)], decay=0.95, warmup=False)
    with torch.no_grad():
        p.copy_(torch.tensor([3.0, 0.0]))
    ema.update()  # 0.95 * [1, 2] + 0.05 * [3, 0] = [1.1, 1.9]
    assert torch.allclose(ema.shadow["p"], torch.tensor([1.1, 1.9]))
    with torch.no_grad():
        p.copy_(torch.tensor([5.0, 5.0]))
    ema.update()  # 0.95 * [1.1, 1.9] + 0.05 * [5, 5] = [1.295, 2.055]
    assert torch.allclose(ema.shadow["p"], torch.tensor([1.295, 2.055]))
    with ema.swapped():
        assert torch.allclose(p, torch.tensor([1.295, 2.055]))
    assert torch.equal(p.detach(), torch.tensor([5.0, 5.0]))  # raw weights back exactly


def test_ema_warmup_uses_the_smaller_decay_first():
    p = nn.Parameter(torch.zeros(1))
    ema = EMA([("p", p)], decay=0.95, warmup=True)
    assert ema.current_decay() == pytest.approx(1 / 10)  # (1 + 0) / (10 + 0)
    with torch.no_grad():
        p.fill_(10.0)
    ema.update()  # 0.1 * 0 + 0.9 * 10 = 9
    assert ema.shadow["p"].item() == pytest.approx(9.0)
    assert ema.current_decay() == pytest.approx(2 / 11)
    ema.num_updates = 1000
    assert ema.current_decay() == 0.95
    state = ema.state_dict()
    other = EMA([("p", p)], decay=0.95)
    other.load_state_dict(state)
    assert other.num_updates == 1000 and torch.equal(other.shadow["p"], ema.shadow["p"])


def _groups():
    grid, mlp = nn.Parameter(torch.zeros(4)), nn.Parameter(torch.zeros(2))
    return [
        {"name": "grid", "params": [grid], "lr": 1.0},
        {"name": "mlp", "params": [mlp], "lr": 1.0},
    ]


def test_lr_schedule_values_at_start_middle_and_end():
    opt = build_optimizer(_groups(), "adam", lr={"grid": 5e-3, "mlp": 5e-4})
    sched = build_scheduler(opt, steps=200, decay=0.1)
    lrs = {0: [g["lr"] for g in opt.param_groups]}
    for step in range(1, 201):
        opt.step()
        sched.step()
        lrs[step] = [g["lr"] for g in opt.param_groups]
    assert lrs[0] == pytest.approx([5e-3, 5e-4])
    assert lrs[100] == pytest.approx([5e-3 * 0.1**0.5, 5e-4 * 0.1**0.5])  # sqrt(0.1)
    assert lrs[200] == pytest.approx([5e-4, 5e-5])  # decay 0.1 reached at the end
    assert lr_multiplier(50, 100, 0.5) == pytest.approx(0.5**0.5)


def test_learning_rates_by_group_name_and_optimiser_settings():
    opt = build_optimizer(_groups(), "adamw", lr={"mlp": 1e-3}, betas=(0.0, 0.99), eps=1e-15)
    assert isinstance(opt, torch.optim.AdamW)
    assert [(g["name"], g["lr"]) for g in opt.param_groups] == [("grid", 1.0), ("mlp", 1e-3)]
    assert opt.param_groups[0]["betas"] == (0.0, 0.99) and opt.param_groups[0]["eps"] == 1e-15
    with pytest.raises(ValueError, match=r"configured for \['audio_att'\].*\['grid', 'mlp'\]"):
        build_optimizer(_groups(), "adam", lr={"audio_att": 5e-3})
    with pytest.raises(ValueError, match="optimizer must be one of"):
        build_optimizer(_groups(), "sgd")
    frozen = [{"name": "grid", "params": [nn.Parameter(torch.zeros(1), requires_grad=False)]}]
    with pytest.raises(ValueError, match="no trainable parameter"):
        build_optimizer(frozen)


def test_fp16_and_off_are_full_precision_on_the_cpu():
    # bf16 and "auto" on a CPU: tests/train/test_precision_bf16.py
    for amp in ("off", "fp16", False):
        p = Precision(amp, torch.device("cpu"))
        assert p.dtype is None and p.scaler is None and p.name == "fp32"
    with pytest.raises(ValueError, match="amp must be one of"):
        Precision("fp8", torch.device("cpu"))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_mixed_precision_on_cuda():
    p = Precision("auto", torch.device("cuda"))
    assert p.dtype in (torch.bfloat16, torch.float16)
    assert Precision("off", torch.device("cuda")).dtype is None
