"""EMA arithmetic, the exponential LR schedule, learning rates by group name, precision."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from lokitalk_plugins.errors import OptionError
from lokitalk_plugins.train.ema import EMA
from lokitalk_plugins.train.optim import (
    build_optimizer,
    build_scheduler,
    load_optimizer_state,
    lr_multiplier,
)
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


def _fit(opt, params, steps, seed=0):
    """``steps`` Adam steps on a fixed quadratic with seeded noise in the gradient."""
    g = torch.Generator().manual_seed(1000 + seed)
    targets = [torch.randn(p.shape, generator=g) for p in params]
    for _ in range(steps):
        opt.zero_grad()
        loss = sum(((p - t) ** 2).sum() for p, t in zip(params, targets))
        loss.backward()
        for p in params:
            p.grad.add_(torch.randn(p.shape, generator=g), alpha=0.1)
        opt.step()


def _toy(seed=0):
    g = torch.Generator().manual_seed(seed)
    shapes = [(1024, 2), (64, 64), (64,), (3, 16)]
    params = [nn.Parameter(torch.randn(s, generator=g)) for s in shapes]
    groups = [{"name": "grid", "params": params[:1], "lr": 2e-2},
              {"name": "mlp", "params": params[1:], "lr": 1e-3}]  # fmt: skip
    return params, groups


@pytest.mark.parametrize("kind", ["adam", "adamw"])
def test_fused_and_foreach_adam_follow_the_loop_to_rounding(kind):
    runs = {}
    for impl in ("loop", "foreach", "fused", "auto"):
        params, groups = _toy()
        opt = build_optimizer(groups, kind, betas=(0.9, 0.99), eps=1e-15, implementation=impl)
        _fit(opt, params, 40)
        runs[impl] = params
    moved = max((a - b).abs().max().item() for a, b in zip(runs["loop"], _toy()[0]))
    assert moved > 0.4  # the steps did move the weights
    for impl in ("foreach", "fused", "auto"):
        for a, b in zip(runs["loop"], runs[impl]):
            torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)


def test_auto_fuses_on_the_cpu_and_a_bad_implementation_is_named():
    params, groups = _toy()
    flags = lambda impl: {  # noqa: E731
        k: build_optimizer(_toy()[1], implementation=impl).param_groups[0][k]
        for k in ("fused", "foreach")
    }
    assert flags("auto") == {"fused": True, "foreach": None}
    assert flags("loop") == {"fused": False, "foreach": False}
    assert flags("foreach") == {"fused": False, "foreach": True}
    with pytest.raises(OptionError, match=r"Trainer.optimizer_implementation must be one of"):
        build_optimizer(groups, implementation="fast")
    meta = [{"name": "grid", "params": [nn.Parameter(torch.zeros(2, device="meta"))], "lr": 1.0}]
    with pytest.raises(OptionError, match=r"'fused' needs every parameter.*use 'auto' or 'loop'"):
        build_optimizer(meta, implementation="fused")
    auto = build_optimizer(meta, implementation="auto").param_groups[0]
    assert auto["fused"] is None and auto["foreach"] is None  # off a CPU: PyTorch's own choice


def test_a_resumed_optimizer_keeps_the_implementation_asked_for_now():
    # a checkpoint written by the loop, resumed fused: fused after loading, and the run goes
    # on as the loop's own continuation does (to rounding)
    params, groups = _toy()
    loop = build_optimizer(groups, implementation="loop")
    _fit(loop, params, 20)
    state = copy.deepcopy(loop.state_dict())  # as written to disk
    saved = [p.detach().clone() for p in params]
    _fit(loop, params, 20, seed=1)

    resumed = [nn.Parameter(s.clone()) for s in saved]
    groups2 = [{"name": "grid", "params": resumed[:1], "lr": 2e-2},
               {"name": "mlp", "params": resumed[1:], "lr": 1e-3}]  # fmt: skip
    fused = build_optimizer(groups2, implementation="fused")
    load_optimizer_state(fused, state)
    assert [g["fused"] for g in fused.param_groups] == [True, True]
    assert fused.state_dict()["state"][0]["step"].item() == 20
    _fit(fused, resumed, 20, seed=1)
    for a, b in zip(params, resumed):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
    plain = torch.optim.Adam(_toy()[1])  # PyTorch's own load would switch
    plain.load_state_dict(build_optimizer(_toy()[1], implementation="fused").state_dict())
    assert plain.param_groups[0]["fused"] is True
