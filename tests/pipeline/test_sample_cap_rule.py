"""The cap of occupied samples a ray that follows the training rays it cuts short
(SampleCap, lokitalk_plugins.pipeline.sample_cap): the rule, its validation, the cap saved
with the weights (and a file written before it was saved), and a trained workspace that
renders with the cap it reached."""

from __future__ import annotations

import csv

import pytest
import torch

from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
from lokitalk_plugins.cli import main
from lokitalk_plugins.commands.workspace import load_system
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.errors import OptionError
from lokitalk_plugins.pipeline import TalkingHeadSystem
from lokitalk_plugins.pipeline.options import SampleCap
from lokitalk_plugins.pipeline.sample_cap import SampleCapState
from lokitalk_plugins.render import VolumeRenderer
from lokitalk_plugins.train.weights import load_model_weights


def _state(limit=48, target=0.1, window=2, warmup=0.5, base=16):
    renderer = VolumeRenderer(grid=None, max_samples=base)
    rule = SampleCap(limit=limit, target=target, window=window, warmup=warmup)
    return SampleCapState(base, rule, renderer), renderer


def test_the_cap_rises_by_its_base_after_the_warmup_while_windows_cut_rays_short():
    state, renderer = _state()
    total, rose = 8, []
    for step, cut in enumerate([0.9, 0.9, 0.5, 0.2, 0.3, 0.1, 0.4, 0.6]):
        state.note(cut)
        rose.append(state.check(step, total))
        assert renderer.max_samples == state.cap  # the renderer follows at every change
    # windows end after steps 1, 3, 5, 7; the warm-up (half of 8 steps) holds the first; the
    # window (0.3, 0.1) has mean 0.2 > 0.1; the third rise stops at the limit 48
    assert rose == [False, False, False, True, False, True, False, False]
    assert state.cap == 48 and state.value.dtype == torch.long


def test_a_window_at_or_below_the_target_and_a_fixed_cap_never_raise_it():
    state, _ = _state(warmup=0.0)
    for step in range(6):
        state.note(0.1)  # exactly the target: not above it
        assert not state.check(step, 6)
    assert state.cap == 16
    fixed, renderer = _state(limit=0, warmup=0.0)  # limit 0: the originals' fixed cap
    for step in range(4):
        fixed.note(1.0)
        assert not fixed.check(step, 4)
    assert not fixed.follows and fixed.cap == renderer.max_samples == 16


def test_the_cap_is_saved_with_the_weights_and_a_file_without_it_keeps_the_base():
    state, _ = _state(warmup=0.0)
    for step in range(2):
        state.note(1.0)
        state.check(step, 10)
    assert state.cap == 32
    fresh, renderer = _state()
    fresh.load_state_dict(state.state_dict())
    assert fresh.cap == renderer.max_samples == 32  # inference renders with the cap reached
    # a whole system: the cap sits at sample_cap.value; a file written before it was saved
    model = ERNeRF(audio_in_dim=32, grid_size=16, ind_num=4)
    system = TalkingHeadSystem(model, max_samples=24, sample_cap=SampleCap(limit=48))
    saved = system.state_dict()
    assert int(saved["sample_cap.value"]) == 24
    old = {k: v for k, v in saved.items() if k != "sample_cap.value"}
    system.sample_cap.value.fill_(48)
    system.renderer.max_samples = 48
    report = load_model_weights(system, {"model": old}, strict=True, use_ema=False)
    assert report["prefix"] == "" and system.renderer.max_samples == 24
    # the backbone alone still finds its weights in a system's file beside the new entry
    backbone = ERNeRF(audio_in_dim=32, grid_size=16, ind_num=4)
    assert load_model_weights(backbone, {"model": saved}, use_ema=False)["prefix"] == "model."


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"limit": -16}, "SampleCap.limit must be a whole number of samples >= 0"),
        ({"limit": 2.5}, "SampleCap.limit must be a whole number"),
        ({"window": 0}, "SampleCap.window must be a whole number of steps >= 1"),
        ({"target": 0.0}, r"SampleCap.target must be a share of rays in \(0, 1\)"),
        ({"target": 1.0}, r"SampleCap.target must be a share of rays in \(0, 1\)"),
        ({"warmup": 1.0}, r"SampleCap.warmup must be a share of the stage in \[0, 1\)"),
    ],
)
def test_bad_rules_are_refused_naming_the_option(kwargs, message):
    with pytest.raises(OptionError, match=message):
        SampleCap(**kwargs)


def test_a_limit_below_the_starting_cap_is_refused():
    model = ERNeRF(audio_in_dim=32, grid_size=16, ind_num=4)
    message = r"SampleCap.limit = 8 is below TalkingHeadSystem.max_samples = 16: bind a limit"
    with pytest.raises(OptionError, match=message):
        TalkingHeadSystem(model, sample_cap=SampleCap(limit=8))
    with pytest.raises(OptionError, match=r"max_samples = None has none: bind a cap \(16"):
        TalkingHeadSystem(model, max_samples=None, sample_cap=SampleCap(limit=64))
    # no cap at all (an ablation row) is saved as -1 and loads back as no cap
    uncapped = TalkingHeadSystem(model, max_samples=None)
    assert int(uncapped.state_dict()["sample_cap.value"]) == -1
    assert uncapped.sample_cap.cap is None and uncapped.renderer.max_samples is None
    uncapped.load_state_dict(uncapped.state_dict())
    assert uncapped.renderer.max_samples is None and not uncapped.sample_cap.follows


@pytest.mark.slow
def test_a_trained_workspace_logs_the_cap_and_renders_with_the_one_it_reached(tmp_path):
    """Two occupied samples a ray on a fresh field cut nearly every ray short: the cap rises
    by 2 every 5 steps up to 6; the log says so and the loaded workspace renders with 6."""
    data = write_identity(tmp_path / "id000", seconds=1.0, size=32, seed=0)
    ws = tmp_path / "run"
    code = main([
        "train", "--config", "configs/er_nerf.gin", "--config", "configs/studio_quick.gin",
        "--config", "configs/sample_cap.gin", "--data", str(data), "--workspace", str(ws),
        "--quiet", "--bind", "head/Trainer.steps = 20", "--bind", "Trainer.log_every = 1",
        "--bind", "ERNeRF.grid_size = 16", "--bind", "TalkingHeadSystem.num_rays = 128",
        "--bind", "TalkingHeadSystem.max_samples = 2", "--bind", "SampleCap.limit = 6",
        "--bind", "SampleCap.window = 5", "--bind", "SampleCap.warmup = 0.0",
    ])  # fmt: skip
    assert code == 0
    rows = [r for r in csv.DictReader((ws / "logs" / "head.csv").open()) if r["loss"]]
    caps = [float(r["sample_cap"]) for r in rows]
    assert caps[0] == 2.0 and caps[-1] == 6.0 and caps == sorted(caps)
    assert all(float(r["cut_short"]) > 0.1 for r in rows[:5])
    system, _, _ = load_system(ws)
    assert system.sample_cap.cap == 6 and system.renderer.max_samples == 6
