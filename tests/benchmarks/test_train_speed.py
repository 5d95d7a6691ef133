"""benchmarks/train_speed.py at a micro size (in a subprocess: it installs global hooks):
the JSON keys, one row per cell, phase shares that sum to 1; and the phase clock's nesting."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from train_speed_phases import PHASES, PhaseClock  # noqa: E402


def test_phase_clock_counts_a_nested_phase_for_the_outer_one():
    clock = PhaseClock()
    inner = clock.timed("encoders", lambda: sum(range(1000)))
    outer = clock.timed("grid_upkeep", lambda: [inner() for _ in range(50)])
    outer()
    inner()
    assert set(clock.seconds) == {"grid_upkeep", "encoders"}
    total = 2 * sum(clock.seconds.values())
    shares = clock.shares(total)
    assert list(shares) == list(PHASES)
    assert sum(shares.values()) == pytest.approx(1.0) and shares["other"] == pytest.approx(0.5)


def test_train_speed_micro_run_writes_json_and_markdown(tmp_path, run_script):
    out = tmp_path / "out"
    args = ["--quick", "--steps", "3", "--rays", "256", "--backbones", "er_nerf", "--models",
            "bare", "--precisions", "fp32", "--upkeeps", "full", "spread", "--out", str(out),
            "--work", str(tmp_path / "work")]  # fmt: skip
    proc = run_script("train_speed.py", *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "train_speed_quick.json").read_text())
    assert {"benchmark", "command", "commit", "settings", "phases", "machine", "results"} <= set(
        report
    )
    assert report["settings"]["steps"] == 3 and report["machine"]["threads"] == 1
    rows = report["results"]
    assert [(r["backbone"], r["model"], r["precision"], r["upkeep"]) for r in rows] == [
        ("er_nerf", "bare", "fp32", "full"), ("er_nerf", "bare", "fp32", "spread")
    ]  # fmt: skip
    for r in rows:
        assert r["steps_per_second"] > 0 and r["precision"] == "fp32"
        shares = r["phase_shares"]
        assert list(shares) == list(PHASES) and all(v >= 0 for v in shares.values())
        assert sum(shares.values()) == pytest.approx(1.0, abs=1e-6)
        assert shares["mlps"] > 0 and shares["backward"] > 0 and shares["encoders"] > 0
    assert "| er_nerf | bare | fp32 | spread |" in (out / "train_speed_quick.md").read_text()


def test_config_mode_trains_several_configs_given_by_name_or_path(tmp_path, run_script):
    """--config takes several files: packaged names, or paths (a file of another checkout, so
    the same configs can be timed under two commits); the report keeps them in order."""
    import train_speed

    local = tmp_path / "fewer_rays.gin"
    local.write_text("TalkingHeadSystem.num_rays = 128\n")
    assert train_speed._config_file("er_nerf.gin") == "configs/er_nerf.gin"
    assert train_speed._config_file(str(local)) == str(local)
    out = tmp_path / "out"
    args = ["--quick", "--steps", "2", "--rays", "256", "--config", "er_nerf.gin",
            "studio_quick.gin", str(local), "--out", str(out),
            "--work", str(tmp_path / "w")]  # fmt: skip
    proc = run_script("train_speed.py", *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = out.glob("train_speed_er_nerf+studio_quick+fewer_rays_2*.json")
    (row,) = json.loads(path.read_text())["results"]
    assert row["config"] == ["er_nerf.gin", "studio_quick.gin", str(local)]
    assert row["steps_per_second"] > 0
    # a second run into the same --out is refused in one line, before anything trains
    before = path.read_text()
    again = run_script("train_speed.py", *args)
    assert again.returncode == 2 and "exists: pass --force" in again.stderr
    assert path.read_text() == before
