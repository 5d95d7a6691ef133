"""The neural-renderer benchmark: its two arms differ only by the plug-in's gin file, its
summary computes the speed-up and PSNR drop against the issue's targets, and its micro
profile runs end to end and writes JSON + markdown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import neural_renderer as bench  # noqa: E402


def test_the_two_arms_differ_only_by_the_neural_renderer():
    volume, neural = bench.methods("er_nerf", bench.PROFILES["micro"])
    assert neural["configs"] == [*volume["configs"], "configs/neural_renderer.gin"]
    assert neural["bindings"] == volume["bindings"]
    assert "ERNeRF.grid_size = 32" in volume["bindings"]
    # the head stage only: both arms scored over the torso image, the head alone
    assert volume["val_background"] == neural["val_background"] == "torso"


def test_a_full_res_arm_adds_only_its_composite_and_input_width():
    volume, low, full = bench.methods("rad_nerf", bench.PROFILES["micro"], ("low_res", "full_res"))
    assert full["name"] == "neural renderer, 1/4 resolution, full-res background"
    assert full["configs"] == low["configs"]
    assert full["bindings"] == [*low["bindings"], "NeuralRenderer.composite = 'full_res'",
                                "NeuralRenderer.in_dim = 68"]  # fmt: skip
    rows = [
        {"method": m["name"], "eval": {"fps": f, "psnr": p}}
        for m, f, p in ((volume, 10.0, 30.0), (low, 45.0, 26.0), (full, 40.0, 29.5))
    ]
    s = bench.summarise(rows)
    assert s["psnr_drop_db"] == pytest.approx(4.0) and not s["meets_psnr"]
    other = s["others"][full["name"]]
    assert other["psnr_drop_db"] == pytest.approx(0.5) and other["meets_psnr"]
    assert other["speedup"] == pytest.approx(4.0) and other["meets_speedup"]


def test_summary_against_the_targets():
    rows = [{"eval": {"fps": 10.0, "psnr": 30.0}}, {"eval": {"fps": 45.0, "psnr": 29.5}}]
    s = bench.summarise(rows)
    assert s["speedup"] == pytest.approx(4.5) and s["psnr_drop_db"] == pytest.approx(0.5)
    assert s["meets_speedup"] and s["meets_psnr"]
    rows[1]["eval"] = {"fps": 30.0, "psnr": 28.0}
    s = bench.summarise(rows)
    assert not s["meets_speedup"] and not s["meets_psnr"]


@pytest.mark.slow
def test_micro_profile_writes_json_and_markdown(tmp_path):
    cmd = [sys.executable, str(ROOT / "benchmarks" / "neural_renderer.py"), "--profile", "micro",
           "--out", str(tmp_path / "out"), "--work", str(tmp_path / "work")]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "neural_renderer_micro.json").read_text())
    assert [r["method"] for r in report["rows"]] == [
        "volume rendering, full resolution", "neural renderer, 1/4 resolution"]  # fmt: skip
    assert report["machine"]["cpu_count"] >= 1 and set(report["summary"]) >= {"speedup"}
    md = (tmp_path / "out" / "neural_renderer_micro.md").read_text()
    assert "| neural renderer, 1/4 resolution |" in md and "Speed-up" in md
    assert all(r["val_background"] == "torso" for r in report["rows"])
    # --resume: the arms are not trained again
    proc = subprocess.run([*cmd, "--resume", "--stem", "again"], capture_output=True,
                          text=True, timeout=1200, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "reusing volume rendering, full resolution" in proc.stdout
    again = json.loads((tmp_path / "out" / "again.json").read_text())
    assert all(r["resumed"] for r in again["rows"]) and "Trained by an earlier run" in (
        tmp_path / "out" / "again.md").read_text()  # fmt: skip


def test_resume_needs_the_work_folder(capsys):
    assert bench.main(["--resume", "--profile", "micro"]) == 2
    assert "--resume needs --work" in capsys.readouterr().err
